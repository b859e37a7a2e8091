/**
 * The directory work of the local engine: state folders, volumes, read-only copies, removal.
 *
 * @internal
 */
import * as fs from "node:fs/promises"
import { join } from "node:path"
import type { DockerError } from "@armada/docker"
import { Effect } from "effect"
import { errnoCode, hostError } from "./error.js"

const attempt = <A>(
  operation: string,
  resource: string,
  run: () => Promise<A>
): Effect.Effect<A, DockerError.EngineError> =>
  Effect.tryPromise({ try: run, catch: hostError(operation, resource) })

/** @internal */
export const makeDir = (path: string, resource = path) =>
  attempt("create directory", resource, () => fs.mkdir(path, { recursive: true })).pipe(Effect.asVoid)

/** @internal */
export const symlink = (target: string, path: string) =>
  attempt("link", path, () => fs.symlink(target, path, "dir"))

/** Applies `mode(current)` to every directory and file below `root` (symbolic links untouched). */
const chmodTree = async (root: string, mode: (current: number) => number): Promise<void> => {
  const stat = await fs.lstat(root)
  if (stat.isSymbolicLink()) return
  // A directory's own mode first: making it writable must come before touching its entries.
  // Changing a mode needs no write access to the parent, so the read-only case works as well.
  await fs.chmod(root, mode(stat.mode & 0o7777))
  if (stat.isDirectory()) {
    for (const entry of await fs.readdir(root)) await chmodTree(join(root, entry), mode)
  }
}

/**
 * Copies `source` to `target` (symbolic links as links) and takes the write bits off everything
 * in the copy. Root ignores file modes: for a process running as root the copy is writable, but
 * its writes still never reach `source`.
 *
 * @internal
 */
export const copyReadOnly = (source: string, target: string) =>
  attempt("copy read-only", target, async () => {
    await fs.cp(source, target, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true })
    await chmodTree(target, (mode) => mode & ~0o222)
  })

/**
 * Removes `path` and everything below it, even read-only directories (a read-only copy, or a
 * directory a process made read-only) which `rm` alone refuses for a user other than root.
 *
 * @internal
 */
export const removeTree = (path: string, resource = path) =>
  attempt("remove", resource, async () => {
    try {
      await fs.rm(path, { recursive: true, force: true })
    } catch (error) {
      const code = errnoCode(error)
      if (code !== "EACCES" && code !== "EPERM") throw error
      await chmodTree(path, (mode) => mode | 0o700)
      await fs.rm(path, { recursive: true, force: true })
    }
  })
