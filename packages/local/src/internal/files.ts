/**
 * The directory work of the local engine: state folders, volumes, read-only copies, removal.
 *
 * @internal
 */
import * as fs from "node:fs/promises"
import { join } from "node:path"
import type { ContainerEngineError } from "@armada/engine"
import { Effect } from "effect"
import { errnoCode, hostError } from "./error.js"

const attempt = <A>(
  operation: string,
  resource: string,
  run: () => Promise<A>
): Effect.Effect<A, ContainerEngineError.EngineError> =>
  Effect.tryPromise({ try: run, catch: hostError(operation, resource) })

/** @internal */
export const makeDir = (path: string, resource = path) =>
  attempt("create directory", resource, () => fs.mkdir(path, { recursive: true })).pipe(Effect.asVoid)

/** @internal */
export const symlink = (target: string, path: string) =>
  attempt("link", path, () => fs.symlink(target, path, "dir"))

/** Applies `mode(current)` to every directory below `root`, and to every file unless `directoriesOnly`. */
const chmodTree = async (
  root: string,
  mode: (current: number) => number,
  directoriesOnly = false
): Promise<void> => {
  const stat = await fs.lstat(root)
  if (stat.isSymbolicLink() || (directoriesOnly && !stat.isDirectory())) return
  // A directory's own mode first: making it writable must come before touching its entries.
  // Changing a mode needs no write access to the parent, so the read-only case works as well.
  await fs.chmod(root, mode(stat.mode & 0o7777))
  if (stat.isDirectory()) {
    for (const entry of await fs.readdir(root)) await chmodTree(join(root, entry), mode, directoriesOnly)
  }
}

/**
 * Copies `source` to `target` (symbolic links as links) and takes the write bits off the copy's
 * directories, so no entry can be created, renamed or removed in it. Files keep their modes: a
 * processor that copies a template file copies its mode, and that must be the mode Docker's
 * read-only mount shows. Root ignores modes; whatever anyone writes lands in this copy only and
 * never reaches `source`.
 *
 * @internal
 */
export const copyReadOnly = (source: string, target: string) =>
  attempt("copy read-only", target, async () => {
    await fs.cp(source, target, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true })
    await chmodTree(target, (mode) => mode & ~0o222, true)
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
