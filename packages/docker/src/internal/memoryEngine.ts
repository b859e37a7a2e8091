/** @internal */
import { randomBytes } from "node:crypto"
import * as posix from "node:path/posix"
import { ImageRef } from "@armada/core"
import { Clock, Context, Deferred, Duration, Effect, Fiber, Layer, Option, Stream } from "effect"
import * as Archive from "../Archive.js"
import {
  type ContainerInfo,
  type ContainerSpec,
  type ContainerState,
  DockerEngine,
  type ImageInfo,
  type Labels,
  type Mount,
  type PullProgress
} from "../DockerEngine.js"
import * as DockerError from "../DockerError.js"
import * as EngineRules from "../EngineRules.js"
import {
  type Call,
  type Fault,
  type ImagePreset,
  MemoryEngine,
  type Operation,
  type Options,
  type Run
} from "../MemoryEngine.js"
import * as Validation from "../Validation.js"

interface Image {
  readonly preset: ImagePreset
  readonly id: string
  readonly tag: string
}

interface Container {
  readonly id: string
  readonly spec: ContainerSpec
  readonly image: Image
  readonly createdAt: Date
  state: ContainerState
  exitCode: number | undefined
  hostPort: number | undefined
  logs: Array<string>
  rootfs: Archive.Tree
  /** Completed with the exit code when the current run ends. */
  exited: Deferred.Deferred<number>
  timer: Fiber.RuntimeFiber<void> | undefined
}

interface Volume {
  readonly name: string
  readonly labels: Labels
  readonly createdAt: Date
  tree: Archive.Tree
}

interface Network {
  readonly id: string
  readonly name: string
  readonly labels: Labels
}

const hexId = () => randomBytes(32).toString("hex")

const tagOf = (ref: string): string =>
  ImageRef.isImageRef(ref) ? ImageRef.withDefaultTag(ImageRef.ImageRef.make(ref)) : ref

const notFoundPath = (operation: string, resource: string, path: string) =>
  new DockerError.EngineError({
    operation,
    resource,
    status: 404,
    detail: `Could not find the file ${path} in ${resource}`
  })

/** Where an absolute path of a container lands: a mounted volume, or the container's own files. */
type Location =
  | { readonly _tag: "Volume"; readonly volume: Volume; readonly mount: Mount; readonly rel: string }
  | { readonly _tag: "Rootfs"; readonly rel: string }

/** Marks a failure of the caller's tar stream so it passes through unchanged. */
class Upstream<E> {
  constructor(readonly error: E) {}
}

