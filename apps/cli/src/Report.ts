/**
 * The final JSON document of `armada run --json` / `armada warm --json`: printed once, as the last
 * line, after the NDJSON events. Its shape is documented in docs/cli.md and decoded by the tests
 * with this very schema.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Event from "./Event.js"
import { ExitCode } from "./ExitCode.js"
import * as RunState from "./RunState.js"

/**
 * @since 0.1.0
 * @category schemas
 */
export const Outcome = Schema.Literal("success", "failed", "bad-input", "engine-unreachable", "interrupted")

/**
 * @since 0.1.0
 * @category models
 */
export type Outcome = typeof Outcome.Type

/**
 * @since 0.1.0
 * @category constants
 */
export const exitCodes: Record<Outcome, ExitCode> = {
  success: ExitCode.success,
  failed: ExitCode.itemsFailed,
  "bad-input": ExitCode.badInput,
  "engine-unreachable": ExitCode.engineUnreachable,
  interrupted: ExitCode.interrupted
}

/**
 * An error of the whole command rather than of one item (a bad spec, an unreachable engine).
 *
 * @since 0.1.0
 * @category schemas
 */
export const CommandError = Schema.Struct({
  reason: Schema.String,
  hint: Schema.optional(Schema.String),
  cause: Schema.Unknown
})

/**
 * @since 0.1.0
 * @category models
 */
export type CommandError = typeof CommandError.Type

/**
 * Where the result went, and what it holds.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Output = Schema.Struct({
  path: Schema.String,
  files: Schema.optional(Schema.Number),
  /** Paths two or more processors wrote: the last one in declared order won unless `resolved` names them. */
  conflicts: Schema.Array(Schema.String),
  /** The conflicting paths a resolver settled, with its id. */
  resolved: Schema.optional(Schema.Array(Schema.Struct({ path: Schema.String, resolver: Schema.String })))
})

/**
 * @since 0.1.0
 * @category models
 */
export type Output = typeof Output.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const ItemResult = Schema.Struct({
  stage: Event.Stage,
  item: Schema.String,
  status: Schema.Literal("done", "failed", "unfinished"),
  durationMs: Schema.Number
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const StageResult = Schema.Struct({
  stage: Event.Stage,
  durationMs: Schema.Number,
  done: Schema.Number,
  failed: Schema.Number
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const Document = Schema.TaggedStruct("Result", {
  version: Schema.Literal(1),
  command: Schema.String,
  outcome: Outcome,
  exitCode: Schema.Number,
  spec: Schema.optional(Schema.String),
  session: Schema.optional(Schema.String),
  prefix: Schema.optional(Schema.String),
  engine: Schema.optional(Event.EngineInfo),
  startedAt: Schema.String,
  finishedAt: Schema.String,
  durationMs: Schema.Number,
  stages: Schema.Array(StageResult),
  items: Schema.Array(ItemResult),
  /** In declared order: by stage, then as the spec lists the items. */
  failures: Schema.Array(Event.FailureInfo),
  /** Items not run because one before them failed (the plugins after a failing plugin). */
  skipped: Schema.Array(Event.SkippedInfo),
  error: Schema.optional(CommandError),
  output: Schema.optional(Output),
  /** After an interruption whose cleanup did not finish: the command that removes the rest. */
  cleanupCommand: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Document = typeof Document.Type

/**
 * @since 0.1.0
 * @category models
 */
export interface Ending {
  readonly outcome: Outcome
  readonly finishedAt: number
  readonly error?: CommandError | undefined
  readonly output?: Output | undefined
  readonly cleanupCommand?: string | undefined
}

/**
 * The document of a command that got as far as `state`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromState = (state: RunState.RunState, ending: Ending): Document => {
  const { header } = state
  // In pipeline order; within a stage, in the order the items appeared.
  const ordered = Event.stages.flatMap((stage) => state.items.filter((item) => item.stage === stage))
  const failures = RunState.failuresInOrder(state)
  // Every item went through but something failed after them (the cleanup): the run failed, and
  // its exit code says so, whatever the work's own ending was.
  const outcome = ending.outcome === "success" && failures.length > 0 ? "failed" : ending.outcome
  const items = ordered.map((item) => ({
    stage: item.stage,
    item: item.item,
    status: item.status === "running" ? ("unfinished" as const) : item.status,
    durationMs: Math.round(RunState.elapsed(item, ending.finishedAt))
  }))
  return {
    _tag: "Result",
    version: 1,
    command: header.command,
    outcome,
    exitCode: exitCodes[outcome],
    spec: header.spec,
    session: header.session,
    prefix: header.prefix,
    engine: header.engine,
    startedAt: new Date(header.at).toISOString(),
    finishedAt: new Date(ending.finishedAt).toISOString(),
    durationMs: ending.finishedAt - header.at,
    stages: stageResults(state, ending.finishedAt),
    items,
    failures,
    skipped: state.skipped,
    ...(ending.error === undefined ? {} : { error: ending.error }),
    ...(ending.output === undefined ? {} : { output: ending.output }),
    ...(ending.cleanupCommand === undefined ? {} : { cleanupCommand: ending.cleanupCommand })
  }
}

/**
 * The document of a command that stopped before it could start (bad input, no engine).
 *
 * @since 0.1.0
 * @category constructors
 */
export const early = (
  command: string,
  spec: string | undefined,
  startedAt: number,
  ending: Ending & { readonly error: CommandError }
): Document => ({
  _tag: "Result",
  version: 1,
  command,
  outcome: ending.outcome,
  exitCode: exitCodes[ending.outcome],
  ...(spec === undefined ? {} : { spec }),
  startedAt: new Date(startedAt).toISOString(),
  finishedAt: new Date(ending.finishedAt).toISOString(),
  durationMs: ending.finishedAt - startedAt,
  stages: [],
  items: [],
  failures: [],
  skipped: [],
  error: ending.error
})

/**
 * Per stage, in pipeline order: its wall time as the orchestrator measured it (until `now` when it
 * never ended), else (the cleanup, which is no stage of the orchestrator's) from its items' first
 * start to their last finish.
 */
const stageResults = (state: RunState.RunState, now: number) =>
  Event.stages.flatMap((stage) => {
    const items = state.items.filter((item) => item.stage === stage)
    const timed = state.stages.find((known) => known.stage === stage)
    if (items.length === 0 && timed === undefined) return []
    const durationMs =
      timed === undefined
        ? Math.max(...items.map((item) => item.finishedAt ?? now)) -
          Math.min(...items.map((item) => item.startedAt))
        : (timed.durationMs ?? now - timed.startedAt)
    return [
      {
        stage,
        durationMs: Math.round(durationMs),
        done: items.filter((item) => item.status === "done").length,
        failed: items.filter((item) => item.status === "failed").length
      }
    ]
  })
