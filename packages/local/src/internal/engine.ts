/**
 * The `ContainerEngine` service over local processes and directories, before
 * `ContainerEngine.make` adds input validation and spans.
 *
 * State folder layout:
 *
 * ```
 * <stateDir>/armada-local-<pid>-<random>/
 *   volumes/<name>/              a volume's files
 *   containers/<id>/             a container's root: ARMADA_WORKSPACE_ROOT, cwd and HOME
 *     tmp/                       its TMPDIR
 *     workspace/area -> <state>/volumes/<name>    a read-write mount: a symbolic link
 *     workspace/cyanprint/       a read-only mount: a copy made at start, write bits off
 * ```
 *
 * @internal
 */
import { createHash, randomBytes } from "node:crypto"
import { rmSync } from "node:fs"
import { mkdtemp } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { ImageRef, type InputError, Interruption, Parallel } from "@armada/core"
import {
  type ArchiveTarget,
  ContainerEngine,
  ContainerEngineError,
  type ContainerInfo,
  type ContainerSpec,
  type ContainerState,
  EngineRules,
  type ImageInfo,
  type Labels,
  type Mount,
  type NetworkInfo,
  Archive as TarArchive,
  Validation,
  type VolumeInfo
} from "@armada/engine"
import { Effect, Option, type Scope, Stream } from "effect"
import type { CatalogEntry, Options } from "../LocalEngine.js"
import * as Archive from "./archive.js"
import { hostError } from "./error.js"
import { guard } from "./exitGuard.js"
import { copyReadOnly, makeDir, removeTree, symlink } from "./files.js"
import { freePort } from "./ports.js"
import { type Handle, spawnGroup } from "./process.js"
import { reapAbandoned } from "./reaper.js"

interface Volume {
  readonly name: string
  readonly labels: Labels
  readonly createdAt: Date
  readonly dir: string
}

interface Network {
  readonly id: string
  readonly name: string
  readonly labels: Labels
}

interface Container {
  readonly id: string
  readonly spec: ContainerSpec
  readonly image: string
  readonly entry: CatalogEntry
  readonly createdAt: Date
  readonly root: string
  /** Start and remove take it, so neither runs twice at once on one container. */
  readonly lock: Effect.Semaphore
  removing: boolean
  port: number | undefined
  handle: Handle | undefined
  /** Set when the command could not be started at all. */
  startFailure: number | undefined
}

const randomId = () => randomBytes(32).toString("hex")

/** A container path relative to its root: `/workspace/area` → `workspace/area`. */
const relative = (absolute: string): string => Option.getOrElse(TarArchive.relativePath(absolute), () => "")

/**
 * What an image without a local command gets told.
 *
 * @internal
 */
export const catalogHint = (image: string): string =>
  `no local command for ${image}; add one to the pipeline spec's \`local:\` section, e.g. ` +
  `local: { ${JSON.stringify(image)}: { command: ["node", "/path/to/main.mjs"] } }`

/**
 * The catalog with its keys in the form engines list (`repo` → `repo:latest`); a key that is not
 * an image reference is an `InputError`.
 */
const normalizeCatalog = (
  catalog: Options["catalog"]
): Effect.Effect<Map<string, CatalogEntry>, InputError> =>
  Effect.gen(function* () {
    const entries = new Map<string, CatalogEntry>()
    for (const [image, entry] of Object.entries(catalog)) {
      const ref = yield* Validation.image(`local[${JSON.stringify(image)}]`, image)
      entries.set(ImageRef.withDefaultTag(ref), entry)
    }
    return entries
  })

