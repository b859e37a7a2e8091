/**
 * Warm pools: ready sets of containers and volumes, kept between runs of the same pipeline so a
 * run costs what its work costs, not what starting containers costs.
 *
 * ```ts
 * const pool = yield* Pool.Pool
 * const first = yield* pool.run(spec, { output: "out-1" }) // starts a set (cold), gives it back
 * const again = yield* pool.run(spec, { output: "out-2" }) // the same set
 * ```
 *
 * A set belongs to one key (`Pool.Key`, docs/serve.md): what its containers are made of and the
 * template it holds. A run takes an idle set of its key that is still running and answering
 * (one that is not is replaced; one given back less than `checkAfter` ago is not probed), or
 * starts one exactly as `Orchestrator.pipeline` would; works in fresh directories of the set's
 * area, whose files go through the merger's file endpoints when it has them; exports; and answers. Its directories are then turned into
 * empty files and the set given back, while the caller goes on (a run of the same key waits for a
 * set on its way back rather than start another). A set whose run failed or was interrupted is removed, never reused. One run holds
 * a set at a time: concurrent runs of one key get distinct sets. At most `maxSets` sets exist at
 * once (a run waits for one, or replaces another key's idle set); idle sets are removed after
 * `idleTtl`; closing the pool's scope removes every set. A spec with `options.keep` runs outside
 * the pool, as `pipeline` does.
 *
 * @since 0.3.0
 */
import type { ContainerEngine } from "@armada/engine"
import type { ProcessorClient } from "@armada/http"
import { Context, type Duration, type Effect, Layer, type Scope } from "effect"
import * as internal from "./internal/pool.js"
import * as key from "./internal/poolKey.js"
import type * as Orchestrator from "./Orchestrator.js"
import type { StageFailed } from "./OrchestratorError.js"
import type { Spec } from "./Spec.js"

/**
 * @since 0.3.0
 * @category models
 */
export interface Options {
  /** At most this many sets at once, idle or busy; default 4. */
  readonly maxSets?: number | undefined
  /** An idle set unused this long is removed; default 10 minutes. */
  readonly idleTtl?: Duration.DurationInput | undefined
  /** How long each container of an idle set may take to answer its check before reuse; default 5 s. */
  readonly checkTimeout?: Duration.DurationInput | undefined
  /**
   * An idle set given back less than this long ago is checked only for its containers still
   * running, not probed: the run that gave it back has just had an answer from every container it
   * called. Default 5 s; 0 probes always.
   */
  readonly checkAfter?: Duration.DurationInput | undefined
}

/**
 * What makes two specs' sets interchangeable, as a digest; `template` is the digest of the
 * template's content, `images` the images its sets run.
 *
 * @since 0.3.0
 * @category models
 */
export type Key = key.Key

/**
 * A run through the pool: its `Summary` (`durations.warm` is how long it waited for its set, and
 * took it or started it; `start` is 0), and which set it ran on (`undefined` for a `keep` run).
 *
 * @since 0.3.0
 * @category models
 */
export interface Run extends Orchestrator.Summary {
  readonly pool: { readonly key: string; readonly set: string; readonly reused: boolean } | undefined
}

/**
 * @since 0.3.0
 * @category models
 */
export interface SetInfo {
  readonly key: string
  /** The set's session id: its containers' and volumes' names and `<prefix>.session` label. */
  readonly id: string
  readonly templateId: string
  readonly images: ReadonlyArray<string>
  readonly status: "idle" | "busy"
  /** Runs it finished and was given back after. */
  readonly uses: number
  readonly containers: number
  readonly createdAt: Date
  readonly lastUsed: Date
}

/**
 * Counters since the pool was made: runs that got an idle set (`hits`) or started one
 * (`misses`), idle sets that failed their check (`replaced`), sets removed after a failed run
 * (`discarded`) or for idling (`expired`), and the sets that exist now or are starting (`live`).
 *
 * @since 0.3.0
 * @category models
 */
export interface Stats {
  readonly hits: number
  readonly misses: number
  readonly replaced: number
  readonly discarded: number
  readonly expired: number
  readonly live: number
}

/**
 * @since 0.3.0
 * @category models
 */
export declare namespace Pool {
  /**
   * @since 0.3.0
   * @category models
   */
  export interface Service {
    readonly maxSets: number
    /** Runs the pipeline on a set of the spec's key; fails as `Orchestrator.pipeline` does. */
    readonly run: (spec: Spec, options: Orchestrator.ExportOptions) => Effect.Effect<Run, StageFailed>
    /** Every set, idle ones first (least recently used first), then busy ones. */
    readonly sets: Effect.Effect<ReadonlyArray<SetInfo>>
    /** Removes the idle sets of `key` now and its busy ones when their runs end; how many went now. */
    readonly remove: (key: string) => Effect.Effect<number>
    readonly stats: Effect.Effect<Stats>
  }
}

/**
 * @since 0.3.0
 * @category tags
 */
export class Pool extends Context.Tag("@armada/orchestrator/Pool")<Pool, Pool.Service>() {}

/**
 * A pool living in the current scope: closing it removes every set.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make: (
  options?: Options
) => Effect.Effect<Pool.Service, never, ContainerEngine | ProcessorClient | Scope.Scope> = internal.make

/**
 * @since 0.3.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<Pool, never, ContainerEngine | ProcessorClient> =>
  Layer.scoped(Pool, make(options))

/**
 * The key of a spec's sets (it reads the template to digest it).
 *
 * @since 0.3.0
 * @category constructors
 */
export const keyOf: (spec: Spec) => Effect.Effect<Key, StageFailed> = key.keyOf
