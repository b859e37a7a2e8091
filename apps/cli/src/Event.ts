/**
 * What the CLI shows while a command runs: a flat stream of events, each stamped with the time the
 * CLI saw it. The orchestrator's progress is translated into these (`Progress.ts`); every renderer
 * (live view, plain lines, NDJSON) is a pure function of them, and `--json` prints them as they
 * are, so their shape is part of the CLI's documented output (docs/cli.md).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * The stages of a run, in order.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Stage = Schema.Literal("warm", "start", "process", "merge", "plug", "export", "clean")

/**
 * @since 0.1.0
 * @category models
 */
export type Stage = typeof Stage.Type

/**
 * @since 0.1.0
 * @category constants
 */
export const stages: ReadonlyArray<Stage> = Stage.literals

/**
 * Which engine runs the containers, where it is, and why it was chosen.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EngineInfo = Schema.Struct({
  kind: Schema.Literal("docker", "local", "swarm"),
  address: Schema.String,
  reason: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export type EngineInfo = typeof EngineInfo.Type

/**
 * One failure, ready to print: the item, its stage, what went wrong (`reason`), what to do about
 * it (`hint`, when one helps), and the typed cause as JSON (its `_tag` and fields).
 *
 * @since 0.1.0
 * @category schemas
 */
export const FailureInfo = Schema.Struct({
  stage: Stage,
  item: Schema.String,
  image: Schema.optional(Schema.String),
  reason: Schema.String,
  hint: Schema.optional(Schema.String),
  cause: Schema.Unknown
})

/**
 * @since 0.1.0
 * @category models
 */
export type FailureInfo = typeof FailureInfo.Type

/**
 * An item the run did not get to because an item before it failed (a plugin after the failing
 * one): which, and why.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SkippedInfo = Schema.Struct({
  stage: Stage,
  item: Schema.String,
  reason: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export type SkippedInfo = typeof SkippedInfo.Type

const at = { at: Schema.Number }

/** An item's event: when, in which stage, which item. */
const itemAt = { ...at, stage: Stage, item: Schema.String }

/**
 * @since 0.1.0
 * @category schemas
 */
export const RunStarted = Schema.TaggedStruct("RunStarted", {
  ...at,
  command: Schema.String,
  spec: Schema.String,
  session: Schema.String,
  prefix: Schema.String,
  engine: EngineInfo
})

/**
 * A stage began.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StageStarted = Schema.TaggedStruct("StageStarted", {
  ...at,
  stage: Stage
})

/**
 * A stage ended, well (`ok`) or not, after `durationMs` (its wall time, as the orchestrator
 * measured it).
 *
 * @since 0.1.0
 * @category schemas
 */
export const StageDone = Schema.TaggedStruct("StageDone", {
  ...at,
  stage: Stage,
  ok: Schema.Boolean,
  durationMs: Schema.Number
})

/**
 * An item began its stage (`detail` says how, e.g. "pulling" or "creating container").
 *
 * @since 0.1.0
 * @category schemas
 */
export const ItemStarted = Schema.TaggedStruct("ItemStarted", {
  ...itemAt,
  detail: Schema.optional(Schema.String)
})

/**
 * A running item moved on within its stage (e.g. "started" → "waiting until ready").
 *
 * @since 0.1.0
 * @category schemas
 */
export const ItemStatus = Schema.TaggedStruct("ItemStatus", {
  ...itemAt,
  detail: Schema.String
})

/**
 * Bytes of one layer of an image pull, as the engine reports them.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PullProgress = Schema.TaggedStruct("PullProgress", {
  ...at,
  image: Schema.String,
  layer: Schema.optional(Schema.String),
  status: Schema.String,
  current: Schema.optional(Schema.Number),
  total: Schema.optional(Schema.Number)
})

/**
 * An item finished its stage. `durationMs`, when the orchestrator measured it, is the item's own
 * time (a processor call may have waited for a free slot before it started).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ItemSucceeded = Schema.TaggedStruct("ItemSucceeded", {
  ...itemAt,
  detail: Schema.optional(Schema.String),
  durationMs: Schema.optional(Schema.Number)
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const ItemFailed = Schema.TaggedStruct("ItemFailed", {
  ...at,
  failure: FailureInfo,
  durationMs: Schema.optional(Schema.Number)
})

/**
 * An item was not run because an item before it failed.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ItemSkipped = Schema.TaggedStruct("ItemSkipped", {
  ...at,
  ...SkippedInfo.fields
})

/**
 * The first Ctrl-C: the run stops and removes what it created.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Interrupting = Schema.TaggedStruct("Interrupting", {
  ...at,
  session: Schema.String
})

/**
 * A line of the orchestrator's own log, shown with `--verbose`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Log = Schema.TaggedStruct("Log", {
  ...at,
  level: Schema.String,
  message: Schema.String
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const Event = Schema.Union(
  RunStarted,
  StageStarted,
  StageDone,
  ItemStarted,
  ItemStatus,
  PullProgress,
  ItemSucceeded,
  ItemFailed,
  ItemSkipped,
  Interrupting,
  Log
)

/**
 * @since 0.1.0
 * @category models
 */
export type Event = typeof Event.Type

/**
 * An event before the CLI stamps it.
 *
 * @since 0.1.0
 * @category models
 */
export type Unstamped = Event extends infer E ? (E extends Event ? Omit<E, "at"> : never) : never

/**
 * One kind of event before the CLI stamps it.
 *
 * @since 0.1.0
 * @category models
 */
export type UnstampedOf<Tag extends Event["_tag"]> = Omit<Extract<Event, { readonly _tag: Tag }>, "at">
