import { execFile } from "node:child_process"
import * as fs from "node:fs"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { skipWithoutEngine } from "../src/Engine.js"
import * as TlsEndpoint from "../src/TlsEndpoint.js"
import { isRunning } from "./process.js"

const skip = skipWithoutEngine("testkit TlsEndpoint") || TlsEndpoint.skipWithoutTools("testkit TlsEndpoint")

/** `docker --tlsverify` against the endpoint with the material in `certs`: the server version, or the error. */
const dockerVersion = (host: string, certs: TlsEndpoint.CertPath) =>
  Effect.promise(() =>
    promisify(execFile)(
      "docker",
      [
        "--tlsverify",
        `--tlscacert=${certs.ca}`,
        `--tlscert=${certs.cert}`,
        `--tlskey=${certs.key}`,
        "-H",
        host,
        "version",
        "--format",
        "{{.Server.Version}}"
      ],
      { timeout: 30_000 }
    ).then(
      ({ stdout }) => ({ ok: true as const, text: stdout.trim() }),
      (error: { stderr?: string }) => ({ ok: false as const, text: String(error.stderr) })
    )
  )

describe.skipIf(skip)("TlsEndpoint", () => {
  it.live(
    "the engine answers through it with the test's CA only; the scope stops it and removes the certificates",
    () =>
      Effect.gen(function* () {
        const endpoint = yield* Effect.scoped(
          Effect.gen(function* () {
            const endpoint = yield* TlsEndpoint.start()
            assert.match(endpoint.host, /^tcp:\/\/127\.0\.0\.1:\d+$/)
            const trusted = yield* dockerVersion(endpoint.host, endpoint.certPath)
            assert.isTrue(trusted.ok, trusted.text)
            const untrusted = yield* dockerVersion(endpoint.host, endpoint.wrongCaPath)
            assert.isFalse(untrusted.ok)
            assert.match(untrusted.text, /certificate/i)
            return endpoint
          })
        )
        assert.isFalse(isRunning(endpoint.pid))
        assert.isFalse(fs.existsSync(endpoint.certPath.dir))
      })
  )
})
