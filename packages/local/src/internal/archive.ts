/**
 * The archive API on directories: where a path of a container or volume is on disk, and tar in
 * and out of it with `@armada/docker`'s `Archive` (whose extraction refuses entries that would
 * land outside the target). Paths are laid out as Docker lays them out (see `Archive`).
 *
 * @internal
 */
import * as fs from "node:fs/promises"
import { join } from "node:path"
import * as posix from "node:path/posix"
import { Archive, DockerError } from "@armada/docker"
import { Effect, Option, Stream } from "effect"
import { hostError } from "./error.js"

/**
 * A directory standing for the root of a volume or of a container's own files, with the mounts
 * laid over it (for a container: each mount's target relative to the root, and its volume's
 * directory).
 *
 * @internal
 */
export interface Place {
  /** For messages: `volume <name>` or `container <name>`. */
  readonly resource: string
  readonly dir: string
  readonly mounts: ReadonlyArray<{
    readonly target: string
    readonly dir: string
    readonly readOnly: boolean
  }>
}

/** Where a relative path of a place is: in a mount (the longest target that holds it) or in its own directory. */
interface Location {
  readonly dir: string
  readonly rel: string
  readonly readOnly: boolean
}

const relative = (absolute: string): string => Option.getOrElse(Archive.relativePath(absolute), () => "")

const locate = (place: Place, rel: string): Location => {
  let best: Location | undefined
  let length = -1
  for (const mount of place.mounts) {
    if ((rel === mount.target || rel.startsWith(`${mount.target}/`)) && mount.target.length > length) {
      length = mount.target.length
      best = {
        dir: mount.dir,
        rel: rel === mount.target ? "" : rel.slice(mount.target.length + 1),
        readOnly: mount.readOnly
      }
    }
  }
  return best ?? { dir: place.dir, rel, readOnly: false }
}

/** The mounts strictly below `rel`, with their targets relative to it. */
const mountsBelow = (place: Place, rel: string) =>
  place.mounts.flatMap((mount) =>
    rel === "" || mount.target.startsWith(`${rel}/`)
      ? [{ ...mount, below: rel === "" ? mount.target : mount.target.slice(rel.length + 1) }]
      : []
  )

const notFound = (operation: string, place: Place, absolute: string) =>
  new DockerError.EngineError({
    operation,
    resource: place.resource,
    status: 404,
    detail: `Could not find the file ${absolute} in ${place.resource}`
  })

const throughLink = (operation: string, place: Place, absolute: string) =>
  new DockerError.EngineError({
    operation,
    resource: place.resource,
    status: 400,
    detail: `${absolute} goes through a symbolic link, which the local engine does not follow`
  })

/**
 * The host path of `rel` below `dir` and what is there (undefined when nothing is). A symbolic
 * link on the way is refused, so no read or write can leave `dir` through one.
 */
const onDisk = (operation: string, place: Place, location: Location, absolute: string) =>
  Effect.gen(function* () {
    let current = location.dir
    const parts = location.rel === "" ? [] : location.rel.split("/")
    let stat = yield* Effect.tryPromise({
      try: () => fs.lstat(current),
      catch: hostError(operation, place.resource)
    })
    for (const [index, part] of parts.entries()) {
      if (stat.isSymbolicLink()) return yield* throughLink(operation, place, absolute)
      if (!stat.isDirectory()) return { path: current, stat: undefined }
      current = join(current, part)
      const next = yield* Effect.promise(() => fs.lstat(current).catch(() => undefined))
      if (next === undefined) return { path: current, stat: undefined }
      if (index === parts.length - 1) return { path: current, stat: next }
      stat = next
    }
    return { path: current, stat }
  })

/** Marks a failure of the caller's tar stream so it passes through unchanged. */
class Upstream<E> {
  constructor(readonly error: E) {}
}

/** A tar failure as the engine reports it: a bad or unsafe archive is a 400, host I/O a 500. */
const archiveFailure = (operation: string, place: Place) => (error: DockerError.ArchiveError) =>
  new DockerError.EngineError({
    operation,
    resource: place.resource,
    status: error.reason === "Io" ? 500 : 400,
    detail: error.message
  })

const readOnly = (place: Place) =>
  new DockerError.EngineError({
    operation: "putArchive",
    resource: place.resource,
    status: 500,
    detail: "mounted volume is marked read-only"
  })

/**
 * Extracts `tar` into the existing directory `absolute` of `place`. Entries that fall into a
 * mount below `absolute` go to that mount's volume; into a read-only mount, nothing goes.
 *
 * @internal
 */
