/**
 * The runs of `armada serve`: each POSTed spec and template becomes a run on the server's `Pool`,
 * in a fiber of its own, whose progress is kept as the CLI's own events (the ones `armada run
 * --json` prints) and whose end is the CLI's `Result` document.
 *
 * @since 0.3.0
 */
import { randomUUID } from "node:crypto"
import * as fs from "node:fs/promises"
import { basename, join } from "node:path"
import { type OrchestratorError, Pool, Progress, Spec } from "@armada/orchestrator"
import { FileSystem } from "@effect/platform"
import {
  Cause,
  Chunk,
  Deferred,
  Effect,
  Exit,
  Fiber,
  FiberId,
  FiberSet,
  Option,
  type Scope,
  Stream
} from "effect"
import { failureEvents, outcomeOf, progressContextOf } from "../commands/Pipeline.js"
import type * as Event from "../Event.js"
import * as CliProgress from "../Progress.js"
import * as Report from "../Report.js"
import * as RunState from "../RunState.js"
import {
  BadSpec,
  type BadTemplate,
  NoOutput,
  type RunInfo,
  RunNotFound,
  ShuttingDown,
  type TemplateNotAllowed
} from "./Api.js"
import * as Template from "./Template.js"

/** Finished runs kept for their result and output by default; the oldest go first. */
const defaultKeptRuns = 100

/** Where, in a run's folder, an uploaded template is unpacked. */
const unpacked = "template"

/** The file, in a run's folder, its output is exported to (a client writes its own). */
const exportFile = "output.tar.gz"

/** A run's progress context on the server: its export is `exportFile`, its hints a server's. */
const serverContextOf = (spec: Spec.Spec): CliProgress.Context => ({
  ...progressContextOf(spec, exportFile),
  onServer: true
})

interface Record {
  readonly id: string
  readonly session: string
  readonly dir: string
  readonly output: string
  readonly events: Array<Event.Event>
  state: RunState.RunState
  changed: Deferred.Deferred<void>
  status: RunInfo["status"]
  result: Report.Document | undefined
  pool: RunInfo["pool"]
  interrupt: Effect.Effect<void>
}

/**
 * @since 0.3.0
 * @category models
 */
export interface Runs {
  readonly create: (input: {
    readonly spec: string
    readonly format: "yaml" | "json"
    /** The uploaded `.tar.gz` (a file of the request), or a folder on this machine. */
    readonly template:
      | { readonly _tag: "Archive"; readonly file: string }
      | { readonly _tag: "Path"; readonly path: string }
  }) => Effect.Effect<RunInfo, BadSpec | BadTemplate | TemplateNotAllowed | ShuttingDown>
  readonly get: (id: string) => Effect.Effect<RunInfo, RunNotFound>
  /**
   * Every event so far, then each as it comes, until the run's end; then its `Result` document, as
   * `armada run --json` ends. A client needs nothing else to know how the run ended: the server
   * may be gone by then (its stop interrupts the runs, then closes the listener).
   */
  readonly events: (id: string) => Effect.Effect<Stream.Stream<Event.Event | Report.Document>, RunNotFound>
  /** The `.tar.gz` of a run that succeeded. */
  readonly output: (id: string) => Effect.Effect<string, RunNotFound | NoOutput>
  /** Interrupts a running run (its set is removed, as for Ctrl-C); forgets a finished one. */
  readonly remove: (id: string) => Effect.Effect<RunInfo, RunNotFound>
  /** Runs by status, for the metrics. */
  readonly counts: Effect.Effect<ReadonlyMap<RunInfo["status"], number>>
  /**
   * Takes no new run, waits up to `grace` for the running ones, then interrupts the rest and waits
   * for their finalizers (their sets are removed). Their event streams end with them: an HTTP
   * server closing waits for those, so the runs must end first.
   */
  readonly stop: (grace: number) => Effect.Effect<void>
}

const info = (record: Record): RunInfo => ({
  id: record.id,
  session: record.session,
  status: record.status,
  ...(record.pool === undefined ? {} : { pool: record.pool }),
  ...(record.result === undefined ? {} : { result: record.result })
})

/**
 * @since 0.3.0
 * @category models
 */
export interface Options {
  /** The folders templates may be taken from by path (`--allow-template-dir`); none by default. */
  readonly templateRoots?: ReadonlyArray<Template.Root> | undefined
  /** The most an uploaded template may hold unpacked; `Template.maxTemplateBytes` by default. */
  readonly maxTemplateBytes?: number | undefined
  /** Finished runs kept for their result and output (the oldest go first); 100 by default. */
  readonly keptRuns?: number | undefined
}

