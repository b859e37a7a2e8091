/**
 * Leftovers of engines that never closed (their Node.js process was killed with SIGKILL or
 * crashed): state folders `armada-local-<pid>-*` whose `<pid>` is gone, and the processes still
 * running in them. A new engine removes them when it starts, so they do not pile up.
 *
 * @internal
 */
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import * as ProcessGroup from "../ProcessGroup.js"
import { removeTree } from "./files.js"

const statePattern = /^armada-local-(\d+)-/

/**
 * Kills the processes of every abandoned state folder under `parent` and removes the folders.
 * Only on Linux, where those processes can be found (`ProcessGroup.startedUnder`); elsewhere a
 * folder whose processes might still run is left alone. Never fails: what it cannot do, it logs.
 *
 * @internal
 */
export const reapAbandoned = (parent: string): Effect.Effect<void> =>
  Effect.gen(function* () {
    if (process.platform !== "linux") return
    const entries = yield* Effect.try(() => readdirSync(parent)).pipe(Effect.orElseSucceed(() => []))
    const own = ProcessGroup.groupOf(process.pid)
    for (const entry of entries) {
      const owner = Number(statePattern.exec(entry)?.[1])
      if (Number.isNaN(owner) || owner === process.pid || ProcessGroup.isAlive(owner)) continue
      const folder = join(parent, entry)
      const pids = ProcessGroup.startedUnder(folder)
      for (const pid of pids) {
        const group = ProcessGroup.groupOf(pid)
        if (group !== undefined && group !== own) ProcessGroup.signalGroup(group, "SIGKILL")
        else ProcessGroup.signal(pid, "SIGKILL")
      }
      yield* removeTree(folder)
      yield* Effect.logWarning(
        `removed the leftovers of a local engine that never closed (pid ${owner}): ${pids.length} processes killed, ${folder} removed`
      )
    }
  }).pipe(
    Effect.catchAllCause((cause) => Effect.logWarning("could not remove abandoned local engine state", cause))
  )
