/**
 * `armada run` and `armada warm`: load the spec, pick the engine, show the progress, and end with
 * a summary (or a JSON document) and the exit code that says how it went.
 *
 * @since 0.1.0
 */
import { existsSync, readdirSync, statSync } from "node:fs"
import { relative, resolve } from "node:path"
import type { Names, Parallel } from "@armada/core"
import type { Bulk, ContainerEngine } from "@armada/engine"
import type { ProcessorClient } from "@armada/http"
import { Orchestrator, type OrchestratorError, Progress, Spec } from "@armada/orchestrator"
import type { FileSystem } from "@effect/platform"
import { Clock, Effect, Logger, LogLevel, Option, Queue } from "effect"
import * as Display from "../Display.js"
import * as Engine from "../Engine.js"
import type * as Event from "../Event.js"
import { Reported } from "../ExitCode.js"
import * as Failures from "../Failures.js"
import * as Interrupt from "../Interrupt.js"
import { Output } from "../Output.js"
import * as CliProgress from "../Progress.js"
import * as Report from "../Report.js"

/**
 * The flags of `run` and `warm`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Flags extends Display.Flags {
  readonly spec: string
  readonly engine: Engine.Selection
  readonly concurrency: Option.Option<Parallel.Concurrency>
  readonly prefix: Option.Option<Names.Id>
  readonly pull: Option.Option<Bulk.PullPolicy>
  readonly keep: boolean
}

/**
 * A command that ends before anything ran (bad input, no engine): say why, in the chosen format,
 * then exit with the outcome's code.
 *
 * @since 0.1.0
 * @category constructors
 */
export const failEarly = (
  flags: Display.Flags,
  command: string,
  spec: string | undefined,
  startedAt: number,
  outcome: Report.Outcome,
  cause: unknown,
  context: Failures.Context = {}
): Effect.Effect<never, Reported, Output> =>
  Effect.gen(function* () {
    const output = yield* Output
    const finishedAt = yield* Clock.currentTimeMillis
    const error = { ...Failures.describe(cause, context), cause: Failures.toJson(cause) }
    const document = Report.early(command, spec, startedAt, { outcome, finishedAt, error })
    if (flags.json) yield* output.stdout(Display.jsonDocument(document))
    else {
      const hint = error.hint === undefined ? "" : `hint: ${error.hint}\n`
      yield* output.stderr(`error: ${error.reason}\n${hint}`)
    }
    return yield* new Reported({ code: document.exitCode })
  })

/**
 * A path as short as it can be shown: relative below the working directory, else absolute.
 *
 * @since 0.3.0
 * @category getters
 */
export const shown = (path: string): string => {
  const below = relative(process.cwd(), path)
  return below === "" ? "." : below.startsWith("..") ? path : below
}

/** The flags win over the spec's options. */
const withFlags = (spec: Spec.Spec, flags: Flags): Spec.Spec => ({
  ...spec,
  options: {
    ...spec.options,
    ...Option.match(flags.concurrency, { onNone: () => ({}), onSome: (concurrency) => ({ concurrency }) }),
    ...Option.match(flags.prefix, { onNone: () => ({}), onSome: (prefix) => ({ prefix }) }),
    ...Option.match(flags.pull, { onNone: () => ({}), onSome: (pull) => ({ pull }) }),
    ...(flags.keep ? { keep: true } : {})
  }
})

/**
 * Why `output` cannot take a result (an existing, non-empty directory would fail the export at the
 * very end: refuse it now), or `undefined`.
 *
 * @since 0.3.0
 * @category getters
 */
export const outputProblem = (output: string): string | undefined => {
  if (!existsSync(output)) return undefined
  if (output.endsWith(".tar.gz") || output.endsWith(".tgz")) return `${output} already exists`
  if (!statSync(output).isDirectory()) return `${output} exists and is not a directory`
  return readdirSync(output).length === 0 ? undefined : `${output} exists and is not empty`
}

