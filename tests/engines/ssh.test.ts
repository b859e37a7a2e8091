import { Engine, Sshd } from "@armada/testkit"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { beforeAll } from "vitest"
import { doctor, requireBin, runsTheExample } from "./example.js"

const suite = "tests/engines ssh (armada over ssh:// to 127.0.0.1)"
const skip = Engine.skipWithoutEngine(suite) || Sshd.skipWithoutSshd(suite)

describe.skipIf(skip)(suite, () => {
  beforeAll(requireBin)

  it.live(
    "DOCKER_HOST=ssh://user@127.0.0.1:port, the key and known_hosts in ~/.ssh: the example runs; doctor says why",
    () =>
      Effect.gen(function* () {
        const sshd = yield* Sshd.start
        // HOME is where the key and known_hosts are; the remote side is this machine's engine.
        const env = { DOCKER_HOST: sshd.host, HOME: sshd.home, SSH_AUTH_SOCK: undefined }
        yield* runsTheExample(env, "armadassh")

        const found = yield* doctor(env)
        assert.strictEqual(found.code, 0, found.text)
        assert.deepInclude(found.findings.docker, {
          reachable: true,
          address: sshd.host,
          source: "DOCKER_HOST"
        })
        assert.include(found.text, `${sshd.host}: reachable`)
      }).pipe(Effect.scoped)
  )
})