/**
 * The runs of a server that runs them on `pool` and names `engine` in their events.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = (
  engine: Event.EngineInfo,
  options: Options = {}
): Effect.Effect<Runs, never, Pool.Pool | FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function* () {
    const pool = yield* Pool.Pool
    const files = yield* FileSystem.FileSystem
    const root = yield* Effect.orDie(files.makeTempDirectoryScoped({ prefix: "armada-serve-" }))
    // Made after the folder, so closing the scope interrupts the runs before it removes their files.
    const fibers = yield* FiberSet.make<void>()
    const records = new Map<string, Record>()
    const keptRuns = options.keptRuns ?? defaultKeptRuns
    const templateRoots = options.templateRoots ?? []
    const maxTemplateBytes = options.maxTemplateBytes ?? Template.maxTemplateBytes
    let closing = false

    const find = (id: string) =>
      Effect.suspend(() => {
        const record = records.get(id)
        return record === undefined
          ? Effect.fail(new RunNotFound({ id, message: `no run ${id} on this server` }))
          : Effect.succeed(record)
      })

    const emit = (record: Record, event: Event.Unstamped) => {
      // A pooled set is removed long after the run that started it: its cleanup is not that run's.
      if (record.status !== "running") return
      const stamped = { ...event, at: Date.now() } as Event.Event
      record.events.push(stamped)
      record.state = RunState.reduce(record.state, stamped)
      Deferred.unsafeDone(record.changed, Exit.void)
      record.changed = Deferred.unsafeMake(FiberId.none)
    }

    const finish = (record: Record, outcome: Report.Outcome, output?: Report.Output) => {
      record.result = Report.fromState(record.state, {
        outcome,
        finishedAt: Date.now(),
        ...(output === undefined ? {} : { output })
      })
      record.status = record.result.outcome
      Deferred.unsafeDone(record.changed, Exit.void)
      forgetOldest()
    }

    const forget = (record: Record) =>
      Effect.promise(() => fs.rm(record.dir, { recursive: true, force: true })).pipe(
        Effect.zipRight(Effect.sync(() => records.delete(record.id)))
      )

    const forgetOldest = () => {
      const finished = [...records.values()].filter((record) => record.status !== "running")
      for (const record of finished.slice(0, Math.max(0, finished.length - keptRuns))) {
        records.delete(record.id)
        void fs.rm(record.dir, { recursive: true, force: true })
      }
    }

    /** The spec as the CLI reads it, its template replaced by the unpacked archive or the allowed path. */
    const prepare = (input: Parameters<Runs["create"]>[0], dir: string) =>
      Effect.gen(function* () {
        const parsed = yield* Spec.parse(input.spec, {
          format: input.format,
          baseDir: dir,
          source: "spec"
        }).pipe(
          Effect.mapError(
            (error) =>
              new BadSpec({
                message: error.message,
                issues: error.issues.map((issue) => ({ path: issue.path, message: issue.message }))
              })
          )
        )
        if (input.template._tag === "Path")
          return { ...parsed, template: yield* Template.onServer(templateRoots, input.template.path) }
        // The spec's own template path only names it: its base name is the folder's name here.
        const template = join(dir, unpacked, basename(parsed.template) || "template")
        yield* Template.unpack(input.template.file, template, maxTemplateBytes).pipe(
          Effect.provideService(FileSystem.FileSystem, files)
        )
        return { ...parsed, template }
      }).pipe(Effect.withSpan("armada.serve.prepare"))

    /** The run's end, whatever it was: an interrupted run (DELETE, shutdown) ends here too. */
    const conclude = (
      record: Record,
      context: CliProgress.Context,
      exit: Exit.Exit<Pool.Run, OrchestratorError.StageFailed>
    ) => {
      if (Exit.isSuccess(exit)) {
        const run = exit.value
        record.pool = run.pool
        return finish(record, "success", {
          // Where a client finds it; the server's own path is none of its business.
          path: `/runs/${record.id}/output`,
          files: run.files.length,
          conflicts: run.conflicts,
          resolved: run.resolved
        })
      }
      const failure = Cause.failureOption(exit.cause)
      if (Option.isNone(failure))
        return finish(record, Cause.isInterruptedOnly(exit.cause) ? "interrupted" : "failed")
      for (const event of failureEvents(context, record.state.failures, failure.value)) emit(record, event)
      finish(record, outcomeOf(failure.value))
    }

    const execute = (record: Record, spec: Spec.Spec, context: CliProgress.Context) => {
      const onEvent = (event: Progress.Event) =>
        Effect.sync(() => {
          for (const translated of CliProgress.translate(context, event)) emit(record, translated)
        })
      return pool.run(spec, { output: record.output }).pipe(
        Effect.provide(Progress.layer(onEvent)),
        Effect.onExit((exit) =>
          // The run answers first. An unpacked template is the run's own, removed once it has
          // answered; a template path is not the server's to remove.
          Effect.sync(() => conclude(record, context, exit)).pipe(
            Effect.zipRight(
              Effect.promise(() => fs.rm(join(record.dir, unpacked), { recursive: true, force: true }))
            )
          )
        ),
        // Its end is in the record: the fiber has nothing to report.
        Effect.ignore
      )
    }

    const create: Runs["create"] = (input) =>
      Effect.gen(function* () {
        if (closing)
          return yield* new ShuttingDown({ message: "the server is stopping: it takes no new run" })
        const id = randomUUID()
        const dir = join(root, id)
        yield* Effect.promise(() => fs.mkdir(dir))
        const spec = yield* Effect.tapError(prepare(input, dir), () =>
          Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
        )
        const context = serverContextOf(spec)
        const header: Event.Event & { readonly _tag: "RunStarted" } = {
          _tag: "RunStarted",
          at: Date.now(),
          command: "run",
          spec: "spec",
          session: spec.session,
          prefix: spec.options.prefix,
          engine
        }
        const record: Record = {
          id,
          session: spec.session,
          dir,
          output: join(dir, exportFile),
          events: [header],
          state: RunState.make(header, CliProgress.declared(context)),
          changed: Deferred.unsafeMake(FiberId.none),
          status: "running",
          result: undefined,
          pool: undefined,
          interrupt: Effect.void
        }
        records.set(id, record)
        const fiber = yield* FiberSet.run(fibers, execute(record, spec, context))
        // Returns once the run's finalizers ran: its set is removed then.
        record.interrupt = Effect.asVoid(Fiber.interrupt(fiber))
        return info(record)
      })

    const events: Runs["events"] = (id) =>
      Effect.map(find(id), (record) =>
        Stream.paginateChunkEffect(0, (index) =>
          Effect.gen(function* () {
            while (index >= record.events.length && record.status === "running") {
              yield* Deferred.await(record.changed)
            }
            const chunk = Chunk.fromIterable(record.events.slice(index))
            const next = index + chunk.length
            const more = record.status === "running" || next < record.events.length
            return [chunk, more ? Option.some(next) : Option.none()] as const
          })
        ).pipe(
          // A finished run has its document (`finish` sets it before the status).
          Stream.concat(
            Stream.suspend(() => (record.result === undefined ? Stream.empty : Stream.make(record.result)))
          )
        )
      )

    const output: Runs["output"] = (id) =>
      Effect.flatMap(find(id), (record) =>
        record.status === "success"
          ? Effect.succeed(record.output)
          : Effect.fail(
              new NoOutput({
                id,
                status: record.status,
                message:
                  record.status === "running"
                    ? `run ${id} is still running: its output comes once it succeeded`
                    : `run ${id} ended ${record.status}: it has no output`
              })
            )
      )

    const remove: Runs["remove"] = (id) =>
      Effect.flatMap(find(id), (record) =>
        record.status === "running"
          ? Effect.map(record.interrupt, () => info(record))
          : Effect.map(forget(record), () => info(record))
      )

    const counts = Effect.sync(() => {
      const byStatus = new Map<RunInfo["status"], number>()
      for (const record of records.values())
        byStatus.set(record.status, (byStatus.get(record.status) ?? 0) + 1)
      return byStatus as ReadonlyMap<RunInfo["status"], number>
    })

    const stop = (grace: number) =>
      Effect.suspend(() => {
        closing = true
        // Interruptible, or the timeout could not end the wait when a finalizer (uninterruptible)
        // runs this: it would wait for the runs however long they took.
        return Effect.interruptible(FiberSet.awaitEmpty(fibers)).pipe(
          Effect.timeout(grace),
          Effect.ignore,
          Effect.zipRight(FiberSet.clear(fibers))
        )
      })

    return {
      create,
      get: (id) => Effect.map(find(id), info),
      events,
      output,
      remove,
      counts,
      stop
    } satisfies Runs
  })
