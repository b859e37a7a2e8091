/**
 * The one service through which armada touches containers, images, volumes and networks, whatever
 * engine runs them: `@armada/docker` speaks to a Docker engine, `@armada/local` runs containers
 * as local processes, and `MemoryEngine` keeps everything in memory for fast tests. Each builds
 * its service with `ContainerEngine.make`, which validates the input and traces every operation,
 * and one conformance suite (`@armada/testkit`) holds all three to the same behaviour.
 *
 * @since 0.1.0
 */
import type { ImageRef } from "@armada/core"
import { Context, type Effect, type Stream } from "effect"
import type * as ContainerEngineError from "./ContainerEngineError.js"
import * as internal from "./internal/containerEngine.js"
import type { SecurityProfile } from "./SecurityProfile.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Labels = Readonly<Record<string, string>>

/**
 * @since 0.1.0
 * @category models
 */
export interface EngineVersion {
  readonly engine: string
  readonly version: string
  readonly apiVersion: string
  readonly os: string
  readonly arch: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ImageInfo {
  readonly id: string
  readonly tags: ReadonlyArray<string>
  readonly labels: Labels
  readonly sizeBytes: number
}

/**
 * One line of pull progress, per layer; `current`/`total` are bytes when the engine reports them.
 *
 * @since 0.1.0
 * @category models
 */
export interface PullProgress {
  readonly image: string
  readonly layer: string | undefined
  readonly status: string
  readonly current: number | undefined
  readonly total: number | undefined
}

/**
 * A volume mounted into a container.
 *
 * @since 0.1.0
 * @category models
 */
export interface Mount {
  readonly volume: string
  readonly target: string
  readonly readOnly: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ResourceLimits {
  readonly memoryBytes?: number | undefined
  readonly nanoCpus?: number | undefined
  readonly pids?: number | undefined
}

/**
 * What to create. Containers are never privileged and never on the host network; they run with
 * `no-new-privileges` and every capability dropped but those of their `security` profile
 * (`SecurityProfile`; absent: `default`) and those in `capAdd`. `publish` is a container port
 * published on `127.0.0.1` with an ephemeral host port.
 *
 * @since 0.1.0
 * @category models
 */
export interface ContainerSpec {
  readonly name: string
  readonly image: ImageRef.ImageRef
  readonly cmd?: ReadonlyArray<string> | undefined
  readonly env?: Readonly<Record<string, string>> | undefined
  readonly labels: Labels
  readonly mounts?: ReadonlyArray<Mount> | undefined
  readonly network?: string | undefined
  readonly publish?: number | undefined
  readonly limits?: ResourceLimits | undefined
  readonly security?: SecurityProfile | undefined
  readonly capAdd?: ReadonlyArray<string> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export type ContainerState = "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead"

/**
 * @since 0.1.0
 * @category models
 */
export interface PortBinding {
  readonly containerPort: number
  readonly hostIp: string
  readonly hostPort: number
}

/**
 * The security-relevant settings of a container as the engine reports them, so tests can assert
 * isolation through inspect.
 *
 * @since 0.1.0
 * @category models
 */
export interface ContainerSecurity {
  readonly privileged: boolean
  readonly networkMode: string
  readonly capDrop: ReadonlyArray<string>
  readonly capAdd: ReadonlyArray<string>
  readonly securityOpt: ReadonlyArray<string>
  readonly memoryBytes: number
  readonly pidsLimit: number
  readonly nanoCpus: number
}

/**
 * What a listing says of a container: enough to find, group and remove it. Docker answers a list
 * with these in one request; the rest (`ContainerInfo`) takes an inspect per container.
 *
 * @since 0.4.0
 * @category models
 */
export interface ContainerSummary {
  readonly id: string
  readonly name: string
  readonly image: string
  readonly labels: Labels
  readonly state: ContainerState
  /** Set once the container has exited (Docker's list does not say it for a `dead` one). */
  readonly exitCode: number | undefined
  /** To the second at least (Docker lists it in whole seconds). */
  readonly createdAt: Date
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ContainerInfo extends ContainerSummary {
  readonly ports: ReadonlyArray<PortBinding>
  readonly mounts: ReadonlyArray<Mount>
  readonly security: ContainerSecurity
}

/**
 * @since 0.1.0
 * @category models
 */
export interface VolumeInfo {
  readonly name: string
  readonly labels: Labels
  readonly createdAt: Date
}

/**
 * @since 0.1.0
 * @category models
 */
export interface NetworkInfo {
  readonly id: string
  readonly name: string
  readonly labels: Labels
}

/**
 * Where an archive goes to or comes from. A volume is reached through a short-lived container of
 * `image` (created, never started) that mounts it, so a remote engine works like a local one.
 *
 * @since 0.1.0
 * @category models
 */
export type ArchiveTarget =
  | { readonly _tag: "Container"; readonly container: string }
  | { readonly _tag: "Volume"; readonly volume: string; readonly image: ImageRef.ImageRef }

/**
 * What an engine can do beyond the operations every engine has.
 *
 * @since 0.3.0
 * @category models
 */
export interface Capabilities {
  /**
   * `putArchive` and `getArchive` reach a container's and a volume's files. An engine without it
   * (a cluster whose manager cannot reach another node's files, Kubernetes) says `false`, and
   * armada moves files through its merger container instead (docs/scale-out.md, 1.1).
   */
  readonly archiveApi: boolean
}

/**
 * The engine's `capabilities`; an engine that states none has every one (`archiveApi: true`).
 *
 * @since 0.3.0
 * @category getters
 */
export const capabilitiesOf = (engine: ContainerEngine.Service): Capabilities =>
  engine.capabilities ?? { archiveApi: true }

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace ContainerEngine {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** Where the engine is, for messages (`unix:///var/run/docker.sock`, `tcp://…`, `local:…`). */
    readonly address: string
    /** What the engine can do; absent means everything (`capabilitiesOf`). */
    readonly capabilities?: Capabilities | undefined
    readonly ping: Effect.Effect<void, ContainerEngineError.ContainerEngineError>
    readonly version: Effect.Effect<EngineVersion, ContainerEngineError.ContainerEngineError>

    readonly listImages: (
      labels?: Labels
    ) => Effect.Effect<ReadonlyArray<ImageInfo>, ContainerEngineError.ContainerEngineError>
    readonly inspectImage: (
      image: ImageRef.ImageRef
    ) => Effect.Effect<ImageInfo, ContainerEngineError.ContainerEngineError>
    readonly imageExists: (
      image: ImageRef.ImageRef
    ) => Effect.Effect<boolean, ContainerEngineError.ContainerEngineError>
    /** Progress events until the image is present; an `error` inside the stream fails it. */
    readonly pull: (
      image: ImageRef.ImageRef
    ) => Stream.Stream<PullProgress, ContainerEngineError.ContainerEngineError>
    readonly removeImage: (
      image: ImageRef.ImageRef
    ) => Effect.Effect<void, ContainerEngineError.ContainerEngineError>

    /** Creates a container and returns its id. */
    readonly createContainer: (
      spec: ContainerSpec
    ) => Effect.Effect<string, ContainerEngineError.ContainerEngineError>
    readonly startContainer: (
      container: string
    ) => Effect.Effect<void, ContainerEngineError.ContainerEngineError>
    readonly inspectContainer: (
      container: string
    ) => Effect.Effect<ContainerInfo, ContainerEngineError.ContainerEngineError>
    /** Every container carrying `labels`, in one request where the engine allows it. */
    readonly listContainers: (
      labels?: Labels
    ) => Effect.Effect<ReadonlyArray<ContainerSummary>, ContainerEngineError.ContainerEngineError>
    /** Waits until the container exits and returns its exit code. */
    readonly waitContainer: (
      container: string
    ) => Effect.Effect<number, ContainerEngineError.ContainerEngineError>
    /** The last `tail` lines of stdout and stderr, interleaved. */
    readonly logs: (
      container: string,
      options: { readonly tail: number }
    ) => Effect.Effect<string, ContainerEngineError.ContainerEngineError>
    /** Kills (when running) and removes the container. */
    readonly removeContainer: (
      container: string
    ) => Effect.Effect<void, ContainerEngineError.ContainerEngineError>

    readonly createVolume: (options: {
      readonly name: string
      readonly labels: Labels
    }) => Effect.Effect<void, ContainerEngineError.ContainerEngineError>
    readonly listVolumes: (
      labels?: Labels
    ) => Effect.Effect<ReadonlyArray<VolumeInfo>, ContainerEngineError.ContainerEngineError>
    readonly removeVolume: (volume: string) => Effect.Effect<void, ContainerEngineError.ContainerEngineError>

    /** Creates the bridge network unless it exists; concurrent calls for one name create one. */
    readonly ensureNetwork: (options: {
      readonly name: string
      readonly labels: Labels
    }) => Effect.Effect<NetworkInfo, ContainerEngineError.ContainerEngineError>
    readonly listNetworks: (
      labels?: Labels
    ) => Effect.Effect<ReadonlyArray<NetworkInfo>, ContainerEngineError.ContainerEngineError>
    readonly removeNetwork: (
      network: string
    ) => Effect.Effect<void, ContainerEngineError.ContainerEngineError>

    /**
     * Extracts a tar stream into the directory `path` inside the target (it must exist). For a
     * `Volume` target `path` is relative to the volume's root (`/` is the root). A failure of
     * `tar` itself fails the operation with that same error.
     */
    readonly putArchive: <E = never>(
      target: ArchiveTarget,
      path: string,
      tar: Stream.Stream<Uint8Array, E>
    ) => Effect.Effect<void, ContainerEngineError.ContainerEngineError | E>
    /**
     * `path` inside the target as a tar stream; its entries are relative to `path`'s parent, as
     * Docker gives them (`/a/b` gives `b/`, `b/…`; a `Volume` root gives `<volume>/…`).
     */
    readonly getArchive: (
      target: ArchiveTarget,
      path: string
    ) => Stream.Stream<Uint8Array, ContainerEngineError.ContainerEngineError>
  }

  /**
   * The operations on containers, which an engine implements in a module of its own.
   *
   * @since 0.3.0
   * @category models
   */
  export type ContainerOperations = Pick<
    Service,
    | "createContainer"
    | "startContainer"
    | "inspectContainer"
    | "listContainers"
    | "waitContainer"
    | "logs"
    | "removeContainer"
  >
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ContainerEngine extends Context.Tag("@armada/engine/ContainerEngine")<
  ContainerEngine,
  ContainerEngine.Service
>() {
  /**
   * The service every engine hands out, from what the engine itself does: each operation first
   * refuses bad input with an `InputError` naming the field (the engine is not called then; it
   * gets the normalised archive path), and runs in one span `ContainerEngine.<operation>` carrying
   * the engine's address and the resource it is about.
   *
   * @since 0.1.0
   * @category constructors
   */
  static readonly make = (impl: ContainerEngine.Service): ContainerEngine.Service => ({
    ...internal.make(impl),
    capabilities: impl.capabilities
  })
}
