/**
 * The `DockerEngine` service over local processes and directories.
 *
 * State folder layout:
 *
 * ```
 * <stateDir>/armada-local-<pid>-<random>/
 *   volumes/<name>/                      a volume's files
 *   containers/<id>/                     a container's root (ARMADA_WORKSPACE_ROOT, cwd, HOME)
 *     tmp/                               its TMPDIR
 *     workspace/area -> ../../../volumes/<name>   a read-write mount: a symbolic link
 *     workspace/cyanprint/               a read-only mount: a copy made at start, write bits off
 * ```
 *
 * @internal
 */
import { createHash, randomBytes } from "node:crypto"
import { rmSync } from "node:fs"
import { mkdtemp } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join, posix } from "node:path"
import { ImageRef, InputError, Parallel } from "@armada/core"
import {
  type ContainerInfo,
  type ContainerSpec,
  type ContainerState,
  type DockerEngine,
  DockerError,
  type ImageInfo,
  type Labels,
  type Mount,
  type NetworkInfo,
  type VolumeInfo
} from "@armada/docker"
import { type Duration, Effect, type Scope, Stream } from "effect"
import { hostError } from "./error.js"
import { guard } from "./exitGuard.js"
import { copyReadOnly, makeDir, removeTree, symlink } from "./files.js"
import { freePort } from "./ports.js"
import { type Handle, spawnGroup } from "./process.js"

/** @internal */
export interface CatalogEntry {
  readonly command: ReadonlyArray<string>
  readonly env?: Readonly<Record<string, string>> | undefined
}

/** @internal */
export interface Options {
  readonly catalog: Readonly<Record<string, CatalogEntry>>
  readonly stateDir?: string | undefined
  readonly stopGrace?: Duration.DurationInput | undefined
  readonly maxLogLines?: number | undefined
}

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
  readonly name: string
  readonly spec: ContainerSpec
  readonly entry: CatalogEntry
  readonly createdAt: Date
  readonly root: string
  readonly mounts: ReadonlyArray<Mount>
  /** Start and remove take it, so neither runs twice at once on one container. */
  readonly lock: Effect.Semaphore
  removing: boolean
  port: number | undefined
  handle: Handle | undefined
  /** Set when the command could not be started at all. */
  startFailure: number | undefined
}

/** Docker's own rules for names, which also keep every name a single path component. */
const containerNamePattern = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/
const volumeNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/

const randomId = () => randomBytes(32).toString("hex")

const matches = (labels: Labels, filter: Labels | undefined): boolean =>
  filter === undefined || Object.entries(filter).every(([key, value]) => labels[key] === value)

/**
 * What an image without a local command gets told.
 *
 * @internal
 */
export const catalogHint = (image: string): string =>
  `no local command for ${image}; add one to the pipeline spec's \`local:\` section, e.g. ` +
  `local: { ${JSON.stringify(image)}: { command: ["node", "/path/to/main.mjs"] } }`

const badRequest = (operation: string, resource: string, detail: string) =>
  new DockerError.EngineError({ operation, resource, status: 400, detail })

/**
 * The catalog with its keys in the form engines list (`repo` → `repo:latest`).
 *
 * @internal
 */
export const normalizeCatalog = (
  catalog: Readonly<Record<string, CatalogEntry>>
): Effect.Effect<Map<string, CatalogEntry>, InputError> =>
  Effect.suspend(() => {
    const entries = new Map<string, CatalogEntry>()
    for (const [image, entry] of Object.entries(catalog)) {
      if (!ImageRef.isImageRef(image)) {
        return Effect.fail(
          new InputError({ field: "local", value: image, reason: "expected an image reference as key" })
        )
      }
      if (entry.command.length === 0) {
        return Effect.fail(
          new InputError({
            field: `local.${image}.command`,
            value: entry.command,
            reason: "expected a command"
          })
        )
      }
      entries.set(ImageRef.withDefaultTag(ImageRef.ImageRef.make(image)), entry)
    }
    return Effect.succeed(entries)
  })

