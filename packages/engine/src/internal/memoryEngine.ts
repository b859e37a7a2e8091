/**
 * The in-memory `ContainerEngine`: the operations on images, containers, volumes and networks
 * over `memoryState`, each first passing the script of `memoryControl` (faults, latency).
 *
 * @internal
 */
import { ImageRef } from "@armada/core"
import { Clock, Context, Deferred, Duration, Effect, Layer, Option, Stream } from "effect"
import * as Archive from "../Archive.js"
import { ContainerEngine, type PullProgress } from "../ContainerEngine.js"
import * as ContainerEngineError from "../ContainerEngineError.js"
import * as EngineRules from "../EngineRules.js"
import { MemoryEngine, type Options, type Run } from "../MemoryEngine.js"
import * as MemoryArchive from "./memoryArchive.js"
import * as Control from "./memoryControl.js"
import * as State from "./memoryState.js"

const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

/** @internal */
export const layer = (options: Options): Layer.Layer<ContainerEngine | MemoryEngine> =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const state = State.make(options)
      const script = Control.make()
      const engineCall = Control.engineCall(script, state)

      const engine: ContainerEngine.Service = {
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
            yield* engineCall("listImages", undefined)
            return [...state.images.values()]
              .filter((image) => EngineRules.matchesLabels(image.preset.labels ?? {}, labels))
              .map(State.imageInfo)
          }),
        inspectImage: (image) =>
          Effect.gen(function* () {
            yield* engineCall("inspectImage", image)
            return State.imageInfo(yield* State.requireImage(state, image))
          }),
        imageExists: (image) =>
          Effect.gen(function* () {
            yield* engineCall("imageExists", image)
            return Option.isSome(State.findImage(state, image))
          }),
        pull: (image) =>
          Stream.unwrap(
            Effect.gen(function* () {
              yield* engineCall("pull", image)
              const tag = State.tagOf(image)
              if (state.images.has(tag)) {
                return Stream.make<Array<PullProgress>>({
                  image,
                  layer: undefined,
                  status: `Status: Image is up to date for ${tag}`,
                  current: undefined,
                  total: undefined
                })
              }
              const preset = state.catalog.get(tag)
              if (preset === undefined) {
                return Stream.fail(
                  new ContainerEngineError.PullFailed({
                    image,
                    reason: "NotFound",
                    detail: "not in the memory engine's catalog"
                  })
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
                Stream.execute(Effect.sync(() => State.addImage(state, preset)))
              )
            })
          ),
        removeImage: (image) =>
          Effect.gen(function* () {
            yield* engineCall("removeImage", image)
            const found = yield* State.requireImage(state, image)
            yield* EngineRules.imageUnused(
              state.containers.values(),
              image,
              (container) => container.image.id === found.id
            )
            state.images.delete(found.tag)
          }),

        createContainer: (spec) =>
          Effect.gen(function* () {
            yield* engineCall("createContainer", spec.name)
            yield* EngineRules.nameFree(state.containers.values(), spec.name)
            const image = yield* State.requireImage(state, spec.image)
            for (const mount of spec.mounts ?? []) yield* State.requireVolume(state, mount.volume)
            let rootfs = image.preset.files ?? Archive.make({ tmp: Archive.directory() })
            for (const mount of spec.mounts ?? []) {
              rootfs = Archive.put(rootfs, State.relative(mount.target), new Map())
            }
            const container: State.Container = {
              id: State.hexId(),
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
            state.containers.set(container.id, container)
            return container.id
          }),
        startContainer: (ref) =>
          Effect.gen(function* () {
            yield* engineCall("startContainer", ref)
            const container = yield* State.requireContainer(state, ref)
            if (container.state === "running") return
            const network = container.spec.network
            if (
              network !== undefined &&
              !EngineRules.isPredefinedNetwork(network) &&
              !state.networks.has(network)
            ) {
              return yield* new ContainerEngineError.NetworkNotFound({ network })
            }
            container.state = "running"
            container.exitCode = undefined
            container.exited = yield* Deferred.make<number>()
            if (container.spec.publish !== undefined) container.hostPort = state.nextPort++
            const run: Run = {
              ...container.image.preset.run?.({
                name: container.spec.name,
                env: container.spec.env ?? {},
                cmd: container.spec.cmd ?? []
              }),
              ...script.exitRules.get(container.spec.name)
            }
            container.logs.push(...(run.logs ?? []))
            const exitCode = run.exitCode
            if (exitCode !== undefined) {
              // Exits just after start returns, as a real process would.
              const after = Duration.decode(run.after ?? 0)
              container.timer = yield* Effect.forkIn(
                Effect.zipRight(
                  Duration.greaterThan(after, Duration.zero) ? Effect.sleep(after) : Effect.yieldNow(),
                  Effect.suspend(() => State.exitContainer(container, exitCode))
                ),
                scope
              )
            }
          }),
        inspectContainer: (ref) =>
          Effect.gen(function* () {
            yield* engineCall("inspectContainer", ref)
            return State.containerInfo(yield* State.requireContainer(state, ref))
          }),
        listContainers: (labels) =>
          Effect.gen(function* () {
            yield* engineCall("listContainers", undefined)
            return [...state.containers.values()]
              .filter((c) => EngineRules.matchesLabels(c.spec.labels, labels))
              .map(State.containerInfo)
          }),
        waitContainer: (ref) =>
          Effect.gen(function* () {
            yield* engineCall("waitContainer", ref)
            const container = yield* State.requireContainer(state, ref)
            if (container.state !== "running") return container.exitCode ?? 0
            return yield* Deferred.await(container.exited)
          }),
        logs: (ref, { tail }) =>
          Effect.gen(function* () {
            yield* engineCall("logs", ref)
            const container = yield* State.requireContainer(state, ref)
            const lines = tail <= 0 ? [] : container.logs.slice(-tail)
            return lines.map((line) => `${line}\n`).join("")
          }),
        removeContainer: (ref) =>
          Effect.gen(function* () {
            yield* engineCall("removeContainer", ref)
            const container = yield* State.requireContainer(state, ref)
            // Force removal kills the process: SIGKILL, as Docker reports it.
            yield* State.exitContainer(container, 137)
            state.containers.delete(container.id)
          }),

        createVolume: ({ name, labels }) =>
          Effect.gen(function* () {
            yield* engineCall("createVolume", name)
            // Docker answers a create of an existing volume with that volume, labels unchanged.
            if (!state.volumes.has(name))
              state.volumes.set(name, { name, labels, createdAt: yield* now, tree: new Map() })
          }),
        listVolumes: (labels) =>
          Effect.gen(function* () {
            yield* engineCall("listVolumes", undefined)
            return [...state.volumes.values()]
              .filter((volume) => EngineRules.matchesLabels(volume.labels, labels))
              .map(({ name, labels, createdAt }) => ({ name, labels, createdAt }))
          }),
        removeVolume: (name) =>
          Effect.gen(function* () {
            yield* engineCall("removeVolume", name)
            yield* State.requireVolume(state, name)
            yield* EngineRules.volumeUnused(state.containers.values(), name)
            state.volumes.delete(name)
          }),

        ensureNetwork: ({ name, labels }) =>
          Effect.gen(function* () {
            yield* engineCall("ensureNetwork", name)
            const existing = state.networks.get(name)
            if (existing !== undefined) return existing
            const created: State.Network = { id: State.hexId(), name, labels }
            state.networks.set(name, created)
            return created
          }),
        listNetworks: (labels) =>
          Effect.gen(function* () {
            yield* engineCall("listNetworks", undefined)
            return [...state.networks.values()].filter((network) =>
              EngineRules.matchesLabels(network.labels, labels)
            )
          }),
        removeNetwork: (name) =>
          Effect.gen(function* () {
            yield* engineCall("removeNetwork", name)
            if (!state.networks.has(name))
              return yield* new ContainerEngineError.NetworkNotFound({ network: name })
            yield* EngineRules.networkUnused(state.containers.values(), name, (c) => c.state === "running")
            state.networks.delete(name)
          }),

        putArchive: (target, path, tar) => MemoryArchive.put(state, engineCall, target, path, tar),
        getArchive: (target, path) => MemoryArchive.get(state, engineCall, target, path)
      }

      return Context.make(ContainerEngine, ContainerEngine.make(engine)).pipe(
        Context.add(MemoryEngine, Control.control(script, state))
      )
    })
  )
