import { execFile } from "node:child_process"
import * as fs from "node:fs"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { skipWithoutEngine } from "../src/Engine.js"
import * as Podman from "../src/Podman.js"
import { ensureTestAppImage } from "../src/TestImage.js"
import { isRunning } from "./process.js"

const skip = skipWithoutEngine("testkit Podman") || Podman.skipWithoutPodman("testkit Podman")

const docker = (host: string, args: ReadonlyArray<string>) =>
  Effect.promise(() =>
    promisify(execFile)("docker", ["-H", host, ...args], { timeout: 120_000 }).then(({ stdout }) =>
      stdout.trim()
    )
  )

/** What the fixture promises to leave as it found it. */
const hostState = () => ({
  links: fs.readdirSync("/sys/class/net").filter((name) => name.startsWith("cni-podman")),
  cni: fs.existsSync("/var/lib/cni") ? fs.readdirSync("/var/lib/cni", { recursive: true }) : []
})

describe.skipIf(skip)("Podman", () => {
  it.live(
    "its Docker-compatible API runs a loaded image on a network; the scope stops it and leaves the host as it was",
    () =>
      Effect.gen(function* () {
        const image = ensureTestAppImage()
        const before = hostState()
        const podman = yield* Effect.scoped(
          Effect.gen(function* () {
            const podman = yield* Podman.start({ images: [image] })
            assert.include(
              yield* docker(podman.host, ["version", "--format", "{{.Server.Components}}"]),
              "Podman"
            )
            yield* docker(podman.host, ["network", "create", "armada-testkit-podman"])
            const id = yield* docker(podman.host, [
              "run",
              "-d",
              "--network",
              "armada-testkit-podman",
              "-p",
              "127.0.0.1::8080",
              image
            ])
            assert.strictEqual(
              yield* docker(podman.host, ["inspect", "--format", "{{.State.Running}}", id]),
              "true"
            )
            return podman
          })
        )
        assert.isFalse(isRunning(podman.pid))
        assert.isFalse(fs.existsSync(podman.socket))
        assert.deepStrictEqual(hostState(), before)
      }),
    300_000
  )
})
