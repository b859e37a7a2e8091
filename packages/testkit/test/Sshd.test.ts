import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { skipWithoutEngine } from "../src/Engine.js"
import * as Sshd from "../src/Sshd.js"
import { isRunning } from "./process.js"

const skip = skipWithoutEngine("testkit Sshd") || Sshd.skipWithoutSshd("testkit Sshd")

/**
 * `docker version` on the far side, through OpenSSH's client with the key and known_hosts of
 * `home` (ssh itself reads the passwd entry's home, not $HOME, so they are named here).
 */
const remoteDockerVersion = (sshd: Sshd.Sshd) =>
  Effect.promise(() =>
    promisify(execFile)(
      "ssh",
      [
        "-i",
        path.join(sshd.home, ".ssh", "id_ed25519"),
        "-o",
        `UserKnownHostsFile=${path.join(sshd.home, ".ssh", "known_hosts")}`,
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-p",
        String(sshd.port),
        `${sshd.user}@127.0.0.1`,
        "docker",
        "version",
        "--format",
        "{{.Server.Version}}"
      ],
      { timeout: 60_000 }
    ).then(
      ({ stdout }) => ({ ok: true as const, text: stdout.trim() }),
      (error: { stderr?: string }) => ({ ok: false as const, text: String(error.stderr) })
    )
  )

describe.skipIf(skip)("Sshd", () => {
  it.live("the engine answers over ssh with the test's key and host key; the scope stops sshd", () =>
    Effect.gen(function* () {
      const sshd = yield* Effect.scoped(
        Effect.gen(function* () {
          const sshd = yield* Sshd.start
          assert.match(sshd.host, /^ssh:\/\/\w+@127\.0\.0\.1:\d+$/)
          const answer = yield* remoteDockerVersion(sshd)
          assert.isTrue(answer.ok, answer.text)
          return sshd
        })
      )
      assert.isFalse(isRunning(sshd.pid))
      assert.isFalse(fs.existsSync(sshd.home))
    })
  )
})
