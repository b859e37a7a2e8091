import { DockerContext, Engine, TlsEndpoint } from "@armada/testkit"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { beforeAll } from "vitest"
import { doctor, requireBin, runsTheExample } from "./example.js"

const suite = "tests/engines context (armada on a Docker context chosen by DOCKER_CONTEXT)"
const skip = Engine.skipWithoutEngine(suite) || TlsEndpoint.skipWithoutTools(suite)

describe.skipIf(skip)(suite, () => {
  beforeAll(requireBin)

  it.live(
    "DOCKER_CONTEXT alone names a context whose endpoint is TLS, its material in the store: the example runs",
    () =>
      Effect.gen(function* () {
        const endpoint = yield* TlsEndpoint.start()
        const config = yield* DockerContext.make([
          { name: "elsewhere", host: "tcp://127.0.0.1:1" },
          {
            name: "armada-tls",
            host: endpoint.host,
            tls: { ca: endpoint.certPath.ca, cert: endpoint.certPath.cert, key: endpoint.certPath.key }
          }
        ])
        // No DOCKER_HOST, no TLS variables: only the context says where the engine is.
        const env = { DOCKER_CONFIG: config, DOCKER_CONTEXT: "armada-tls" }
        yield* runsTheExample(env, "armadactx")

        const found = yield* doctor(env)
        assert.strictEqual(found.code, 0, found.text)
        assert.deepInclude(found.findings.docker, {
          reachable: true,
          address: endpoint.host,
          source: "DOCKER_CONTEXT",
          why: "DOCKER_CONTEXT=armada-tls"
        })
        assert.include(found.text, "picked: DOCKER_CONTEXT=armada-tls")
      }).pipe(Effect.scoped)
  )
})
