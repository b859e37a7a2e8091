/**
 * The archive API of the in-memory engine: tar into and out of the file trees of its volumes and
 * containers, with a container's mounts laid over its own files, as Docker lays them out.
 *
 * @internal
 */
import * as posix from "node:path/posix"
import { Effect, Option, Stream } from "effect"
import * as Archive from "../Archive.js"
import type { ArchiveTarget } from "../ContainerEngine.js"
import type * as ContainerEngineError from "../ContainerEngineError.js"
import * as EngineRules from "../EngineRules.js"
import * as MountOverlay from "../MountOverlay.js"
import * as Upstream from "../Upstream.js"
import * as State from "./memoryState.js"

type EngineCall = (
  operation: "putArchive" | "getArchive",
  name: string
) => Effect.Effect<void, ContainerEngineError.ContainerEngineError>

/** A container's mount as the overlay sees it. */
interface VolumeMount {
  readonly target: string
  readonly volume: State.Volume
  readonly readOnly: boolean
}

const isDirectory = (tree: Archive.Tree, rel: string) =>
  Option.exists(Archive.get(tree, rel), (node) => node._tag === "Directory")

/** The archive of `rel` in `tree` as Docker lays it out: under `base`, the basename (none for `/`). */
const archiveOf = (tree: Archive.Tree, rel: string, base: string, below: Archive.Tree) =>
  Option.map(Archive.get(tree, rel), (node): Archive.Tree => {
    if (base === "") return below
    return node._tag === "Directory"
      ? Archive.put(new Map([[base, node]]), base, below)
      : new Map([[base, node]])
  })

/** Reads the caller's tar into a tree; a bad archive is the engine's 400, a failing stream its own error. */
const readTar = <E>(
  resource: string,
  tar: Stream.Stream<Uint8Array, E>
): Effect.Effect<Archive.Tree, E | ContainerEngineError.EngineError> =>
  Upstream.unmark(Archive.fromTar(Upstream.mark(tar)), EngineRules.archiveFailed("putArchive", resource))

/** The container's mounts with their volumes, and where `path` is: in a mount, or in its own files. */
const placeOf = (state: State.State, container: State.Container, path: string) => {
  const mounts = (container.spec.mounts ?? []).flatMap((mount): Array<VolumeMount> => {
    const volume = state.volumes.get(mount.volume)
    return volume === undefined
      ? []
      : [{ target: State.relative(mount.target), volume, readOnly: mount.readOnly }]
  })
  const rel = State.relative(path)
  const location = MountOverlay.locate(mounts, rel)
  return {
    mounts,
    rel,
    location,
    /** The tree that holds `path`, and where in it. */
    home: Option.match(location, {
      onNone: () => ({ tree: container.rootfs, rel }),
      onSome: ({ mount, rel }) => ({ tree: mount.volume.tree, rel })
    })
  }
}

/**
 * `ContainerEngine.putArchive`, `path` already normalised.
 *
 * @internal
 */
export const put = <E>(
  state: State.State,
  engineCall: EngineCall,
  target: ArchiveTarget,
  path: string,
  tar: Stream.Stream<Uint8Array, E>
): Effect.Effect<void, ContainerEngineError.ContainerEngineError | E> =>
  Effect.gen(function* () {
    if (target._tag === "Volume") {
      const resource = `volume ${target.volume}`
      yield* engineCall("putArchive", target.volume)
      const volume = yield* State.requireVolume(state, target.volume)
      yield* State.requireImage(state, target.image)
      const rel = State.relative(path)
      if (!isDirectory(volume.tree, rel)) return yield* EngineRules.pathNotFound("putArchive", resource, path)
      const entries = yield* readTar(resource, tar)
      volume.tree = Archive.put(volume.tree, rel, entries)
      return
    }
    const resource = `container ${target.container}`
    yield* engineCall("putArchive", target.container)
    const container = yield* State.requireContainer(state, target.container)
    const { mounts, rel, location, home } = placeOf(state, container, path)
    if (!isDirectory(home.tree, home.rel))
      return yield* EngineRules.pathNotFound("putArchive", resource, path)
    const entries = yield* readTar(resource, tar)
    const parts = MountOverlay.partition(entries, MountOverlay.below(mounts, rel))
    if (
      Option.exists(location, ({ mount }) => mount.readOnly) ||
      parts.some((part) => part.mount?.readOnly)
    ) {
      return yield* EngineRules.readOnlyMount(resource)
    }
    for (const part of parts) {
      if (part.mount !== undefined) {
        part.mount.volume.tree = Archive.put(part.mount.volume.tree, "", part.entries)
      } else if (Option.isSome(location)) {
        const { mount, rel } = location.value
        mount.volume.tree = Archive.put(mount.volume.tree, rel, part.entries)
      } else container.rootfs = Archive.put(container.rootfs, rel, part.entries)
    }
  })

/**
 * `ContainerEngine.getArchive`, `path` already normalised.
 *
 * @internal
 */
export const get = (
  state: State.State,
  engineCall: EngineCall,
  target: ArchiveTarget,
  path: string
): Stream.Stream<Uint8Array, ContainerEngineError.ContainerEngineError> =>
  Stream.unwrap(
    Effect.gen(function* () {
      const rel = State.relative(path)
      if (target._tag === "Volume") {
        yield* engineCall("getArchive", target.volume)
        const volume = yield* State.requireVolume(state, target.volume)
        yield* State.requireImage(state, target.image)
        const base = rel === "" ? volume.name : posix.basename(rel)
        const tree = archiveOf(volume.tree, rel, base, Archive.subtree(volume.tree, rel))
        if (Option.isNone(tree)) {
          return yield* EngineRules.pathNotFound("getArchive", `volume ${target.volume}`, path)
        }
        return Archive.toTar(tree.value)
      }
      yield* engineCall("getArchive", target.container)
      const container = yield* State.requireContainer(state, target.container)
      const { mounts, home } = placeOf(state, container, path)
      const view = MountOverlay.overlay(
        Archive.subtree(home.tree, home.rel),
        MountOverlay.below(mounts, rel).map(({ mount, at }) => ({ at, tree: mount.volume.tree }))
      )
      const tree = archiveOf(home.tree, home.rel, posix.basename(rel), view)
      if (Option.isNone(tree)) {
        return yield* EngineRules.pathNotFound("getArchive", `container ${target.container}`, path)
      }
      return Archive.toTar(tree.value)
    })
  )
