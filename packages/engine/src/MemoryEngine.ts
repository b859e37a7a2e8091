/**
 * An in-memory `ContainerEngine` with the observable behaviour of Docker (unique names, 404 and
 * 409 where Docker gives them, label filters, the created → running → exited state machine,
 * archive put/get on an in-memory file tree per volume) for tests that must run in milliseconds,
 * plus the `MemoryEngine` control service to script it: inject faults and latency, make
 * containers exit, read and write volume trees directly.
 *
 * Containers run no process. What a container "does" comes from its image's `run` behaviour (log
 * lines, an exit code) and from `exitAfterStart` rules; a published port gets a host port number
 * but nothing answers on it.
 *
 * @since 0.1.0
 */
import { Context, type Duration, type Effect, type Layer } from "effect"
import type * as Archive from "./Archive.js"
import type { ContainerEngine, Labels } from "./ContainerEngine.js"
import type * as ContainerEngineError from "./ContainerEngineError.js"
import * as internal from "./internal/memoryEngine.js"

/**
 * An operation of the service, by its method name.
 *
 * @since 0.1.0
 * @category models
 */
export type Operation = Exclude<keyof ContainerEngine.Service, "address">

/**
 * What a container of an image does when started: log lines, and an exit code if it exits on
 * its own (after `after`, default at once); a container that does not exit keeps running until
 * removed.
 *
 * @since 0.1.0
 * @category models
 */
export interface Run {
  readonly logs?: ReadonlyArray<string> | undefined
  readonly exitCode?: number | undefined
  readonly after?: Duration.DurationInput | undefined
}

/**
 * An image the engine has (or can pull, in `catalog`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ImagePreset {
  readonly ref: string
  readonly labels?: Labels | undefined
  readonly sizeBytes?: number | undefined
  /** The container's root file system; default: an empty `/tmp`. */
  readonly files?: Archive.Tree | undefined
  /** What a started container does, from its environment and command. */
  readonly run?:
    | ((container: {
        readonly name: string
        readonly env: Readonly<Record<string, string>>
        readonly cmd: ReadonlyArray<string>
      }) => Run)
    | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Images present from the start. */
  readonly images?: ReadonlyArray<ImagePreset> | undefined
  /** Images a pull can fetch; pulling anything else fails with `PullFailed`. */
  readonly catalog?: ReadonlyArray<ImagePreset> | undefined
}

/**
 * Fail `operation` (every operation with `"*"`) when it is about `name` (any name when absent):
 * a container or volume name, an image reference, a network name, an archive target's name.
 * `times` limits how often (default: until `reset`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Fault {
  readonly operation: Operation | "*"
  readonly name?: string | undefined
  readonly error:
    | ContainerEngineError.ContainerEngineError
    | ((name: string | undefined) => ContainerEngineError.ContainerEngineError)
  readonly times?: number | undefined
}

/**
 * One call that reached the engine (input that failed validation never does).
 *
 * @since 0.1.0
 * @category models
 */
export interface Call {
  readonly operation: Operation
  readonly name: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace MemoryEngine {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    readonly fail: (fault: Fault) => Effect.Effect<void>
    /** Every matching call waits this long first (on the `Clock`, so `TestClock` drives it). */
    readonly addLatency: (options: {
      readonly operation?: Operation | undefined
      readonly name?: string | undefined
      readonly latency: Duration.DurationInput
    }) => Effect.Effect<void>
    /** Every start of the container named `container` ends with `exitCode`, after `logs`. */
    readonly exitAfterStart: (
      container: string,
      run: Run & { readonly exitCode: number }
    ) => Effect.Effect<void>
    /** Drops every fault, latency and exit rule. */
    readonly reset: Effect.Effect<void>
    /** Makes a running container exit now. */
    readonly exit: (
      container: string,
      exitCode: number,
      logs?: ReadonlyArray<string>
    ) => Effect.Effect<void, ContainerEngineError.ContainerNotFound>
    readonly appendLogs: (
      container: string,
      lines: ReadonlyArray<string>
    ) => Effect.Effect<void, ContainerEngineError.ContainerNotFound>
    readonly addImage: (image: ImagePreset) => Effect.Effect<void>
    readonly readVolume: (volume: string) => Effect.Effect<Archive.Tree, ContainerEngineError.VolumeNotFound>
    /** Writes `entries` below `path` (`/` is the root) of the volume, as a processor would. */
    readonly writeVolume: (
      volume: string,
      path: string,
      entries: Archive.Tree
    ) => Effect.Effect<void, ContainerEngineError.VolumeNotFound>
    /** The calls that reached the engine, oldest first. */
    readonly calls: Effect.Effect<ReadonlyArray<Call>>
  }
}

/**
 * @since 0.1.0
 * @category tags
 */
export class MemoryEngine extends Context.Tag("@armada/engine/MemoryEngine")<
  MemoryEngine,
  MemoryEngine.Service
>() {}

/**
 * A fresh in-memory engine: the `ContainerEngine` and its `MemoryEngine` controls.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (options: Options = {}): Layer.Layer<ContainerEngine | MemoryEngine> =>
  internal.layer(options)
