/**
 * The pipeline of PROTOCOL.md as an Effect API: `warm` (network, images, volumes, template),
 * `start` (containers up and ready), `run` (processors in parallel → merge → plugins in order),
 * `exportTo` (the result to a host directory or `.tar.gz`), and `clean` (leftovers, by label).
 * `pipeline` does all four in one scope, so whatever it created is removed on success, failure
 * or interruption (unless `options.keep`).
 *
 * ```ts
 * const summary = yield* Orchestrator.pipeline(spec, { output: "out" })
 * ```
 *
 * Every stage fails with one `StageFailed` carrying every item's typed failure; progress goes to
 * the `Progress` service; each stage and item has a span, and logs carry the session id.
 * Interrupting the fiber that runs an operation ends it at once, whatever it is doing: the
 * operation runs `Interruption.isolated` (`@armada/core`), and returns once its finalizers ran.
 *
 * @since 0.1.0
 */
import {
  type ImageRef,
  type InputError,
  Interruption,
  type Names,
  type Outcome,
  type Parallel
} from "@armada/core"
import type { ContainerEngine, ContainerEngineError } from "@armada/engine"
import type { ProcessorClient, ProcessorError } from "@armada/http"
import { type Effect, flow, type Scope } from "effect"
import * as clean_ from "./internal/clean.js"
import * as export_ from "./internal/export.js"
import * as pipeline_ from "./internal/pipeline.js"
import type * as resources from "./internal/resources.js"
import * as run_ from "./internal/run.js"
import * as start_ from "./internal/start.js"
import * as warm_ from "./internal/warm.js"
import type { StageFailed } from "./OrchestratorError.js"
import type { Spec } from "./Spec.js"

/**
 * A warmed session: its spec and the names of what `warm` created. Valid inside the scope that
 * `warm` ran in; closing that scope removes everything the session created.
 *
 * @since 0.1.0
 * @category models
 */
export interface Session {
  readonly spec: Spec
  /** Unique to this run; everything it creates carries it as the label `<prefix>.run`. */
  readonly runId: string
  readonly network: string
  readonly templateVolume: string
  readonly sessionVolume: string
  /**
   * How the run's files move (docs/scale-out.md, 1.1): `engine`, the engine's archive API;
   * `merger`, the merger container's file endpoints.
   *
   * @since 0.3.0
   */
  readonly files: "engine" | "merger"
  /** @internal */
  readonly labels: resources.RunLabels
}

/**
 * A running container of the session and where to reach it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Container {
  readonly role: Names.Role
  readonly id: Names.Id
  readonly image: ImageRef.ImageRef
  readonly name: string
  /** The engine's container id. */
  readonly containerId: string
  readonly endpoint: ProcessorError.Endpoint
  /** From `start` until its health check answered. */
  readonly readyMillis: number
}

/**
 * A session whose containers are all up and ready.
 *
 * @since 0.1.0
 * @category models
 */
export interface Started {
  readonly session: Session
  /** In declared order. */
  readonly processors: ReadonlyArray<Container>
  /** In declared order. */
  readonly plugins: ReadonlyArray<Container>
  /** In declared order. */
  readonly resolvers: ReadonlyArray<Container>
  readonly merger: Container
}

/**
 * How long one item's work took.
 *
 * @since 0.1.0
 * @category models
 */
export interface ItemTiming {
  readonly id: Names.Id
  readonly durationMillis: number
}

/**
 * What `run` produced: the merge dir (inside the session volume) with the merger's report and
 * every item's duration.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunResult {
  /** `/workspace/area/<uuid>`, as the containers see it. */
  readonly mergeDir: string
  /** How many files the merger wrote. */
  readonly mergedFiles: number
  /**
   * Paths more than one processor wrote: the later one in declared order won, unless a resolver
   * settled it (`resolved`).
   */
  readonly conflicts: ReadonlyArray<string>
  /** The conflicting paths a resolver settled, sorted, each with the resolver's id. */
  readonly resolved: ReadonlyArray<Resolved>
  /** The processors' output dirs, in declared order. */
  readonly outputDirs: ReadonlyArray<string>
  /**
   * Every directory of the area the run made or was answered with (write dirs, output dirs, the
   * merge dir): what a pooled set removes before its next run.
   */
  readonly directories: ReadonlyArray<string>
  /** Each processor's call, in declared order. */
  readonly processors: ReadonlyArray<ItemTiming>
  /** Each plugin's call, in declared order. */
  readonly plugins: ReadonlyArray<ItemTiming>
  /** The wall time of each stage (`plug` is 0 when there are no plugins). */
  readonly durations: { readonly process: number; readonly merge: number; readonly plug: number }
}

/**
 * A conflicting file a resolver settled.
 *
 * @since 0.2.0
 * @category models
 */