/** A mount target as an absolute, normalised container path; "/" and relative ones refused. */
const mountTarget = (target: string): string | undefined => {
  if (!target.startsWith("/")) return undefined
  const normal = posix.normalize(target).replace(/\/+$/, "")
  return normal === "" ? undefined : normal
}

/** @internal */
export const make = (
  options: Options
): Effect.Effect<DockerEngine.Service, DockerError.EngineError | InputError, Scope.Scope> =>
  Effect.gen(function* () {
    const catalog = yield* normalizeCatalog(options.catalog)
    const stopGrace = options.stopGrace ?? "3 seconds"
    const maxLogLines = options.maxLogLines ?? 10_000
    const parent = options.stateDir ?? tmpdir()

    const state = yield* Effect.acquireRelease(
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
        // Best effort at process exit: nothing is left to report to.
      }
    })

    const stopAll = Effect.suspend(() => {
      closed = true
      const running = [...containers.values()].filter((container) => container.handle !== undefined)
      return Parallel.forEachCollect(running, (container) => container.handle!.stop(stopGrace), {
        concurrency: Math.max(1, running.length)
      })
    })
    yield* Effect.addFinalizer(() => Effect.ignoreLogged(stopAll))

    // ---- images

    const normalImage = (image: ImageRef.ImageRef): string => ImageRef.withDefaultTag(image)

    const imageInfo = (image: string, entry: CatalogEntry): ImageInfo => ({
      id: `sha256:${createHash("sha256").update(JSON.stringify(entry)).digest("hex")}`,
      tags: [image],
      labels: {},
      sizeBytes: 0
    })

    const lookupImage = (image: ImageRef.ImageRef): Effect.Effect<CatalogEntry, DockerError.ImageNotFound> =>
      Effect.suspend(() => {
        const key = normalImage(image)
        const entry = catalog.get(key)
        if (entry === undefined)
          return Effect.fail(new DockerError.ImageNotFound({ image, detail: catalogHint(image) }))
        if (!present.has(key)) {
          return Effect.fail(
            new DockerError.ImageNotFound({ image, detail: "removed from the local engine; pull it" })
          )
        }
        return Effect.succeed(entry)
      })

    // ---- lookups

    const findContainer = (ref: string): Effect.Effect<Container, DockerError.ContainerNotFound> =>
      Effect.suspend(() => {
        const name = ref.startsWith("/") ? ref.slice(1) : ref
        const all = [...containers.values()]
        const found =
          containers.get(ref) ??
          all.find((container) => container.name === name) ??
          (() => {
            const byPrefix = ref.length === 0 ? [] : all.filter((container) => container.id.startsWith(ref))
            return byPrefix.length === 1 ? byPrefix[0] : undefined
          })()
        return found === undefined
          ? Effect.fail(new DockerError.ContainerNotFound({ container: ref }))
          : Effect.succeed(found)
      })

    const findVolume = (name: string): Effect.Effect<Volume, DockerError.VolumeNotFound> =>
      Effect.suspend(() => {
        const volume = volumes.get(name)
        return volume === undefined
          ? Effect.fail(new DockerError.VolumeNotFound({ volume: name }))
          : Effect.succeed(volume)
      })

    const findNetwork = (ref: string): Network | undefined =>
      networks.get(ref) ?? [...networks.values()].find((network) => network.name === ref)

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
        name: container.name,
        image: container.spec.image,
        labels: container.spec.labels,
        state,
        exitCode: container.startFailure ?? container.handle?.exitCode(),
        createdAt: container.createdAt,
        ports:
          state === "running" && container.spec.publish !== undefined && container.port !== undefined
            ? [{ containerPort: container.spec.publish, hostIp: "127.0.0.1", hostPort: container.port }]
            : [],
        mounts: container.mounts,
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

    /** Where a mount target lives inside the container's root. */
    const inRoot = (container: Container, path: string) => join(container.root, ...path.split("/"))

    const createContainer = (spec: ContainerSpec) =>
      Effect.gen(function* () {
        if (closed) return yield* badRequest("create container", spec.name, "the local engine is closed")
        if (!containerNamePattern.test(spec.name)) {
          return yield* badRequest(
            "create container",
            spec.name,
            `invalid name, expected ${containerNamePattern}`
          )
        }
        const name = spec.name.replace(/^\//, "")
        if ([...containers.values()].some((container) => container.name === name)) {
          return yield* new DockerError.NameConflict({ kind: "container", name })
        }
        const entry = yield* lookupImage(spec.image)
        if (spec.network !== undefined && findNetwork(spec.network) === undefined) {
          return yield* new DockerError.NetworkNotFound({ network: spec.network })
        }
        const mounts: Array<Mount> = []
        for (const mount of spec.mounts ?? []) {
          const target = mountTarget(mount.target)
          if (target === undefined) {
            return yield* badRequest(
              "create container",
              name,
              `invalid mount target ${JSON.stringify(mount.target)}`
            )
          }
          if (mounts.some((other) => other.target === target)) {
            return yield* badRequest("create container", name, `duplicate mount point ${target}`)
          }
          yield* findVolume(mount.volume)
          mounts.push({ volume: mount.volume, target, readOnly: mount.readOnly })
        }
        const id = randomId()
        const container: Container = {
          id,
          name,
          spec,
          entry,
          createdAt: new Date(),
          root: join(state, "containers", id),
          mounts,
          lock: Effect.unsafeMakeSemaphore(1),
          removing: false,
          port: undefined,
          handle: undefined,
          startFailure: undefined
        }
        // Reserved before any I/O, so a concurrent create of the same name sees it.
        containers.set(id, container)
        yield* Effect.gen(function* () {
          yield* makeDir(join(container.root, "tmp"), name)
          for (const mount of mounts) {
            if (mount.readOnly) continue
            const at = inRoot(container, mount.target)
            yield* makeDir(dirname(at), name)
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
      }).pipe(Effect.withSpan("LocalEngine.createContainer", { attributes: { container: spec.name } }))

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
            if (container.removing) {
              return yield* new DockerError.EngineError({
                operation: "start",
                resource: container.name,
                status: 409,
                detail: "the container is being removed"
              })
            }
            for (const mount of container.mounts) {
              if (!mount.readOnly) continue
              const at = inRoot(container, mount.target)
              yield* removeTree(at, container.name)
              yield* makeDir(dirname(at), container.name)
              yield* copyReadOnly(volumes.get(mount.volume)!.dir, at)
            }
            const port = yield* freePort(usedPorts())
            container.port = port
            container.startFailure = undefined
            const handle = yield* spawnGroup({
              name: container.name,
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
              yield* handle.stop(0)
              return yield* badRequest("start", container.name, "the local engine is closed")
            }
          })
        )
      }).pipe(Effect.withSpan("LocalEngine.startContainer", { attributes: { container: ref } }))

    const removeContainer = (ref: string) =>
      Effect.gen(function* () {
        const container = yield* findContainer(ref)
        yield* container.lock.withPermits(1)(
          Effect.gen(function* () {
            // Removed while this call waited for the lock.
            if (!containers.has(container.id))
              return yield* new DockerError.ContainerNotFound({ container: ref })
            container.removing = true
            if (container.handle !== undefined) yield* container.handle.stop(stopGrace)
            containers.delete(container.id)
            yield* removeTree(container.root, container.name)
          })
        )
      }).pipe(Effect.withSpan("LocalEngine.removeContainer", { attributes: { container: ref } }))

    // ---- volumes

    const createVolume = (options: { readonly name: string; readonly labels: Labels }) =>
      Effect.gen(function* () {
        if (!volumeNamePattern.test(options.name)) {
          return yield* badRequest(
            "create volume",
            options.name,
            `invalid name, expected ${volumeNamePattern}`
          )
        }
        if (volumes.has(options.name))
          return yield* new DockerError.NameConflict({ kind: "volume", name: options.name })
        const volume: Volume = {
          name: options.name,
          labels: options.labels,
          createdAt: new Date(),
          dir: join(state, "volumes", options.name)
        }
        volumes.set(volume.name, volume)
        yield* makeDir(volume.dir, volume.name).pipe(
          Effect.tapError(() => Effect.sync(() => volumes.delete(volume.name)))
        )
      }).pipe(Effect.withSpan("LocalEngine.createVolume", { attributes: { volume: options.name } }))

    const removeVolume = (name: string) =>
      Effect.gen(function* () {
        const volume = yield* findVolume(name)
        if (
          [...containers.values()].some((container) =>
            container.mounts.some((mount) => mount.volume === name)
          )
        ) {
          return yield* new DockerError.VolumeInUse({ volume: name })
        }
        volumes.delete(name)
        yield* removeTree(volume.dir, name)
      }).pipe(Effect.withSpan("LocalEngine.removeVolume", { attributes: { volume: name } }))

    // ---- networks: bookkeeping only, every process shares the host's loopback

    const ensureNetwork = (options: { readonly name: string; readonly labels: Labels }) =>
      Effect.sync(() => {
        const existing = findNetwork(options.name)
        if (existing !== undefined) return existing
        const network: Network = { id: randomId(), name: options.name, labels: options.labels }
        networks.set(network.id, network)
        return network
      })

    const removeNetwork = (ref: string) =>
      Effect.suspend((): Effect.Effect<void, DockerError.NetworkNotFound | DockerError.EngineError> => {
        const network = findNetwork(ref)
        if (network === undefined) return Effect.fail(new DockerError.NetworkNotFound({ network: ref }))
        const attached = [...containers.values()].some(
          (container) =>
            stateOf(container) === "running" &&
            container.spec.network !== undefined &&
            findNetwork(container.spec.network) === network
        )
        if (attached) {
          return Effect.fail(
            new DockerError.EngineError({
              operation: "remove network",
              resource: network.name,
              status: 403,
              detail: "the network has active endpoints"
            })
          )
        }
        networks.delete(network.id)
        return Effect.void
      })

    const networkInfo = (network: Network): NetworkInfo => ({ ...network })

    const service: DockerEngine.Service = {
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
          [...present].flatMap((image) => {
            const image_ = imageInfo(image, catalog.get(image)!)
            return matches(image_.labels, labels) ? [image_] : []
          })
        ),
      inspectImage: (image) =>
        Effect.map(lookupImage(image), (entry) => imageInfo(normalImage(image), entry)),
      imageExists: (image) => Effect.sync(() => present.has(normalImage(image))),
      pull: (image) =>
        Stream.fromEffect(
          Effect.suspend(() => {
            const key = normalImage(image)
            if (!catalog.has(key))
              return Effect.fail(new DockerError.PullFailed({ image, detail: catalogHint(image) }))
            present.add(key)
            return Effect.succeed({
              image,
              layer: undefined,
              status: "resolved to a local command",
              current: undefined,
              total: undefined
            })
          })
        ),
      removeImage: (image) =>
        Effect.flatMap(lookupImage(image), () =>
          Effect.sync(() => {
            present.delete(normalImage(image))
          })
        ),

      createContainer,
      startContainer,
      inspectContainer: (ref) => Effect.map(findContainer(ref), info),
      listContainers: (labels) =>
        Effect.sync(() =>
          [...containers.values()].filter((container) => matches(container.spec.labels, labels)).map(info)
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
            .filter((volume) => matches(volume.labels, labels))
            .map(
              (volume): VolumeInfo => ({
                name: volume.name,
                labels: volume.labels,
                createdAt: volume.createdAt
              })
            )
        ),
      removeVolume,

      ensureNetwork,
      listNetworks: (labels) =>
        Effect.sync(() =>
          [...networks.values()].filter((network) => matches(network.labels, labels)).map(networkInfo)
        ),
      removeNetwork,

      putArchive: () => Effect.die("not yet"),
      getArchive: () => Stream.die("not yet")
    }
    return service
  })
