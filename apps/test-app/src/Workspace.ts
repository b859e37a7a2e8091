/**
 * Where protocol paths (`/workspace/...`) live on this machine, and the file operations the roles
 * share. In a container the paths are used as they are; as a local process (the no-Docker engine
 * sets `ARMADA_WORKSPACE_ROOT`) every path is resolved below that root, so the same program
 * serves both.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs/promises"
import { join, posix } from "node:path"
import { Data, Effect } from "effect"

/**
 * A failed file operation, with the errno code when there is one.
 *
 * @since 0.1.0
 * @category errors
 */
export class FileError extends Data.TaggedError("FileError")<{
  readonly operation: string
  readonly path: string
  readonly code: string
  readonly detail: string
}> {
  override get message(): string {
    return `${this.operation} ${this.path}: ${this.detail}`
  }
}

/**
 * A request that asks for something impossible (a path escaping its directory, a bad plugin
 * step); answered with 400.
 *
 * @since 0.1.0
 * @category errors
 */
export class RequestProblem extends Data.TaggedError("RequestProblem")<{ readonly detail: string }> {
  override get message(): string {
    return this.detail
  }
}

/**
 * Runs a promise-returning file operation, naming the path (as the protocol spells it) when it
 * fails.
 *
 * @since 0.1.0
 * @category constructors
 */
export const attempt = <A>(
  operation: string,
  path: string,
  f: () => Promise<A>
): Effect.Effect<A, FileError> =>
  Effect.tryPromise({
    try: f,
    catch: (error) => {
      const { code, message } = error as { code?: unknown; message?: unknown }
      return new FileError({
        operation,
        path,
        code: typeof code === "string" ? code : "UNKNOWN",
        detail: typeof message === "string" ? message : String(error)
      })
    }
  })

/**
 * @since 0.1.0
 * @category models
 */
export interface Workspace {
  /** The host path of a protocol path. */
  readonly resolve: (protocolPath: string) => string
}

/**
 * Protocol paths used as they are (`root` undefined) or resolved below `root`. A path is
 * normalised against `/` first, so `..` never climbs above the root.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (root: string | undefined): Workspace => ({
  resolve: (protocolPath) => {
    const absolute = posix.resolve("/", protocolPath)
    return root === undefined ? absolute : join(root, absolute)
  }
})

/**
 * `relative` (a POSIX path from a request) below `dir`, or a `RequestProblem` when it would leave
 * `dir`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const within = (dir: string, relative: string): Effect.Effect<string, RequestProblem> => {
  const normalised = posix.normalize(relative)
  return posix.isAbsolute(relative) ||
    normalised === "." ||
    normalised === ".." ||
    normalised.startsWith("../")
    ? Effect.fail(new RequestProblem({ detail: `path ${JSON.stringify(relative)} leaves its directory` }))
    : Effect.succeed(join(dir, normalised))
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  /** POSIX path relative to the walked directory. */
  readonly path: string
  readonly kind: "file" | "directory" | "symlink"
}

/**
 * Every entry below `dir`, parents before children, names sorted, never following a symbolic
 * link (a link is reported as `symlink` and not entered). Other kinds (sockets, fifos) are left
 * out.
 *
 * @since 0.1.0
 * @category constructors
 */
export const walk = (dir: string): Effect.Effect<Array<Entry>, FileError> =>
  Effect.gen(function* () {
    const entries: Array<Entry> = []
    const visit = (relative: string): Effect.Effect<void, FileError> =>
      Effect.gen(function* () {
        const here = relative === "" ? dir : join(dir, relative)
        const children = yield* attempt("read directory", here, () =>
          fs.readdir(here, { withFileTypes: true })
        )
        children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        for (const child of children) {
          const path = relative === "" ? child.name : `${relative}/${child.name}`
          if (child.isSymbolicLink()) entries.push({ path, kind: "symlink" })
          else if (child.isFile()) entries.push({ path, kind: "file" })
          else if (child.isDirectory()) {
            entries.push({ path, kind: "directory" })
            yield* visit(path)
          }
        }
      })
    yield* visit("")
    return entries
  })

/**
 * Makes `relative` (a POSIX path from a request) writable below `base` and returns its host path:
 * every parent on the way becomes a real directory (a symbolic link or a file in the way is
 * removed, never followed), and whatever was at the path itself is removed. So a write can never
 * land outside `base` through a link another step left there.
 *
 * @since 0.1.0
 * @category constructors
 */
export const prepareTarget = (
  base: string,
  relative: string
): Effect.Effect<string, FileError | RequestProblem> =>
  Effect.gen(function* () {
    const target = yield* within(base, relative)
    yield* realDirectories(base, posix.normalize(relative).split("/").slice(0, -1))
    yield* attempt("remove", target, () => fs.rm(target, { force: true, recursive: true }))
    return target
  })

/**
 * Makes `relative` below `base` a real directory, and every parent on the way, replacing links
 * and files in the way; an existing directory is kept with its content.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ensureDirectory = (
  base: string,
  relative: string
): Effect.Effect<string, FileError | RequestProblem> =>
  Effect.flatMap(within(base, relative), (target) =>
    Effect.as(realDirectories(base, posix.normalize(relative).split("/")), target)
  )

const realDirectories = (base: string, parts: ReadonlyArray<string>): Effect.Effect<void, FileError> =>
  Effect.gen(function* () {
    let dir = base
    for (const part of parts) {
      dir = join(dir, part)
      const current = dir
      const stat = yield* Effect.promise(() => fs.lstat(current).catch(() => undefined))
      if (stat?.isDirectory()) continue
      if (stat !== undefined) yield* attempt("remove", current, () => fs.rm(current, { force: true }))
      yield* attempt("create directory", current, () => fs.mkdir(current))
    }
  })

/**
 * Copies `source` onto a prepared `target`: a symbolic link as a link (its target text
 * unchanged, never followed), a file byte for byte.
 *
 * @since 0.1.0
 * @category constructors
 */
export const copyEntry = (
  source: string,
  target: string,
  kind: "file" | "symlink"
): Effect.Effect<void, FileError> =>
  kind === "symlink"
    ? Effect.flatMap(
        attempt("read link", source, () => fs.readlink(source)),
        (linkTarget) => attempt("create link", target, () => fs.symlink(linkTarget, target))
      )
    : attempt("copy", target, () => fs.copyFile(source, target))

/**
 * Fails with a `RequestProblem` when a parent of `relative` below `base` is a symbolic link, so an
 * edit cannot reach outside `base` through one.
 *
 * @since 0.1.0
 * @category constructors
 */
export const noLinkOnTheWay = (base: string, relative: string): Effect.Effect<string, RequestProblem> =>
  Effect.gen(function* () {
    const target = yield* within(base, relative)
    let dir = base
    for (const part of posix.normalize(relative).split("/").slice(0, -1)) {
      dir = join(dir, part)
      const current = dir
      const stat = yield* Effect.promise(() => fs.lstat(current).catch(() => undefined))
      if (stat?.isSymbolicLink()) {
        return yield* new RequestProblem({
          detail: `path ${JSON.stringify(relative)} goes through a symbolic link`
        })
      }
    }
    return target
  })

/**
 * Whether `path` exists (without following a final symbolic link).
 *
 * @since 0.1.0
 * @category getters
 */
export const exists = (path: string): Effect.Effect<boolean> =>
  Effect.promise(() =>
    fs.lstat(path).then(
      () => true,
      () => false
    )
  )
