/**
 * `armada clean --session ID | --pools | --all`: removes what runs left behind (a `--keep` run, a
 * killed process, a killed server's pooled sets), found by label, never by name.
 *
 * @since 0.1.0
 */
import type { Names, Outcome } from "@armada/core"
import { Orchestrator } from "@armada/orchestrator"
import { Clock, Effect, Option } from "effect"
import * as Display from "../Display.js"
import * as Engine from "../Engine.js"
import { Reported } from "../ExitCode.js"
import * as Failures from "../Failures.js"
import { Output } from "../Output.js"
import * as Report from "../Report.js"
import { failEarly } from "./Pipeline.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Flags {
  readonly session: Option.Option<Names.Id>
  readonly all: boolean
  readonly pools: boolean
  readonly prefix: Names.Id
  readonly engine: Engine.Selection
  readonly json: boolean
}

const itemOf = (resource: Orchestrator.Resource) => `${resource.kind}/${resource.name}`

/**
 * The result document of a cleanup: one item per resource found.
 *
 * @since 0.1.0
 * @category constructors
 */
export const document = (
  outcome: Orchestrator.CleanOutcome,
  info: {
    readonly session: string | undefined
    readonly prefix: string
    readonly engine: Report.Document["engine"]
    readonly startedAt: number
    readonly finishedAt: number
  }
): Report.Document => {
  const failures = outcome.failures.map((failure: Outcome.Failure<Orchestrator.Resource, unknown>) => {
    const cause = failure.cause._tag === "Fail" ? failure.cause.error : failure.cause.defect
    return {
      stage: "clean" as const,
      item: itemOf(failure.item),
      ...Failures.describe(cause, { session: info.session, prefix: info.prefix }),
      cause: Failures.toJson(cause)
    }
  })
  const result = failures.length === 0 ? ("success" as const) : ("failed" as const)
  return {
    _tag: "Result",
    version: 1,
    command: "clean",
    outcome: result,
    exitCode: Report.exitCodes[result],
    ...(info.session === undefined ? {} : { session: info.session }),
    prefix: info.prefix,
    ...(info.engine === undefined ? {} : { engine: info.engine }),
    startedAt: new Date(info.startedAt).toISOString(),
    finishedAt: new Date(info.finishedAt).toISOString(),
    durationMs: info.finishedAt - info.startedAt,
    stages: [],
    items: [
      ...outcome.successes.map((success) => ({
        stage: "clean" as const,
        item: itemOf(success.item),
        status: "done" as const,
        durationMs: 0
      })),
      ...failures.map((failure) => ({
        stage: "clean" as const,
        item: failure.item,
        status: "failed" as const,
        durationMs: 0
      }))
    ],
    failures,
    skipped: []
  }
}

/**
 * The lines for people: what was removed, what was already gone or still in use, what failed.
 *
 * @since 0.1.0
 * @category rendering
 */
export const lines = (outcome: Orchestrator.CleanOutcome, target: string): Array<string> => {
  if (outcome.successes.length === 0 && outcome.failures.length === 0)
    return [`Nothing to remove for ${target}.`]
  const out = outcome.successes.map((success) => `${success.value.padEnd(7)} ${itemOf(success.item)}`)
  for (const failure of outcome.failures) {
    const cause = failure.cause._tag === "Fail" ? failure.cause.error : failure.cause.defect
    out.push(`FAILED  ${itemOf(failure.item)}: ${Failures.describe(cause).reason}`)
  }
  const removed = outcome.successes.filter((success) => success.value === "removed").length
  out.push(
    "",
    `Removed ${removed} of ${outcome.successes.length + outcome.failures.length} resources for ${target}${outcome.failures.length === 0 ? "." : `; ${outcome.failures.length} could not be removed.`}`
  )
  return out
}

/**
 * @since 0.1.0
 * @category handlers
 */
export const handler = (flags: Flags) =>
  Effect.gen(function* () {
    const startedAt = yield* Clock.currentTimeMillis
    const session = Option.getOrUndefined(flags.session)
    const displayFlags = { json: flags.json, quiet: false, verbose: false }
    if ([session !== undefined, flags.pools, flags.all].filter(Boolean).length !== 1) {
      return yield* failEarly(
        displayFlags,
        "clean",
        undefined,
        startedAt,
        "bad-input",
        "say what to remove, one of: --session ID (one session), --pools (every pooled set) or --all (everything under the prefix); `armada ps` lists them"
      )
    }
    const selected = yield* Effect.either(Engine.select(flags.engine))
    if (selected._tag === "Left") {
      const outcome = Engine.isUnreachable(selected.left) ? "engine-unreachable" : "failed"
      return yield* failEarly(displayFlags, "clean", undefined, startedAt, outcome, selected.left)
    }
    const target: Orchestrator.CleanTarget =
      session !== undefined ? { session } : flags.pools ? { pools: true } : { all: true }
    const outcome = yield* Orchestrator.clean(target, { prefix: flags.prefix }).pipe(
      Effect.provide(selected.right.context),
      Effect.either
    )
    if (outcome._tag === "Left") {
      const kind = outcome.left._tag === "EngineUnreachable" ? "engine-unreachable" : "failed"
      return yield* failEarly(displayFlags, "clean", undefined, startedAt, kind, outcome.left)
    }
    const result = document(outcome.right, {
      session,
      prefix: flags.prefix,
      engine: selected.right.info,
      startedAt,
      finishedAt: yield* Clock.currentTimeMillis
    })
    const output = yield* Output
    if (flags.json) yield* output.stdout(Display.jsonDocument(result))
    else {
      const what =
        session !== undefined
          ? `session ${session}`
          : flags.pools
            ? `the pools of prefix ${flags.prefix}`
            : `prefix ${flags.prefix}`
      yield* output.stdout(`${lines(outcome.right, what).join("\n")}\n`)
    }
    if (result.exitCode !== 0) return yield* new Reported({ code: result.exitCode })
  }).pipe(Effect.scoped)