/** @internal */
export const make = (
  options: Options
): Effect.Effect<ContainerEngine.Service, ContainerEngineError.EngineError | InputError, Scope.Scope> =>
  Effect.gen(function* () {
    const catalog = yield* normalizeCatalog(options.catalog)
    const stopGrace = options.stopGrace ?? "3 seconds"
    const maxLogLines = options.maxLogLines ?? 10_000
    const parent = options.stateDir ?? tmpdir()

    yield* reapAbandoned(parent)
    const state = yield* Interruption.acquireRelease(
      Effect.tryPromise({
        try: () => mkdtemp(join(parent, `armada-local-${process.pid}-`)),
        catch: hostError("create state folder", parent)
      }),
      (dir) => Effect.ignoreLogged(removeTree(dir))
    )
    yield* makeDir(join(state, "volumes"))
    yield* makeDir(join(state, "containers"))

    /** Images present: every catalog entry at first; removeImage takes one out, pull puts it back. */
    const present = new Set(catalog.keys())
    const containers = new Map<string, Container>()
    const volumes = new Map<string, Volume>()
    const networks = new Map<string, Network>()
    let closed = false

    yield* guard(() => {
      for (const container of containers.values()) container.handle?.killNow()
      try {
        rmSync(state, { recursive: true, force: true })
      } catch {
        // Best effort while the process exits: there is no one left to tell.
      }
    })

    const stopAll = Effect.suspend(() => {
      closed = true
      const running = [...containers.values()].filter((container) => container.handle !== undefined)
      return Parallel.forEachCollect(running, (container) => container.handle!.stop(stopGrace), {
        concurrency: Math.max(1, running.length)
      })
    })
    yield* Interruption.addFinalizer(() => Effect.ignoreLogged(stopAll))

    const conflict = (operation: string, resource: string, detail: string) =>
      new ContainerEngineError.EngineError({ operation, resource, status: 409, detail })

    const engineClosed = (operation: string, resource: string) =>
      new ContainerEngineError.EngineError({
        operation,
        resource,
        status: 503,
        detail: "the local engine is closed"
      })

    // ---- images

    const imageInfo = (tag: string, entry: CatalogEntry): ImageInfo => ({
      id: `sha256:${createHash("sha256").update(JSON.stringify(entry)).digest("hex")}`,
      tags: [tag],
      labels: entry.labels ?? {},
      sizeBytes: 0
    })

    const requireImage = (image: ImageRef.ImageRef) =>
      Effect.suspend(() => {
        const tag = ImageRef.withDefaultTag(image)
        const entry = catalog.get(tag)
        if (entry === undefined)
          return Effect.fail(new ContainerEngineError.ImageNotFound({ image, detail: catalogHint(image) }))
        if (!present.has(tag)) {
          return Effect.fail(
            new ContainerEngineError.ImageNotFound({
              image,
              detail: "removed from the local engine; pull it again"
            })
          )
        }
        return Effect.succeed({ tag, entry })
      })

    // ---- lookups

    const findContainer = (ref: string): Effect.Effect<Container, ContainerEngineError.ContainerNotFound> =>
      Effect.suspend(() => {
        const found = EngineRules.findContainer(containers.values(), ref)
        return found === undefined
          ? Effect.fail(new ContainerEngineError.ContainerNotFound({ container: ref }))
          : Effect.succeed(found)
      })

    const findVolume = (name: string): Effect.Effect<Volume, ContainerEngineError.VolumeNotFound> =>
      Effect.suspend(() => {
        const volume = volumes.get(name)
        return volume === undefined
          ? Effect.fail(new ContainerEngineError.VolumeNotFound({ volume: name }))
          : Effect.succeed(volume)
      })

    /** Docker's predefined networks need no creating. */
    const networkExists = (name: string) => EngineRules.isPredefinedNetwork(name) || networks.has(name)

    // ---- containers

    const stateOf = (container: Container): ContainerState => {
      if (container.removing) return "removing"
      if (container.startFailure !== undefined) return "exited"
      if (container.handle === undefined) return "created"
      return container.handle.exitCode() === undefined ? "running" : "exited"
    }

    const usedPorts = (): Set<number> =>
      new Set(
        [...containers.values()].flatMap((container) =>
          container.port !== undefined && stateOf(container) === "running" ? [container.port] : []
        )
      )

    const info = (container: Container): ContainerInfo => {
      const state = stateOf(container)
      return {
        id: container.id,
        name: container.spec.name,
        image: container.spec.image,
        labels: container.spec.labels,
        state,
        exitCode: state === "exited" ? (container.startFailure ?? container.handle?.exitCode()) : undefined,
        createdAt: container.createdAt,
        ports:
          state === "running" && container.spec.publish !== undefined && container.port !== undefined
            ? [{ containerPort: container.spec.publish, hostIp: "127.0.0.1", hostPort: container.port }]
            : [],
        mounts: container.spec.mounts ?? [],
        // What a local process really gets: none of Docker's confinement applies.
        security: {
          privileged: false,
          networkMode: "host",
          capDrop: [],
          capAdd: [],
          securityOpt: [],
          memoryBytes: 0,
          pidsLimit: 0,
          nanoCpus: 0
        }
      }
    }

    /** Where a container path is inside the container's root folder. */
    const inRoot = (container: Container, absolute: string) =>
      join(container.root, ...relative(absolute).split("/"))

    const mounts = (container: Container): ReadonlyArray<Mount> => container.spec.mounts ?? []

    const createContainer = (spec: ContainerSpec) =>
      Effect.gen(function* () {
        if (closed) return yield* engineClosed("createContainer", spec.name)
        yield* EngineRules.nameFree(containers.values(), spec.name)
        const { entry, tag } = yield* requireImage(spec.image)
        for (const mount of spec.mounts ?? []) yield* findVolume(mount.volume)
        const id = randomId()
        const container: Container = {
          id,
          spec,
          image: tag,
          entry,
          createdAt: new Date(),
          root: join(state, "containers", id),
          lock: Effect.unsafeMakeSemaphore(1),
          removing: false,
          port: undefined,
          handle: undefined,
          startFailure: undefined
        }
        // Reserved before any I/O, so a concurrent create of the same name sees it.
        containers.set(id, container)
        yield* Effect.gen(function* () {
          yield* makeDir(join(container.root, "tmp"), spec.name)
          for (const mount of mounts(container)) {
            if (mount.readOnly) continue
            const at = inRoot(container, mount.target)
            yield* makeDir(dirname(at), spec.name)
            yield* symlink(volumes.get(mount.volume)!.dir, at)
          }
        }).pipe(
          Effect.onError(() =>
            Effect.zipRight(
              Effect.sync(() => containers.delete(id)),
              Effect.ignore(removeTree(container.root))
            )
          )
        )
        return id
      })

    const environment = (container: Container, port: number): Record<string, string> => ({
      ...(process.env.PATH === undefined ? {} : { PATH: process.env.PATH }),
      HOME: container.root,
      TMPDIR: join(container.root, "tmp"),
      ...container.entry.env,
      ...container.spec.env,
      ARMADA_LISTEN_HOST: "127.0.0.1",
      ARMADA_LISTEN_PORT: String(port),
      ARMADA_WORKSPACE_ROOT: container.root
    })

    const startContainer = (ref: string) =>
      Effect.gen(function* () {
        const container = yield* findContainer(ref)
        yield* container.lock.withPermits(1)(
          Effect.gen(function* () {
            if (stateOf(container) === "running") return
            if (container.removing)
              return yield* conflict("startContainer", ref, "the container is being removed")
            const network = container.spec.network
            if (network !== undefined && !networkExists(network)) {
              return yield* new ContainerEngineError.NetworkNotFound({ network })
            }
            for (const mount of mounts(container)) {
              if (!mount.readOnly) continue
              const at = inRoot(container, mount.target)
              yield* removeTree(at, ref)
              yield* makeDir(dirname(at), ref)
              yield* copyReadOnly(volumes.get(mount.volume)!.dir, at)
            }
            const port = yield* freePort(usedPorts())
            container.port = port
            container.startFailure = undefined
            const handle = yield* spawnGroup({
              name: container.spec.name,
              command: [...container.entry.command, ...(container.spec.cmd ?? [])],
              env: environment(container, port),
              cwd: container.root,
              maxLogLines
            }).pipe(
              Effect.tapError(() =>
                Effect.sync(() => {
                  // As Docker reports a command it cannot execute.
                  container.startFailure = 127
                  container.handle = undefined
                })
              )
            )
            container.handle = handle
            if (closed) {
              yield* handle.kill
              return yield* engineClosed("startContainer", ref)
            }
          })
        )
      })

    const removeContainer = (ref: string) =>
      Effect.gen(function* () {
        const container = yield* findContainer(ref)
        yield* container.lock.withPermits(1)(
          Effect.gen(function* () {
            // Removed while this call waited for the lock.
            if (!containers.has(container.id))
              return yield* new ContainerEngineError.ContainerNotFound({ container: ref })
            container.removing = true
            // As `docker rm -f`: SIGKILL, no grace (the grace is for closing the engine).
            if (container.handle !== undefined) yield* container.handle.kill
            containers.delete(container.id)
            yield* removeTree(container.root, ref)
          })
        )
      })

    // ---- volumes

    const createVolume = ({ name, labels }: { readonly name: string; readonly labels: Labels }) =>
      Effect.gen(function* () {
        // Docker answers a create of an existing volume with that volume, labels unchanged.
        if (volumes.has(name)) return
        const volume: Volume = { name, labels, createdAt: new Date(), dir: join(state, "volumes", name) }
        volumes.set(name, volume)
        yield* makeDir(volume.dir, name).pipe(Effect.tapError(() => Effect.sync(() => volumes.delete(name))))
      })

    const removeVolume = (name: string) =>
      Effect.gen(function* () {
        const volume = yield* findVolume(name)
        yield* EngineRules.volumeUnused(containers.values(), name)
        volumes.delete(name)
        yield* removeTree(volume.dir, name)
      })

    // ---- archives

    const placeOf = (
      target: ArchiveTarget
    ): Effect.Effect<
      Archive.Place,
      ContainerEngineError.ContainerNotFound | ContainerEngineError.VolumeNotFound
    > =>
      Effect.gen(function* () {
        if (target._tag === "Volume") {
          const volume = yield* findVolume(target.volume)
          return { resource: `volume ${volume.name}`, dir: volume.dir, mounts: [] }
        }
        const container = yield* findContainer(target.container)
        return {
          resource: `container ${container.spec.name}`,
          dir: container.root,
          // Straight to the volumes: a read-only mount is read from its volume, not from the copy.
          mounts: mounts(container).map((mount) => ({
            target: relative(mount.target),
            dir: volumes.get(mount.volume)!.dir,
            readOnly: mount.readOnly
          }))
        }
      })

    // ---- networks: bookkeeping only, every process shares the host's loopback

    const service: ContainerEngine.Service = {
      address: `local:${state}`,
      ping: Effect.void,
      version: Effect.succeed({
        engine: "armada-local",
        version: "0.1.0",
        apiVersion: "local",
        os: process.platform,
        arch: process.arch
      }),

      listImages: (labels) =>
        Effect.sync(() =>
          [...present]
            .map((tag) => imageInfo(tag, catalog.get(tag)!))
            .filter((image) => EngineRules.matchesLabels(image.labels, labels))
        ),
      inspectImage: (image) => Effect.map(requireImage(image), ({ tag, entry }) => imageInfo(tag, entry)),
      imageExists: (image) => Effect.sync(() => present.has(ImageRef.withDefaultTag(image))),
      pull: (image) =>
        Stream.fromEffect(
          Effect.gen(function* () {
            const tag = ImageRef.withDefaultTag(image)
            if (!catalog.has(tag))
              return yield* new ContainerEngineError.PullFailed({
                image,
                reason: "Failed",
                detail: catalogHint(image)
              })
            present.add(tag)
            return {
              image,
              layer: undefined,
              status: `Resolved ${tag} to its local command`,
              current: undefined,
              total: undefined
            }
          })
        ),
      removeImage: (image) =>
        Effect.gen(function* () {
          const { tag } = yield* requireImage(image)
          yield* EngineRules.imageUnused(containers.values(), image, (container) => container.image === tag)
          present.delete(tag)
        }),

      createContainer,
      startContainer,
      inspectContainer: (ref) => Effect.map(findContainer(ref), info),
      listContainers: (labels) =>
        Effect.sync(() =>
          [...containers.values()]
            .filter((container) => EngineRules.matchesLabels(container.spec.labels, labels))
            .map(info)
        ),
      waitContainer: (ref) =>
        Effect.flatMap(findContainer(ref), (container) => {
          if (container.startFailure !== undefined) return Effect.succeed(container.startFailure)
          // Like Docker's default condition ("not-running"): a container never started is not running.
          return container.handle === undefined ? Effect.succeed(0) : container.handle.exited
        }),
      logs: (ref, { tail }) =>
        Effect.map(findContainer(ref), (container) => container.handle?.logs.tail(tail) ?? ""),
      removeContainer,

      createVolume,
      listVolumes: (labels) =>
        Effect.sync(() =>
          [...volumes.values()]
            .filter((volume) => EngineRules.matchesLabels(volume.labels, labels))
            .map(
              (volume): VolumeInfo => ({
                name: volume.name,
                labels: volume.labels,
                createdAt: volume.createdAt
              })
            )
        ),
      removeVolume,

      ensureNetwork: ({ name, labels }) =>
        Effect.sync(() => {
          const existing = networks.get(name)
          if (existing !== undefined) return existing
          const network: Network = { id: randomId(), name, labels }
          networks.set(name, network)
          return network
        }),
      listNetworks: (labels) =>
        Effect.sync(() =>
          [...networks.values()]
            .filter((network) => EngineRules.matchesLabels(network.labels, labels))
            .map((network): NetworkInfo => ({ ...network }))
        ),
      removeNetwork: (name) =>
        Effect.gen(function* () {
          if (!networks.has(name)) return yield* new ContainerEngineError.NetworkNotFound({ network: name })
          yield* EngineRules.networkUnused(
            containers.values(),
            name,
            (container) => stateOf(container) === "running"
          )
          networks.delete(name)
        }),

      putArchive: (target, path, tar) =>
        Effect.flatMap(placeOf(target), (place) => Archive.put(place, path, tar)),
      getArchive: (target, path) =>
        Stream.unwrap(
          Effect.map(placeOf(target), (place) =>
            Archive.get(place, path, target._tag === "Volume" ? target.volume : "")
          )
        )
    }
    return ContainerEngine.make(service)
  })
