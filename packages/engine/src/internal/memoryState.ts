/**
 * What the in-memory engine holds: its images, containers, volumes and networks, how they are
 * found (with the errors Docker gives when they are not), and how they are reported.
 *
 * @internal
 */
import { randomBytes } from "node:crypto"
import { ImageRef } from "@armada/core"
import { Deferred, Effect, Fiber, Option } from "effect"
import * as Archive from "../Archive.js"
import type { ContainerInfo, ContainerSpec, ContainerState, ImageInfo, Labels } from "../ContainerEngine.js"
import * as ContainerEngineError from "../ContainerEngineError.js"
import * as EngineRules from "../EngineRules.js"
import type { ImagePreset, Options } from "../MemoryEngine.js"
import * as SecurityProfile from "../SecurityProfile.js"

/** @internal */
export interface Image {
  readonly preset: ImagePreset
  readonly id: string
  readonly tag: string
}

/** @internal */
export interface Container {
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

/** @internal */
export interface Volume {
  readonly name: string
  readonly labels: Labels
  readonly createdAt: Date
  tree: Archive.Tree
}

/** @internal */
export interface Network {
  readonly id: string
  readonly name: string
  readonly labels: Labels
}

/** @internal */
export interface State {
  readonly images: Map<string, Image>
  /** What a pull can fetch. */
  readonly catalog: Map<string, ImagePreset>
  readonly containers: Map<string, Container>
  readonly volumes: Map<string, Volume>
  readonly networks: Map<string, Network>
  nextPort: number
}

/** @internal */
export const hexId = (): string => randomBytes(32).toString("hex")

/**
 * An image reference in the form engines list (`repo` → `repo:latest`).
 *
 * @internal
 */
export const tagOf = (ref: string): string =>
  ImageRef.isImageRef(ref) ? ImageRef.withDefaultTag(ImageRef.ImageRef.make(ref)) : ref

/**
 * A path of a container or volume relative to its root (`""` is the root).
 *
 * @internal
 */
export const relative = (absolute: string): string =>
  Option.getOrElse(Archive.relativePath(absolute), () => "")

/** @internal */
export const addImage = (state: State, preset: ImagePreset): void => {
  const tag = tagOf(preset.ref)
  state.images.set(tag, { preset, tag, id: `sha256:${hexId()}` })
}

/** @internal */
export const make = (options: Options): State => {
  const state: State = {
    images: new Map(),
    catalog: new Map(),
    containers: new Map(),
    volumes: new Map(),
    networks: new Map(),
    nextPort: 32768
  }
  for (const preset of options.images ?? []) addImage(state, preset)
  for (const preset of options.catalog ?? []) state.catalog.set(tagOf(preset.ref), preset)
  return state
}

/** @internal */
export const findImage = (state: State, ref: string): Option.Option<Image> =>
  Option.fromNullable(state.images.get(tagOf(ref)))

/** @internal */
export const requireImage = (
  state: State,
  ref: string
): Effect.Effect<Image, ContainerEngineError.ImageNotFound> =>
  Option.match(findImage(state, ref), {
    onNone: () =>
      Effect.fail(new ContainerEngineError.ImageNotFound({ image: ref, detail: `No such image: ${ref}` })),
    onSome: Effect.succeed
  })

/** @internal */
export const findContainer = (state: State, ref: string): Option.Option<Container> =>
  Option.fromNullable(EngineRules.findContainer(state.containers.values(), ref))

/** @internal */
export const requireContainer = (
  state: State,
  ref: string
): Effect.Effect<Container, ContainerEngineError.ContainerNotFound> =>
  Option.match(findContainer(state, ref), {
    onNone: () => Effect.fail(new ContainerEngineError.ContainerNotFound({ container: ref })),
    onSome: Effect.succeed
  })

/** @internal */
export const requireVolume = (
  state: State,
  name: string
): Effect.Effect<Volume, ContainerEngineError.VolumeNotFound> =>
  Option.match(Option.fromNullable(state.volumes.get(name)), {
    onNone: () => Effect.fail(new ContainerEngineError.VolumeNotFound({ volume: name })),
    onSome: Effect.succeed
  })

/**
 * Ends the current run of a running container.
 *
 * @internal
 */
export const exitContainer = (container: Container, exitCode: number): Effect.Effect<void> =>
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

/** @internal */
export const imageInfo = (image: Image): ImageInfo => ({
  id: image.id,
  tags: [image.tag],
  labels: image.preset.labels ?? {},
  sizeBytes: image.preset.sizeBytes ?? 0
})

/**
 * A container as Docker would report it: confined as the spec asks, never privileged.
 *
 * @internal
 */
export const containerInfo = (container: Container): ContainerInfo => ({
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
    capAdd: SecurityProfile.effective(container.spec),
    securityOpt: ["no-new-privileges"],
    memoryBytes: container.spec.limits?.memoryBytes ?? 0,
    pidsLimit: container.spec.limits?.pids ?? 0,
    nanoCpus: container.spec.limits?.nanoCpus ?? 0
  }
})
