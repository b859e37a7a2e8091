/**
 * What the orchestrator reports while it works: typed events (images pulled, containers created,
 * started, ready or failed, processors done, the merge, each plugin, the cleanup). A renderer
 * (the CLI) provides `Progress.layer(onEvent)`; without it events go nowhere, at no cost.
 *
 * Events are `Schema`s, so they can be printed as JSON lines as they are.
 *
 * @since 0.1.0
 */
import { Names } from "@armada/core"
import { Context, Effect, Layer, Schema } from "effect"
import { Cause, Stage } from "./OrchestratorError.js"

/**
 * The kind of container: the roles of PROTOCOL.md.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Role = Names.Role

const container = {
  role: Role,
  id: Schema.String,
  /** The container name, `<prefix>-<role>-<id>-<session>`. */
  name: Schema.String
}

/**
 * A stage began (`warm`, `start`, `process`, `merge`, `plug`, `export`, `clean`).
 *
 * @since 0.1.0
 * @category events
 */
export const StageStarted = Schema.TaggedStruct("StageStarted", {
  session: Schema.String,
  stage: Stage,
  /** How many items the stage works on (containers to start, processors to call...). */
  items: Schema.Number
})

/**
 * A stage ended, successfully or not (a failure also ends the run with `StageFailed`).
 *
 * @since 0.1.0
 * @category events
 */
export const StageDone = Schema.TaggedStruct("StageDone", {
  session: Schema.String,
  stage: Stage,
  ok: Schema.Boolean,
  durationMillis: Schema.Number
})

/**
 * An image is already present: no pull.
 *
 * @since 0.1.0
 * @category events
 */
export const ImagePresent = Schema.TaggedStruct("ImagePresent", { image: Schema.String })

/**
 * One line of pull progress, per layer (bytes when the engine reports them).
 *
 * @since 0.1.0
 * @category events
 */
export const PullProgress = Schema.TaggedStruct("PullProgress", {
  image: Schema.String,
  layer: Schema.optionalWith(Schema.String, { exact: true }),
  status: Schema.String,
  current: Schema.optionalWith(Schema.Number, { exact: true }),
  total: Schema.optionalWith(Schema.Number, { exact: true })
})

/**
 * @since 0.1.0
 * @category events
 */
export const ImagePulled = Schema.TaggedStruct("ImagePulled", { image: Schema.String })

/**
 * @since 0.1.0
 * @category events
 */
export const ContainerCreated = Schema.TaggedStruct("ContainerCreated", container)

/**
 * @since 0.1.0
 * @category events
 */
export const ContainerStarted = Schema.TaggedStruct("ContainerStarted", container)

/**
 * The container answered its health check.
 *
 * @since 0.1.0
 * @category events
 */
export const ContainerReady = Schema.TaggedStruct("ContainerReady", {
  ...container,
  url: Schema.String,
  attempts: Schema.Number,
  elapsedMillis: Schema.Number
})

/**
 * The container could not be created or started, exited, or never became ready.
 *
 * @since 0.1.0
 * @category events
 */
export const ContainerFailed = Schema.TaggedStruct("ContainerFailed", { ...container, cause: Cause })

/**
 * @since 0.1.0
 * @category events
 */
export const ProcessorDone = Schema.TaggedStruct("ProcessorDone", {
  id: Schema.String,
  outputDir: Schema.String,
  durationMillis: Schema.Number
})

/**
 * @since 0.1.0
 * @category events
 */
export const ProcessorFailed = Schema.TaggedStruct("ProcessorFailed", {
  id: Schema.String,
  cause: Cause,
  durationMillis: Schema.Number
})

/**
 * @since 0.1.0
 * @category events
 */
export const MergeDone = Schema.TaggedStruct("MergeDone", {
  files: Schema.Number,
  conflicts: Schema.Array(Schema.String),
  durationMillis: Schema.Number
})

/**
 * A resolver settled a conflicting file: its answer was written to the merge dir.
 *
 * @since 0.2.0
 * @category events
 */