/**
 * The outcome of a failed stage: `engine-unreachable` when the engine went away, else `failed`.
 *
 * @since 0.1.0
 * @category getters
 */
export const outcomeOf = (error: OrchestratorError.StageFailed): Report.Outcome =>
  error.failures.every((failure) => failure.cause._tag === "EngineUnreachable")
    ? "engine-unreachable"
    : "failed"

/**
 * The orchestrator's logs go through the display (as `Log` events), so they never tear the live
 * view; they are shown with `--verbose` and always in `--json`.
 */
const logsTo = (display: Display.Display) =>
  Effect.gen(function* () {
    const logs = yield* Queue.unbounded<Event.UnstampedOf<"Log">>()
    yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(logs), display.emit)))
    const logger = Logger.make(({ logLevel, message }) => {
      const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
      Queue.unsafeOffer(logs, { _tag: "Log", level: logLevel.label, message: text })
    })
    return Logger.replace(Logger.defaultLogger, logger)
  })

/**
 * What the translation of a run's progress needs to know about its spec; `output` as shown.
 *
 * @since 0.3.0
 * @category constructors
 */
export const progressContextOf = (spec: Spec.Spec, output: string): CliProgress.Context => ({
  session: spec.session,
  prefix: spec.options.prefix,
  processors: spec.processors.map((p) => p.id),
  plugins: spec.plugins.map((p) => p.id),
  resolvers: spec.resolvers.map((r) => r.id),
  images: Object.fromEntries([
    ...spec.processors.map((p) => [`processor/${p.id}`, p.image] as const),
    ...spec.plugins.map((p) => [`plugin/${p.id}`, p.image] as const),
    ...spec.resolvers.map((r) => [`resolver/${r.id}`, r.image] as const),
    ["merger/merger", spec.merger.image] as const
  ]),
  output
})

/**
 * The events that close a failed run: each failing item the progress did not report yet, then
 * the items skipped because of it.
 *
 * @since 0.3.0
 * @category constructors
 */
export const failureEvents = (
  context: CliProgress.Context,
  reported: ReadonlyArray<Event.FailureInfo>,
  error: OrchestratorError.StageFailed
): Array<Event.Unstamped> => [
  ...error.failures
    .map((failure) => CliProgress.failureInfo(context, failure))
    .filter((info) => !reported.some((known) => known.stage === info.stage && known.item === info.item))
    .map((failure): Event.Unstamped => ({ _tag: "ItemFailed", failure })),
  ...CliProgress.skipped(context, error)
]

interface Work<A> {
  readonly command: "run" | "warm"
  /** Where `run` exports to (the export stage's item). */
  readonly output: (spec: Spec.Spec) => string
  readonly effect: (
    spec: Spec.Spec,
    output: string
  ) => Effect.Effect<A, OrchestratorError.StageFailed, ContainerEngine | ProcessorClient>
  readonly ending: (value: A) => Omit<Report.Ending, "finishedAt" | "outcome">
}