export interface Resolved {
  readonly path: string
  readonly resolver: Names.Id
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ExportOptions {
  /** A directory (created; must be empty when it exists), or a file ending in `.tar.gz`/`.tgz`. */
  readonly output: string
}

/**
 * How an output is written: a file ending in `.tar.gz` or `.tgz` (any case) as a gzipped tar, any
 * other path as a directory.
 *
 * @since 0.3.0
 * @category getters
 */
export const exportFormat: (output: string) => ExportFormat = export_.formatOf

/**
 * @since 0.3.0
 * @category models
 */
export type ExportFormat = "directory" | "tar.gz"

/**
 * @since 0.1.0
 * @category models
 */
export interface Exported {
  /** The absolute path written. */
  readonly output: string
  readonly format: ExportFormat
  /** The files exported, relative to the output, sorted. */
  readonly files: ReadonlyArray<string>
}

/**
 * What a whole pipeline did.
 *
 * @since 0.1.0
 * @category models
 */
export interface Summary extends Exported {
  readonly session: Names.Id
  readonly conflicts: ReadonlyArray<string>
  readonly resolved: ReadonlyArray<Resolved>
  /** Every stage's wall time, and the total. */
  readonly durations: {
    readonly warm: number
    readonly start: number
    readonly process: number
    readonly merge: number
    readonly plug: number
    readonly export: number
    readonly total: number
  }
  /** Per item: how long its container took to become ready and its call took. */
  readonly items: ReadonlyArray<{
    readonly role: Names.Role
    readonly id: Names.Id
    readonly image: ImageRef.ImageRef
    readonly readyMillis: number
    readonly durationMillis: number
  }>
}

/**
 * Something armada created on the engine.
 *
 * @since 0.1.0
 * @category models
 */
export type Resource = resources.Resource

/**
 * What `clean` did with each resource it found: `removed`, already `absent`, or (a network still
 * used by another session) `in-use`; failures keep their typed engine error.
 *
 * @since 0.1.0
 * @category models
 */
export type CleanOutcome = Outcome.Outcome<
  Resource,
  resources.Removal,
  ContainerEngineError.ContainerEngineError
>

/**
 * Ensures the network, pulls the images that are missing (in parallel; present ones are skipped),
 * creates the template volume and loads the template into it, and creates the session volume.
 * Everything the session creates from here on carries its labels, and is removed (found by label,
 * in parallel) when the scope closes, however it closes, unless `spec.options.keep`.
 *
 * @since 0.1.0
 * @category operations
 */
export const warm: (spec: Spec) => Effect.Effect<Session, StageFailed, ContainerEngine | Scope.Scope> = flow(
  warm_.warm,
  Interruption.isolated
)

/**
 * Creates and starts every processor, plugin, resolver and merger container (in parallel, at most
 * `concurrency` at a time), then waits for all of them to be ready, in parallel. A container that
 * exits is reported at once with its exit code and log tail.
 *
 * @since 0.1.0
 * @category operations
 */
export const start: (
  session: Session
) => Effect.Effect<Started, StageFailed, ContainerEngine | ProcessorClient> = flow(
  start_.start,
  Interruption.isolated
)

/**
 * Stage 1: every processor in parallel, all failures gathered. Stage 2: the merger, with the
 * output dirs in declared order (or the template when there are no processors), then the
 * conflicting files a resolver's globs match, each settled by its resolver (in parallel under the
 * limit, every failing file reported). Stage 3: the plugins one after another in declared order,
 * stopping at the first failure. A call that fails because its container exited is an
 * `ExitedDuringCall` with the exit code and the container's last log lines.
 *
 * @since 0.1.0
 * @category operations
 */
export const run: (
  started: Started
) => Effect.Effect<RunResult, StageFailed, ContainerEngine | ProcessorClient> = flow(
  run_.run,
  Interruption.isolated
)

/**
 * Copies the merge dir out of the session volume to a host directory or a `.tar.gz` file, through
 * the engine's archive API or the merger (`Session.files`). Entries are checked on the way out:
 * nothing is written outside `output`.
 *
 * @since 0.1.0
 * @category operations
 */
export const exportTo: (
  started: Started,
  result: RunResult,
  options: ExportOptions
) => Effect.Effect<Exported, StageFailed, ContainerEngine | ProcessorClient> = flow(
  export_.exportTo,
  Interruption.isolated
)

/**
 * warm → start → run → export, with everything acquired in one scope that is closed (and the
 * resources removed, in parallel, unless `spec.options.keep`) on success, failure or interruption.
 *
 * @since 0.1.0
 * @category operations
 */
export const pipeline: (
  spec: Spec,
  options: ExportOptions
) => Effect.Effect<Summary, StageFailed, ContainerEngine | ProcessorClient> = flow(
  pipeline_.pipeline,
  Interruption.isolated
)

/**
 * @since 0.1.0
 * @category models
 */
export interface CleanOptions {
  /** Default `armada`. */
  readonly prefix?: Names.Id | undefined
  /** At most this many removals at once; default 8 (removals wait on the engine, not the CPU). */
  readonly concurrency?: Parallel.Concurrency | undefined
}

/**
 * What `clean` removes: one session, everything under the prefix, or every pooled set (what
 * carries `<prefix>.pool`, whatever its key: a killed server's sets, or a running server's, which
 * it then replaces).
 *
 * @since 0.3.0
 * @category models
 */
export type CleanTarget = { readonly session: Names.Id } | { readonly all: true } | { readonly pools: true }

/**
 * Finds what armada left behind, by label, and removes it in parallel: one session's containers
 * and volumes, every pooled set's, or everything under the prefix; the prefix's network once
 * nothing uses it.
 *
 * @since 0.1.0
 * @category operations
 */
export const clean: (
  target: CleanTarget,
  options?: CleanOptions
) => Effect.Effect<CleanOutcome, ContainerEngineError.ContainerEngineError | InputError, ContainerEngine> =
  flow(clean_.clean, Interruption.isolated)
