import { Engine, Podman, TestImage } from "@armada/testkit"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { beforeAll } from "vitest"
import { doctor, requireBin, runsTheExample } from "./example.js"

const suite = "tests/engines Podman (armada on Podman's Docker-compatible socket)"
const skip = Engine.skipWithoutEngine(suite) || Podman.skipWithoutPodman(suite)

describe.skipIf(skip)(suite, () => {
  beforeAll(requireBin)

  it.live(
    "DOCKER_HOST=unix://…/podman.sock: the example runs on Podman; doctor names its socket and why",
    () =>
      Effect.gen(function* () {
        const podman = yield* Podman.start({ images: [TestImage.testAppImage] })
        const env = { DOCKER_HOST: podman.host }
        yield* runsTheExample(env, "armadapodman", podman.host)

        const found = yield* doctor(env)
        assert.strictEqual(found.code, 0, found.text)
        assert.deepInclude(found.findings.docker, {
          reachable: true,
          address: podman.host,
          source: "DOCKER_HOST"
        })
        assert.include(found.text, `${podman.host}: reachable`)
        assert.include(found.text, "picked: DOCKER_HOST is set")
      }).pipe(Effect.scoped)
  )
})
