/**
 * The archive API on directories: where a path of a container or volume is on disk, and tar in
 * and out of it with `@armada/engine`'s `Archive` (whose extraction refuses entries that would
 * land outside the target). Paths are laid out as Docker lays them out (see `Archive`).
 *
 * @internal
 */
import * as fs from "node:fs/promises"
import { join } from "node:path"
import * as posix from "node:path/posix"
import {
  Archive,
  type ArchiveTarget,
  type ContainerEngine,
  ContainerEngineError,
  EngineRules,
  MountOverlay,
  Upstream
} from "@armada/engine"
import { Effect, Option, Stream } from "effect"
import { hostError } from "./error.js"
import { findContainer, findVolume, mounts, relative, type State } from "./state.js"

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

/** Where a relative path of a place is: in a mount (the deepest that holds it) or in its own directory. */
interface Location {
  readonly dir: string
  readonly rel: string
  readonly readOnly: boolean
}

const locate = (place: Place, rel: string): Location =>
  Option.match(MountOverlay.locate(place.mounts, rel), {
    onNone: () => ({ dir: place.dir, rel, readOnly: false }),
    onSome: ({ mount, rel }) => ({ dir: mount.dir, rel, readOnly: mount.readOnly })
  })

const throughLink = (operation: string, place: Place, absolute: string) =>
  new ContainerEngineError.EngineError({
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
): Effect.Effect<void, ContainerEngineError.EngineError | E> =>
  Effect.gen(function* () {
    const rel = relative(absolute)
    const location = locate(place, rel)
    const found = yield* onDisk("putArchive", place, location, absolute)
    if (found.stat?.isSymbolicLink() === true) return yield* throughLink("putArchive", place, absolute)
    if (found.stat?.isDirectory() !== true) {
      return yield* EngineRules.pathNotFound("putArchive", place.resource, absolute)
    }
    if (location.readOnly) return yield* EngineRules.readOnlyMount(place.resource)
    const upstream = Upstream.mark(tar)
    const below = MountOverlay.below(place.mounts, rel)
    const extracted =
      below.length === 0
        ? Archive.extractToDirectory(upstream, found.path)
        : Effect.flatMap(
            Archive.fromTar(upstream),
            (
              tree
            ): Effect.Effect<void, ContainerEngineError.ArchiveError | ContainerEngineError.EngineError> => {
              const parts = MountOverlay.partition(tree, below)
              if (parts.some((part) => part.mount?.readOnly)) {
                return Effect.fail(EngineRules.readOnlyMount(place.resource))
              }
              return Effect.forEach(
                parts,
                (part) =>
                  Archive.extractToDirectory(Archive.toTar(part.entries), part.mount?.dir ?? found.path),
                { discard: true }
              )
            }
          )
    yield* Upstream.unmark(extracted, (error) =>
      error._tag === "ArchiveError" ? EngineRules.archiveFailed("putArchive", place.resource)(error) : error
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
): Stream.Stream<Uint8Array, ContainerEngineError.EngineError> =>
  Stream.unwrap(
    Effect.gen(function* () {
      const rel = relative(absolute)
      const location = locate(place, rel)
      const found = yield* onDisk("getArchive", place, location, absolute)
      const stat = found.stat
      if (stat === undefined) return yield* EngineRules.pathNotFound("getArchive", place.resource, absolute)
      const base = rel === "" ? name : posix.basename(rel)
      const fail = EngineRules.archiveFailed("getArchive", place.resource)
      if (stat.isDirectory()) {
        const below = MountOverlay.below(place.mounts, rel)
        const prefix = base === "" ? {} : { prefix: base }
        if (below.length === 0) return Stream.mapError(Archive.packDirectory(found.path, prefix), fail)
        const read = (dir: string) => Effect.mapError(Archive.fromTar(Archive.packDirectory(dir)), fail)
        const own = yield* read(found.path)
        const mounted = yield* Effect.forEach(below, ({ mount, at }) =>
          Effect.map(read(mount.dir), (tree) => ({ at, tree }))
        )
        let tree = MountOverlay.overlay(own, mounted)
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

/** The place an archive target stands for. */
const placeOf = (
  state: State,
  target: ArchiveTarget
): Effect.Effect<Place, ContainerEngineError.ContainerNotFound | ContainerEngineError.VolumeNotFound> =>
  Effect.gen(function* () {
    if (target._tag === "Volume") {
      const volume = yield* findVolume(state, target.volume)
      return { resource: `volume ${volume.name}`, dir: volume.dir, mounts: [] }
    }
    const container = yield* findContainer(state, target.container)
    return {
      resource: `container ${container.spec.name}`,
      dir: container.root,
      // Straight to the volumes: a read-only mount is read from its volume, not from the copy.
      mounts: mounts(container).map((mount) => ({
        target: relative(mount.target),
        dir: state.volumes.get(mount.volume)!.dir,
        readOnly: mount.readOnly
      }))
    }
  })

/** @internal */
export const make = (state: State): Pick<ContainerEngine.Service, "putArchive" | "getArchive"> => ({
  putArchive: (target, path, tar) => Effect.flatMap(placeOf(state, target), (place) => put(place, path, tar)),
  getArchive: (target, path) =>
    Stream.unwrap(
      Effect.map(placeOf(state, target), (place) =>
        get(place, path, target._tag === "Volume" ? target.volume : "")
      )
    )
})