/** @internal */
export const layer = (options: Options): Layer.Layer<DockerEngine | MemoryEngine> =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const images = new Map<string, Image>()
      const catalog = new Map<string, ImagePreset>()
      const containers = new Map<string, Container>()
      const volumes = new Map<string, Volume>()
      const networks = new Map<string, Network>()
      let faults: Array<Fault & { remaining: number }> = []
      let latencies: Array<{
        operation?: Operation | undefined
        name?: string | undefined
        latency: Duration.Duration
      }> = []
      let exitRules = new Map<string, Run & { readonly exitCode: number }>()
      const calls: Array<Call> = []
      let nextPort = 32768

      const addImage = (preset: ImagePreset) => {
        const tag = tagOf(preset.ref)
        images.set(tag, { preset, tag, id: `sha256:${hexId()}` })
      }
      for (const preset of options.images ?? []) addImage(preset)
      for (const preset of options.catalog ?? []) catalog.set(tagOf(preset.ref), preset)

      const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

      /**
       * Records the call, then waits for latency and fails with an injected fault, if any. A rule's
       * name matches the name given, or for a container also its name or id when given the other.
       */
      const engineCall = (operation: Operation, name: string | undefined) =>
        Effect.gen(function* () {
          calls.push({ operation, name })
          const container = name === undefined ? Option.none() : findContainer(name)
          const names = Option.match(container, {
            onNone: () => [name],
            onSome: (found) => [name, found.spec.name, found.id]
          })
          const hit = (rule: { operation?: Operation | "*" | undefined; name?: string | undefined }) =>
            (rule.operation === undefined || rule.operation === "*" || rule.operation === operation) &&
            (rule.name === undefined || names.includes(rule.name))
          const delay = latencies
            .filter(hit)
            .reduce((sum, rule) => Duration.sum(sum, rule.latency), Duration.zero)
          if (Duration.greaterThan(delay, Duration.zero)) yield* Effect.sleep(delay)
          const fault = faults.find(hit)
          if (fault !== undefined) {
            fault.remaining--
            if (fault.remaining <= 0) faults = faults.filter((f) => f !== fault)
            return yield* Effect.fail(typeof fault.error === "function" ? fault.error(name) : fault.error)
          }
        })

      const findImage = (ref: string) => Option.fromNullable(images.get(tagOf(ref)))
      const requireImage = (ref: string) =>
        Option.match(findImage(ref), {
          onNone: () =>
            Effect.fail(new DockerError.ImageNotFound({ image: ref, detail: `No such image: ${ref}` })),
          onSome: Effect.succeed
        })

      const findContainer = (ref: string): Option.Option<Container> =>
        Option.fromNullable(EngineRules.findContainer(containers.values(), ref))
      const requireContainer = (ref: string) =>
        Option.match(findContainer(ref), {
          onNone: () => Effect.fail(new DockerError.ContainerNotFound({ container: ref })),
          onSome: Effect.succeed
        })
      const requireVolume = (name: string) =>
        Option.match(Option.fromNullable(volumes.get(name)), {
          onNone: () => Effect.fail(new DockerError.VolumeNotFound({ volume: name })),
          onSome: Effect.succeed
        })

      const imageInfo = (image: Image): ImageInfo => ({
        id: image.id,
        tags: [image.tag],
        labels: image.preset.labels ?? {},
        sizeBytes: image.preset.sizeBytes ?? 0
      })

      const containerInfo = (container: Container): ContainerInfo => ({
        id: container.id,
        name: container.spec.name,
        image: container.spec.image,
        labels: container.spec.labels,
        state: container.state,
        exitCode: container.state === "exited" ? container.exitCode : undefined,
        createdAt: container.createdAt,
        ports:
          container.hostPort === undefined || container.spec.publish === undefined
            ? []
            : [{ containerPort: container.spec.publish, hostIp: "127.0.0.1", hostPort: container.hostPort }],
        mounts: container.spec.mounts ?? [],
        security: {
          privileged: false,
          networkMode: container.spec.network ?? "bridge",
          capDrop: ["ALL"],
          capAdd: (container.spec.capAdd ?? []).map((capability) => capability.replace(/^CAP_/, "")),
          securityOpt: ["no-new-privileges"],
          memoryBytes: container.spec.limits?.memoryBytes ?? 0,
          pidsLimit: container.spec.limits?.pids ?? 0,
          nanoCpus: container.spec.limits?.nanoCpus ?? 0
        }
      })

      /** Ends the current run of a running container. */
      const exitContainer = (container: Container, exitCode: number) =>
        Effect.gen(function* () {
          if (container.state !== "running") return
          container.state = "exited"
          container.exitCode = exitCode
          container.hostPort = undefined
          const timer = container.timer
          container.timer = undefined
          yield* Deferred.succeed(container.exited, exitCode)
          if (timer !== undefined) yield* Fiber.interruptFork(timer)
        })

      const locate = (container: Container, absolute: string): Location => {
        const rel = Option.getOrElse(Archive.relativePath(absolute), () => "")
        let best: { mount: Mount; rel: string; length: number } | undefined
        for (const mount of container.spec.mounts ?? []) {
          const target = Option.getOrElse(Archive.relativePath(mount.target), () => "")
          if (rel === target || rel.startsWith(`${target}/`)) {
            if (best === undefined || target.length > best.length) {
              best = { mount, rel: rel === target ? "" : rel.slice(target.length + 1), length: target.length }
            }
          }
        }
        const volume = best === undefined ? undefined : volumes.get(best.mount.volume)
        return best !== undefined && volume !== undefined
          ? { _tag: "Volume", volume, mount: best.mount, rel: best.rel }
          : { _tag: "Rootfs", rel }
      }

      const treeAt = (container: Container, location: Location) =>
        location._tag === "Volume" ? location.volume.tree : container.rootfs

      /** The tree seen below `absolute` in a container, mounts laid over its own files. */
      const viewOf = (container: Container, absolute: string): Archive.Tree => {
        const location = locate(container, absolute)
        let view = Archive.subtree(treeAt(container, location), location.rel)
        const base = Option.getOrElse(Archive.relativePath(absolute), () => "")
        for (const mount of container.spec.mounts ?? []) {
          const target = Option.getOrElse(Archive.relativePath(mount.target), () => "")
          const volume = volumes.get(mount.volume)
          if (volume === undefined || target === base || !(base === "" || target.startsWith(`${base}/`)))
            continue
          const below = base === "" ? target : target.slice(base.length + 1)
          view = Archive.put(Archive.remove(view, below), below, volume.tree)
        }
        return view
      }

      const isDirectory = (tree: Archive.Tree, rel: string) =>
        Option.exists(Archive.get(tree, rel), (node) => node._tag === "Directory")

      /** Reads the caller's tar into a tree; a bad archive is the engine's 400, a failing stream its own error. */
      const readTar = <E>(
        operation: string,
        resource: string,
        tar: Stream.Stream<Uint8Array, E>
      ): Effect.Effect<Archive.Tree, E | DockerError.EngineError> =>
        Archive.fromTar(Stream.mapError(tar, (error) => new Upstream(error))).pipe(
          Effect.catchAll(
            (error): Effect.Effect<never, E | DockerError.EngineError> =>
              error instanceof Upstream
                ? Effect.fail(error.error as E)
                : Effect.fail(
                    new DockerError.EngineError({ operation, resource, status: 400, detail: error.message })
                  )
          )
        )

      /** The archive of `rel` in `tree` as Docker lays it out: under `base`, the basename (none for `/`). */
      const archiveOf = (tree: Archive.Tree, rel: string, base: string, below: Archive.Tree) =>
        Option.map(Archive.get(tree, rel), (node): Archive.Tree => {
          if (base === "") return below
          return node._tag === "Directory"
            ? Archive.put(new Map([[base, node]]), base, below)
            : new Map([[base, node]])
        })

      const engine: DockerEngine.Service = {
        address: "memory://",
        ping: engineCall("ping", undefined),
        version: Effect.as(engineCall("version", undefined), {
          engine: "memory",
          version: "0.1.0",
          apiVersion: "1.41",
          os: process.platform,
          arch: process.arch
        }),

        listImages: (labels) =>
          Effect.gen(function* () {
            yield* Validation.labels("labels", labels)
            yield* engineCall("listImages", undefined)
            return [...images.values()]
              .filter((image) => EngineRules.matchesLabels(image.preset.labels ?? {}, labels))
              .map(imageInfo)
          }),
        inspectImage: (image) =>
          Effect.gen(function* () {
            yield* Validation.image("image", image)
            yield* engineCall("inspectImage", image)
            return imageInfo(yield* requireImage(image))
          }),
        imageExists: (image) =>
          Effect.gen(function* () {
            yield* Validation.image("image", image)
            yield* engineCall("imageExists", image)
            return Option.isSome(findImage(image))
          }),
        pull: (image) =>
          Stream.unwrap(
            Effect.gen(function* () {
              yield* Validation.image("image", image)
              yield* engineCall("pull", image)
              const tag = tagOf(image)
              if (images.has(tag)) {
                return Stream.make<Array<PullProgress>>({
                  image,
                  layer: undefined,
                  status: `Status: Image is up to date for ${tag}`,
                  current: undefined,
                  total: undefined
                })
              }
              const preset = catalog.get(tag)
              if (preset === undefined) {
                return Stream.fail(
                  new DockerError.PullFailed({ image, detail: "not in the memory engine's catalog" })
                )
              }
              const total = preset.sizeBytes ?? 1024
              const event = (layer: string | undefined, status: string, current?: number): PullProgress => ({
                image,
                layer,
                status,
                current,
                total: current === undefined ? undefined : total
              })
              return Stream.concat(
                Stream.make(
                  event(
                    undefined,
                    `Pulling from ${ImageRef.parts(ImageRef.ImageRef.make(image)).repository}`
                  ),
                  event("layer0", "Pulling fs layer"),
                  event("layer0", "Downloading", Math.floor(total / 2)),
                  event("layer0", "Downloading", total),
                  event("layer0", "Pull complete"),
                  event(undefined, `Status: Downloaded newer image for ${tag}`)
                ),
                Stream.execute(Effect.sync(() => addImage(preset)))
              )
            })
          ),
        removeImage: (image) =>
          Effect.gen(function* () {
            yield* Validation.image("image", image)
            yield* engineCall("removeImage", image)
            const found = yield* requireImage(image)
            yield* EngineRules.imageUnused(
              containers.values(),
              image,
              (container) => container.image.id === found.id
            )
            images.delete(found.tag)
          }),

        createContainer: (spec) =>
          Effect.gen(function* () {
            yield* Validation.containerSpec(spec)
            yield* engineCall("createContainer", spec.name)
            yield* EngineRules.nameFree(containers.values(), spec.name)
            const image = yield* requireImage(spec.image)
            for (const mount of spec.mounts ?? []) yield* requireVolume(mount.volume)
            let rootfs = image.preset.files ?? Archive.make({ tmp: Archive.directory() })
            for (const mount of spec.mounts ?? []) {
              const target = Option.getOrElse(Archive.relativePath(mount.target), () => "")
              rootfs = Archive.put(rootfs, target, new Map())
            }
            const container: Container = {
              id: hexId(),
              spec,
              image,
              createdAt: yield* now,
              state: "created",
              exitCode: 0,
              hostPort: undefined,
              logs: [],
              rootfs,
              exited: yield* Deferred.make<number>(),
              timer: undefined
            }
            containers.set(container.id, container)
            return container.id
          }),
        startContainer: (ref) =>
          Effect.gen(function* () {
            yield* Validation.name("container", ref)
            yield* engineCall("startContainer", ref)
            const container = yield* requireContainer(ref)
            if (container.state === "running") return
            const network = container.spec.network
            if (
              network !== undefined &&
              !EngineRules.isPredefinedNetwork(network) &&
              !networks.has(network)
            ) {
              return yield* new DockerError.NetworkNotFound({ network })
            }
            container.state = "running"
            container.exitCode = undefined
            container.exited = yield* Deferred.make<number>()
            if (container.spec.publish !== undefined) container.hostPort = nextPort++
            const run: Run = {
              ...container.image.preset.run?.({
                name: container.spec.name,
                env: container.spec.env ?? {},
                cmd: container.spec.cmd ?? []
              }),
              ...exitRules.get(container.spec.name)
            }
            container.logs.push(...(run.logs ?? []))
            const exitCode = run.exitCode
            if (exitCode !== undefined) {
              // Exits just after start returns, as a real process would.
              const after = Duration.decode(run.after ?? 0)
              container.timer = yield* Effect.forkIn(
                Effect.zipRight(
                  Duration.greaterThan(after, Duration.zero) ? Effect.sleep(after) : Effect.yieldNow(),
                  Effect.suspend(() => exitContainer(container, exitCode))
                ),
                scope
              )
            }
          }),
        inspectContainer: (ref) =>
          Effect.gen(function* () {
            yield* Validation.name("container", ref)
            yield* engineCall("inspectContainer", ref)
            return containerInfo(yield* requireContainer(ref))
          }),
        listContainers: (labels) =>
          Effect.gen(function* () {
            yield* Validation.labels("labels", labels)
            yield* engineCall("listContainers", undefined)
            return [...containers.values()]
              .filter((c) => EngineRules.matchesLabels(c.spec.labels, labels))
              .map(containerInfo)
          }),
        waitContainer: (ref) =>
          Effect.gen(function* () {
            yield* Validation.name("container", ref)
            yield* engineCall("waitContainer", ref)
            const container = yield* requireContainer(ref)
            if (container.state !== "running") return container.exitCode ?? 0
            return yield* Deferred.await(container.exited)
          }),
        logs: (ref, { tail }) =>
          Effect.gen(function* () {
            yield* Validation.name("container", ref)
            yield* engineCall("logs", ref)
            const container = yield* requireContainer(ref)
            const lines = tail <= 0 ? [] : container.logs.slice(-tail)
            return lines.map((line) => `${line}\n`).join("")
          }),
        removeContainer: (ref) =>
          Effect.gen(function* () {
            yield* Validation.name("container", ref)
            yield* engineCall("removeContainer", ref)
            const container = yield* requireContainer(ref)
            // Force removal kills the process: SIGKILL, as Docker reports it.
            yield* exitContainer(container, 137)
            containers.delete(container.id)
          }),

        createVolume: ({ name, labels }) =>
          Effect.gen(function* () {
            yield* Validation.name("name", name)
            yield* Validation.labels("labels", labels)
            yield* engineCall("createVolume", name)
            // Docker answers a create of an existing volume with that volume, labels unchanged.
            if (!volumes.has(name))
              volumes.set(name, { name, labels, createdAt: yield* now, tree: new Map() })
          }),
        listVolumes: (labels) =>
          Effect.gen(function* () {
            yield* Validation.labels("labels", labels)
            yield* engineCall("listVolumes", undefined)
            return [...volumes.values()]
              .filter((volume) => EngineRules.matchesLabels(volume.labels, labels))
              .map(({ name, labels, createdAt }) => ({ name, labels, createdAt }))
          }),
        removeVolume: (name) =>
          Effect.gen(function* () {
            yield* Validation.name("volume", name)
            yield* engineCall("removeVolume", name)
            yield* requireVolume(name)
            yield* EngineRules.volumeUnused(containers.values(), name)
            volumes.delete(name)
          }),

        ensureNetwork: ({ name, labels }) =>
          Effect.gen(function* () {
            yield* Validation.name("name", name)
            yield* Validation.labels("labels", labels)
            yield* engineCall("ensureNetwork", name)
            const existing = networks.get(name)
            if (existing !== undefined) return existing
            const created: Network = { id: hexId(), name, labels }
            networks.set(name, created)
            return created
          }),
        listNetworks: (labels) =>
          Effect.gen(function* () {
            yield* Validation.labels("labels", labels)
            yield* engineCall("listNetworks", undefined)
            return [...networks.values()].filter((network) =>
              EngineRules.matchesLabels(network.labels, labels)
            )
          }),
        removeNetwork: (name) =>
          Effect.gen(function* () {
            yield* Validation.name("network", name)
            yield* engineCall("removeNetwork", name)
            if (!networks.has(name)) return yield* new DockerError.NetworkNotFound({ network: name })
            yield* EngineRules.networkUnused(containers.values(), name, (c) => c.state === "running")
            networks.delete(name)
          }),

        putArchive: (target, path, tar) =>
          Effect.gen(function* () {
            const absolute = yield* Validation.archive(target, path)
            const name = target._tag === "Container" ? target.container : target.volume
            yield* engineCall("putArchive", name)
            if (target._tag === "Volume") {
              const volume = yield* requireVolume(target.volume)
              yield* requireImage(target.image)
              const rel = Option.getOrElse(Archive.relativePath(absolute), () => "")
              if (!isDirectory(volume.tree, rel))
                return yield* notFoundPath("putArchive", `volume ${name}`, absolute)
              const entries = yield* readTar("putArchive", name, tar)
              volume.tree = Archive.put(volume.tree, rel, entries)
              return
            }
            const container = yield* requireContainer(target.container)
            const location = locate(container, absolute)
            if (!isDirectory(treeAt(container, location), location.rel)) {
              return yield* notFoundPath("putArchive", `container ${name}`, absolute)
            }
            const entries = yield* readTar("putArchive", name, tar)
            const placed = [...entries].map(([key, node]) => {
              const at = posix.join(absolute, key)
              return { at: locate(container, at), node }
            })
            if (placed.some(({ at }) => at._tag === "Volume" && at.mount.readOnly)) {
              return yield* new DockerError.EngineError({
                operation: "putArchive",
                resource: name,
                status: 500,
                detail: "mounted volume is marked read-only"
              })
            }
            for (const { at, node } of placed) {
              if (at.rel === "") continue
              const parent = posix.dirname(at.rel)
              const single = new Map([[posix.basename(at.rel), node]])
              if (at._tag === "Volume")
                at.volume.tree = Archive.put(at.volume.tree, parent === "." ? "" : parent, single)
              else container.rootfs = Archive.put(container.rootfs, parent === "." ? "" : parent, single)
            }
          }),
        getArchive: (target, path) =>
          Stream.unwrap(
            Effect.gen(function* () {
              const absolute = yield* Validation.archive(target, path)
              const name = target._tag === "Container" ? target.container : target.volume
              yield* engineCall("getArchive", name)
              const rel = Option.getOrElse(Archive.relativePath(absolute), () => "")
              if (target._tag === "Volume") {
                const volume = yield* requireVolume(target.volume)
                yield* requireImage(target.image)
                const base = rel === "" ? volume.name : posix.basename(rel)
                const tree = archiveOf(volume.tree, rel, base, Archive.subtree(volume.tree, rel))
                if (Option.isNone(tree)) return yield* notFoundPath("getArchive", `volume ${name}`, absolute)
                return Archive.toTar(tree.value)
              }
              const container = yield* requireContainer(target.container)
              const location = locate(container, absolute)
              const tree = archiveOf(
                treeAt(container, location),
                location.rel,
                posix.basename(rel),
                viewOf(container, absolute)
              )
              if (Option.isNone(tree)) return yield* notFoundPath("getArchive", `container ${name}`, absolute)
              return Archive.toTar(tree.value)
            })
          )
      }

      const control: MemoryEngine.Service = {
        fail: (fault) =>
          Effect.sync(
            () => void faults.push({ ...fault, remaining: fault.times ?? Number.POSITIVE_INFINITY })
          ),
        addLatency: ({ operation, name, latency }) =>
          Effect.sync(() => void latencies.push({ operation, name, latency: Duration.decode(latency) })),
        exitAfterStart: (container, run) => Effect.sync(() => void exitRules.set(container, run)),
        reset: Effect.sync(() => {
          faults = []
          latencies = []
          exitRules = new Map()
        }),
        exit: (ref, exitCode, logs = []) =>
          Effect.flatMap(requireContainer(ref), (container) =>
            Effect.suspend(() => {
              container.logs.push(...logs)
              return exitContainer(container, exitCode)
            })
          ),
        appendLogs: (ref, lines) =>
          Effect.map(requireContainer(ref), (container) => void container.logs.push(...lines)),
        addImage: (preset) => Effect.sync(() => addImage(preset)),
        readVolume: (name) => Effect.map(requireVolume(name), (volume) => volume.tree),
        writeVolume: (name, path, entries) =>
          Effect.map(requireVolume(name), (volume) => {
            volume.tree = Archive.put(
              volume.tree,
              Option.getOrElse(Archive.relativePath(path), () => ""),
              entries
            )
          }),
        calls: Effect.sync(() => [...calls])
      }

      return Context.make(DockerEngine, engine).pipe(Context.add(MemoryEngine, control))
    })
  )