const execute = <A>(flags: Flags, work: Work<A>) =>
  Effect.gen(function* () {
    const startedAt = yield* Clock.currentTimeMillis
    const early = (outcome: Report.Outcome, cause: unknown, context?: Failures.Context) =>
      failEarly(flags, work.command, flags.spec, startedAt, outcome, cause, context)

    const loaded = yield* Effect.either(Spec.load(flags.spec))
    if (loaded._tag === "Left") return yield* early("bad-input", loaded.left)
    const spec = withFlags(loaded.right, flags)
    const context = { session: spec.session, prefix: spec.options.prefix }
    const output = work.output(spec)
    if (work.command === "run") {
      const problem = outputProblem(output)
      if (problem !== undefined) {
        return yield* early(
          "bad-input",
          `--output: ${problem}; armada never overwrites a result: choose another --output, or remove it first (rm -r ${shown(output)})`
        )
      }
    }

    const selected = yield* Effect.either(Engine.select(flags.engine, { catalog: spec.local }))
    if (selected._tag === "Left") {
      const outcome = Engine.isUnreachable(selected.left) ? "engine-unreachable" : "failed"
      return yield* early(outcome, selected.left, context)
    }
    const progressContext = progressContextOf(spec, shown(output))
    const display = yield* Display.make(
      flags,
      {
        _tag: "RunStarted",
        command: work.command,
        spec: flags.spec,
        session: spec.session,
        prefix: spec.options.prefix,
        engine: selected.right.info
      },
      CliProgress.declared(progressContext)
    )
    yield* Interrupt.install({
      onFirst: display.emit({ _tag: "Interrupting", session: spec.session }),
      onSecond: Effect.map(display.state, (state) => {
        const cleanup = Failures.cleanCommand(context)
        if (display.mode === "json") {
          const document = Report.fromState(state, {
            outcome: "interrupted",
            finishedAt: Date.now(),
            cleanupCommand: cleanup
          })
          return { stream: "stdout" as const, text: Display.jsonDocument(document) }
        }
        return {
          stream: "stderr" as const,
          text: `Exiting at once: the cleanup did not finish. Containers, volumes and the network labelled ${spec.options.prefix}.session=${spec.session} may be left.\nRemove them with: ${cleanup}\n`
        }
      })
    })

    const onEvent = (event: Progress.Event) =>
      Effect.forEach(CliProgress.translate(progressContext, event), display.emit, { discard: true })
    const result = yield* work.effect(spec, output).pipe(
      Effect.provide(Progress.layer(onEvent)),
      Effect.provide(yield* logsTo(display)),
      Logger.withMinimumLogLevel(flags.verbose ? LogLevel.Debug : LogLevel.Info),
      Effect.provide(selected.right.context),
      Effect.either,
      Effect.onInterrupt(() => display.finish({ outcome: "interrupted" }))
    )
    const kept = spec.options.keep ? { cleanupCommand: Failures.cleanCommand(context) } : {}
    if (result._tag === "Right") {
      const document = yield* display.finish({ outcome: "success", ...work.ending(result.right), ...kept })
      if (document.exitCode !== 0) return yield* new Reported({ code: document.exitCode })
      return
    }
    const closing = failureEvents(progressContext, (yield* display.state).failures, result.left)
    yield* Effect.forEach(closing, display.emit, { discard: true })
    const document = yield* display.finish({
      outcome: outcomeOf(result.left),
      ...kept
    })
    return yield* new Reported({ code: document.exitCode })
  }).pipe(Effect.scoped)

/**
 * @since 0.1.0
 * @category models
 */
export interface RunFlags extends Flags {
  readonly output: Option.Option<string>
}

/**
 * `armada run`: warm, start, run, export, clean.
 *
 * @since 0.1.0
 * @category handlers
 */
export const run = (flags: RunFlags) =>
  execute(flags, {
    command: "run",
    output: (spec) => resolve(Option.getOrElse(flags.output, () => `out/${spec.session}`)),
    effect: (spec, output) => Orchestrator.pipeline(spec, { output }),
    ending: (summary) => ({
      output: {
        path: summary.output,
        files: summary.files.length,
        conflicts: summary.conflicts,
        resolved: summary.resolved
      }
    })
  })

/**
 * `armada warm`: pull what is missing and load the template, then clean up (the images stay).
 *
 * @since 0.1.0
 * @category handlers
 */
export const warm = (flags: Flags) =>
  execute(flags, {
    command: "warm",
    output: () => "",
    effect: (spec) => Effect.scoped(Effect.asVoid(Orchestrator.warm(spec))),
    ending: () => ({})
  })

/**
 * What `run` and `warm` need from the application.
 *
 * @since 0.1.0
 * @category models
 */
export type Requirements = Engine.Engines | ProcessorClient | Output | FileSystem.FileSystem
