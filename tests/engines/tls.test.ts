import { Engine, TlsEndpoint } from "@armada/testkit"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { beforeAll } from "vitest"
import { armada, doctor, requireBin, runsTheExample } from "./example.js"

const suite = "tests/engines TLS (armada through a TLS endpoint with client certificates)"
const skip = Engine.skipWithoutEngine(suite) || TlsEndpoint.skipWithoutTools(suite)

describe.skipIf(skip)(suite, () => {
  beforeAll(requireBin)

  it.live(
    "DOCKER_HOST=tcp://… with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH: the example runs; doctor says why",
    () =>
      Effect.gen(function* () {
        const endpoint = yield* TlsEndpoint.start()
        const env = {
          DOCKER_HOST: endpoint.host,
          DOCKER_TLS_VERIFY: "1",
          DOCKER_CERT_PATH: endpoint.certPath.dir
        }
        yield* runsTheExample(env, "armadatls")

        const found = yield* doctor(env)
        assert.strictEqual(found.code, 0, found.text)
        assert.deepInclude(found.findings.docker, {
          reachable: true,
          address: endpoint.host,
          source: "DOCKER_HOST",
          why: "DOCKER_HOST is set"
        })
        assert.include(found.text, `${endpoint.host}: reachable`)
        assert.include(found.text, "picked: DOCKER_HOST is set")
      }).pipe(Effect.scoped)
  )

  it.live("a CA that did not sign the engine's certificate: exit 3 and a TLS error naming the address", () =>
    Effect.gen(function* () {
      const endpoint = yield* TlsEndpoint.start()
      const env = {
        DOCKER_HOST: endpoint.host,
        DOCKER_TLS_VERIFY: "1",
        DOCKER_CERT_PATH: endpoint.wrongCaPath.dir
      }
      const result = yield* armada(["run", "examples/hello/pipeline.yaml", "--prefix", "armadatls"], env)
      assert.strictEqual(result.code, 3, result.stdout + result.stderr)
      assert.include(result.stderr, `TLS with the Docker engine at ${endpoint.host} failed`)
      assert.include(result.stderr, endpoint.wrongCaPath.ca)

      const found = yield* doctor(env)
      assert.strictEqual(found.code, 3)
      assert.deepStrictEqual(
        found.findings.docker.attempts.map((attempt) => [
          attempt.source,
          attempt.address,
          attempt.error._tag
        ]),
        [["DOCKER_HOST", endpoint.host, "EngineTlsError"]]
      )
    }).pipe(Effect.scoped)
  )
})