export const put = <E>(
  place: Place,
  absolute: string,
  tar: Stream.Stream<Uint8Array, E>
): Effect.Effect<void, DockerError.EngineError | E> =>
  Effect.gen(function* () {
    const rel = relative(absolute)
    const location = locate(place, rel)
    const found = yield* onDisk("putArchive", place, location, absolute)
    if (found.stat?.isSymbolicLink() === true) return yield* throughLink("putArchive", place, absolute)
    if (found.stat?.isDirectory() !== true) return yield* notFound("putArchive", place, absolute)
    if (location.readOnly) return yield* readOnly(place)
    const upstream = Stream.mapError(tar, (error) => new Upstream(error))
    const below = mountsBelow(place, rel)
    const extracted =
      below.length === 0
        ? Archive.extractToDirectory(upstream, found.path)
        : Effect.flatMap(
            Archive.fromTar(upstream),
            (tree): Effect.Effect<void, DockerError.ArchiveError | DockerError.EngineError> => {
              // Each entry goes to the deepest mount that holds it, or to the directory itself;
              // a mount point itself stays the mount.
              const parts = new Map<
                string,
                { dir: string; readOnly: boolean; entries: Map<string, Archive.Node> }
              >()
              for (const [key, node] of tree) {
                const owner = below
                  .filter((mount) => key === mount.below || key.startsWith(`${mount.below}/`))
                  .sort((a, b) => b.below.length - a.below.length)[0]
                if (owner?.below === key) continue
                const part = owner?.below ?? ""
                if (!parts.has(part)) {
                  parts.set(part, {
                    dir: owner?.dir ?? found.path,
                    readOnly: owner?.readOnly ?? false,
                    entries: new Map()
                  })
                }
                parts
                  .get(part)!
                  .entries.set(owner === undefined ? key : key.slice(owner.below.length + 1), node)
              }
              if ([...parts.values()].some((part) => part.readOnly)) return Effect.fail(readOnly(place))
              return Effect.forEach(
                parts.values(),
                (part) => Archive.extractToDirectory(Archive.toTar(part.entries), part.dir),
                { discard: true }
              )
            }
          )
    yield* Effect.catchAll(
      extracted as Effect.Effect<unknown, Upstream<E> | DockerError.ArchiveError | DockerError.EngineError>,
      (error): Effect.Effect<never, DockerError.EngineError | E> =>
        error instanceof Upstream
          ? Effect.fail(error.error as E)
          : error._tag === "ArchiveError"
            ? Effect.fail(archiveFailure("putArchive", place)(error))
            : Effect.fail(error)
    )
  })

/**
 * `absolute` of `place` as a tar stream, under its basename (`name` for the root): a directory
 * with what the mounts below it hold, a file, or a link as a link.
 *
 * @internal
 */
export const get = (
  place: Place,
  absolute: string,
  name: string
): Stream.Stream<Uint8Array, DockerError.EngineError> =>
  Stream.unwrap(
    Effect.gen(function* () {
      const rel = relative(absolute)
      const location = locate(place, rel)
      const found = yield* onDisk("getArchive", place, location, absolute)
      const stat = found.stat
      if (stat === undefined) return yield* notFound("getArchive", place, absolute)
      const base = rel === "" ? name : posix.basename(rel)
      const fail = archiveFailure("getArchive", place)
      if (stat.isDirectory()) {
        const below = mountsBelow(place, rel)
        const prefix = base === "" ? {} : { prefix: base }
        if (below.length === 0) return Stream.mapError(Archive.packDirectory(found.path, prefix), fail)
        // Mount points below hold their volumes, not what the container's own files have there.
        let tree = yield* Archive.fromTar(Archive.packDirectory(found.path)).pipe(Effect.mapError(fail))
        for (const mount of below) {
          const volume = yield* Archive.fromTar(Archive.packDirectory(mount.dir)).pipe(Effect.mapError(fail))
          tree = Archive.put(Archive.remove(tree, mount.below), mount.below, volume)
        }
        if (base !== "")
          tree = Archive.put(new Map([[base, Archive.directory({ mode: stat.mode & 0o7777 })]]), base, tree)
        return Archive.toTar(tree)
      }
      const node = stat.isSymbolicLink()
        ? Archive.symlink(
            yield* Effect.tryPromise({
              try: () => fs.readlink(found.path),
              catch: hostError("getArchive", place.resource)
            }),
            {
              mtime: stat.mtime
            }
          )
        : Archive.file(
            yield* Effect.tryPromise({
              try: () => fs.readFile(found.path),
              catch: hostError("getArchive", place.resource)
            }),
            { mode: stat.mode & 0o7777, mtime: stat.mtime }
          )
      return Archive.toTar(new Map([[base, node]]))
    })
  )