export const ConflictResolved = Schema.TaggedStruct("ConflictResolved", {
  path: Schema.String,
  resolver: Schema.String,
  durationMillis: Schema.Number
})

/**
 * A conflicting file could not be settled: its resolvers were ambiguous, or its resolver failed.
 *
 * @since 0.2.0
 * @category events
 */
export const ConflictFailed = Schema.TaggedStruct("ConflictFailed", {
  path: Schema.String,
  cause: Cause,
  durationMillis: Schema.Number
})

/**
 * @since 0.1.0
 * @category events
 */
export const PluginDone = Schema.TaggedStruct("PluginDone", {
  id: Schema.String,
  durationMillis: Schema.Number
})

/**
 * @since 0.1.0
 * @category events
 */
export const PluginFailed = Schema.TaggedStruct("PluginFailed", {
  id: Schema.String,
  cause: Cause,
  durationMillis: Schema.Number
})

/**
 * The result was written to the host.
 *
 * @since 0.1.0
 * @category events
 */
export const Exported = Schema.TaggedStruct("Exported", {
  output: Schema.String,
  format: Schema.Literal("directory", "tar.gz"),
  files: Schema.Number
})

/**
 * Removing what the session created (or what `clean` found) began.
 *
 * @since 0.1.0
 * @category events
 */
export const CleanupStarted = Schema.TaggedStruct("CleanupStarted", {
  session: Schema.optionalWith(Schema.String, { exact: true }),
  containers: Schema.Number,
  volumes: Schema.Number,
  networks: Schema.Number
})

/**
 * A resource the cleanup could not remove, and the typed error it failed with.
 *
 * @since 0.1.0
 * @category models
 */
export const CleanupFailure = Schema.Struct({
  kind: Schema.Literal("container", "volume", "network"),
  name: Schema.String,
  cause: Cause
})

/**
 * @since 0.1.0
 * @category models
 */
export type CleanupFailure = typeof CleanupFailure.Type

/**
 * The cleanup ended: how many resources were removed, how many could not be (`failures` says
 * which and why, in the order they were removed: containers, volumes, networks), and whether the
 * user asked to keep everything instead. `unlisted` is set when the cleanup could not even list
 * what the run created (the engine stopped answering): then nothing was removed, and
 * `armada clean` has to.
 *
 * @since 0.1.0
 * @category events
 */
export const CleanupDone = Schema.TaggedStruct("CleanupDone", {
  session: Schema.optionalWith(Schema.String, { exact: true }),
  removed: Schema.Number,
  failed: Schema.Number,
  failures: Schema.Array(CleanupFailure),
  unlisted: Schema.optionalWith(Cause, { exact: true }),
  kept: Schema.Boolean
})

/**
 * Every progress event.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Event = Schema.Union(
  StageStarted,
  StageDone,
  ImagePresent,
  PullProgress,
  ImagePulled,
  ContainerCreated,
  ContainerStarted,
  ContainerReady,
  ContainerFailed,
  ProcessorDone,
  ProcessorFailed,
  MergeDone,
  ConflictResolved,
  ConflictFailed,
  PluginDone,
  PluginFailed,
  Exported,
  CleanupStarted,
  CleanupDone
)

/**
 * @since 0.1.0
 * @category models
 */
export type Event = typeof Event.Type

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Called for each event, in the fiber that produced it; the orchestrator waits for it. */
  readonly emit: (event: Event) => Effect.Effect<void>
}

/**
 * Where events go. The default drops them.
 *
 * @since 0.1.0
 * @category tags
 */
export class Progress extends Context.Reference<Progress>()("@armada/orchestrator/Progress", {
  defaultValue: (): Service => ({ emit: () => Effect.void })
}) {}

/**
 * Sends every event to `onEvent`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (onEvent: (event: Event) => Effect.Effect<void>): Layer.Layer<never> =>
  Layer.succeed(Progress, { emit: onEvent })

/**
 * Reports one event to whoever listens.
 *
 * @since 0.1.0
 * @category combinators
 */
export const emit = (event: Event): Effect.Effect<void> =>
  Effect.flatMap(Progress, (progress) => progress.emit(event))
