/**
 * Removing what a fixture's daemon left on the host, when what it left may be a mount point.
 *
 * @internal
 */
import * as fs from "node:fs"
import { Effect, type Scope } from "effect"
import { run } from "./daemon.js"

/**
 * Removes `file` (a folder with all it holds). A mount point is unmounted first: CNI, like `ip
 * netns`, makes `/run/netns` a mount of itself when it creates it, and removing it then fails
 * (EBUSY). What cannot go (still busy: another program's namespace in it) is left, with a warning.
 *
 * @internal
 */
export const remove = (fixture: string, file: string): Effect.Effect<void> =>
  Effect.zipRight(
    unmount(fixture, file),
    removeWith(fixture, file, () => fs.rmSync(file, { recursive: true, force: true }))
  )

/**
 * In the scope: `dir`, absent when the scope begins, is removed when it closes if something made
 * it in between and left it empty. `ip netns add` makes `/run/netns` (a mount of itself) and `ip
 * netns delete` leaves it. Only an empty folder goes, so a namespace that another program added
 * meanwhile keeps it (its mount makes the unmount fail, and the folder is not empty).
 *
 * @internal
 */
export const removeWhenLeftEmpty = (fixture: string, dir: string): Effect.Effect<void, never, Scope.Scope> =>
  Effect.asVoid(
    Effect.acquireRelease(
      Effect.sync(() => fs.existsSync(dir)),
      (existed) =>
        existed || !isEmptyFolder(dir)
          ? Effect.void
          : Effect.zipRight(
              unmount(fixture, dir),
              removeWith(fixture, dir, () => fs.rmdirSync(dir))
            )
    )
  )

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

const isEmptyFolder = (dir: string): boolean => fs.existsSync(dir) && fs.readdirSync(dir).length === 0

const unmount = (fixture: string, file: string): Effect.Effect<void> =>
  Effect.suspend(() =>
    isMountPoint(file)
      ? run(fixture, `unmount ${file}`, "umount", [file]).pipe(
          Effect.asVoid,
          Effect.catchAll((error) => Effect.logWarning(error.message))
        )
      : Effect.void
  )

const removeWith = (fixture: string, file: string, rm: () => void): Effect.Effect<void> =>
  Effect.try(rm).pipe(
    Effect.catchAll((error) => Effect.logWarning(`${fixture}: ${file} left in place: ${String(error.error)}`))
  )
