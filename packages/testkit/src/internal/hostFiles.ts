/**
 * Removing what a fixture's daemon left on the host, when what it left may be a mount point.
 *
 * @internal
 */
import * as fs from "node:fs"
import { Effect } from "effect"
import { run } from "./daemon.js"

/**
 * Removes `file` (a folder with all it holds). A mount point is unmounted first: CNI, like `ip
 * netns`, makes `/run/netns` a mount of itself when it creates it, and removing it then fails
 * (EBUSY). What cannot go (still busy: another program's namespace in it) is left, with a warning.
 *
 * @internal
 */
export const remove = (fixture: string, file: string): Effect.Effect<void> =>
  Effect.gen(function* () {
    if (isMountPoint(file)) {
      yield* run(fixture, `unmount ${file}`, "umount", [file]).pipe(
        Effect.catchAll((error) => Effect.logWarning(error.message))
      )
    }
    yield* Effect.try(() => fs.rmSync(file, { recursive: true, force: true })).pipe(
      Effect.catchAll((error) =>
        Effect.logWarning(`${fixture}: ${file} left in place: ${String(error.error)}`)
      )
    )
  })

/**
 * Whether something is mounted at `file` (the fifth field of a line of `/proc/self/mountinfo`).
 *
 * @internal
 */
export const isMountPoint = (file: string): boolean =>
  fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((line) => line.split(" ")[4] === file)
