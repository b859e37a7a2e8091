import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ProcessGroup } from "@armada/local"
import { Poll } from "@armada/testkit"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeEngine } from "./helpers.js"

describe("an engine that never closed (its Node.js was killed) leaves nothing for long", () => {
  it.scopedLive(
    "the next engine kills its processes and removes its folder; live engines' folders stay",
    () =>
      Effect.gen(function* () {
        const parent = mkdtempSync(join(tmpdir(), "armada-local-reaper-test-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(parent, { recursive: true, force: true })))
        // A pid that is certainly gone: a process that has exited and was reaped.
        const dead = spawnSync(process.execPath, ["-e", ""]).pid!
        const abandoned = join(parent, `armada-local-${dead}-AbCdEf`)
        const root = join(abandoned, "containers", "c1")
        mkdirSync(root, { recursive: true })
        const leftover = spawn(process.execPath, ["-e", "setInterval(() => {}, 1 << 30)"], {
          detached: true,
          stdio: "ignore",
          env: { ARMADA_WORKSPACE_ROOT: root }
        })
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => ProcessGroup.signalGroup(leftover.pid!, "SIGKILL"))
        )
        const alive = join(parent, `armada-local-${process.ppid}-GhIjKl`)
        mkdirSync(alive)
        assert.isTrue(ProcessGroup.isAlive(leftover.pid!))

        yield* makeEngine({ stateDir: parent })

        assert.isFalse(existsSync(abandoned))
        // SIGKILL was sent; the kernel ends the process a moment later.
        yield* Effect.promise(() =>
          Poll.until(() => !ProcessGroup.isAlive(leftover.pid!), "the leftover process to end", 60_000, 10)
        )
        assert.isTrue(existsSync(alive), "a folder whose engine still runs is left alone")
      })
  )
})
