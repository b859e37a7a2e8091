/**
 * Translates the orchestrator's progress events and typed failures into the CLI's events: one
 * item per image to pull, per container to start, per processor, the merge, per plugin, the export
 * and the cleanup. Pure, so the translation is tested without running anything.
 *
 * @since 0.1.0
 */
import type { Orchestrator, OrchestratorError, Progress } from "@armada/orchestrator"
import type * as Event from "./Event.js"
import * as Failures from "./Failures.js"
import type * as RunState from "./RunState.js"
import { plural } from "./render/Summary.js"

/**
 * What the translation needs to know about the run.
 *
 * @since 0.1.0
 * @category models
 */
export interface Context {
  readonly session: string
  readonly prefix: string
  /** Processor ids, in declared order. */
  readonly processors: ReadonlyArray<string>
  /** Plugin ids, in declared order: they run one after another. */
  readonly plugins: ReadonlyArray<string>
  /** Resolver ids, in declared order. */
  readonly resolvers: ReadonlyArray<string>
  /** The export target as the user gave it; the export stage's item. */
  readonly output: string
  /** The image of each container, by `<role>/<id>`, named in its failures. */
  readonly images: Readonly<Record<string, string>>
  /** The run runs on an `armada serve` (its failures' hints say so). */
  readonly onServer?: boolean | undefined
}

/**
 * The item a failure is shown as: the id in the call stages (a conflicting file's path in the
 * merge stage), `<kind>/<id>` in the others (a processor and a plugin may share an id), the output
 * in the export stage.
 *
 * @since 0.1.0
 * @category getters
 */
export const itemName = (context: Context, stage: Event.Stage, kind: string, id: string): string => {
  switch (stage) {
    case "process":
    case "plug":
      return id
    case "merge":
      return kind === "file" ? id : "merger"
    case "export":
      return context.output
    case "clean":
      return context.session
    case "warm":
    case "start":
      return kind === id ? id : `${kind}/${id}`
  }
}

/**
 * The items of each stage as the spec declares them, in its order: the containers (processors,
 * plugins, the merger) in the warm and start stages, the processors, the merger, the plugins, the
 * output, the session.
 *
 * @since 0.1.0
 * @category getters
 */
export const declared = (context: Context): RunState.Declared => {
  const containers = [
    ...context.processors.map((id) => ["processor", id] as const),
    ...context.plugins.map((id) => ["plugin", id] as const),
    ...context.resolvers.map((id) => ["resolver", id] as const),
    ["merger", "merger"] as const
  ]
  const named = (stage: Event.Stage) => containers.map(([kind, id]) => itemName(context, stage, kind, id))
  return {
    warm: named("warm"),
    start: named("start"),
    process: context.processors,
    merge: ["merger"],
    plug: context.plugins,
    export: [context.output],
    clean: [context.session]
  }
}

/**
 * The items a failed stage did not run (the plugins after the failing one), each with why.
 *
 * @since 0.1.0
 * @category constructors
 */
export const skipped = (
  context: Context,
  error: OrchestratorError.StageFailed
): Array<Event.UnstampedOf<"ItemSkipped">> => {
  const [failed] = error.failures
  return error.skipped.map((id) => ({
    _tag: "ItemSkipped",
    stage: error.stage,
    item: itemName(context, error.stage, failed.kind, id),
    reason: `not run: ${failed.kind} ${failed.id} failed before it`
  }))
}

/**
 * A failure as the CLI prints it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const failureInfo = (context: Context, failure: OrchestratorError.ItemFailure): Event.FailureInfo => ({
  stage: failure.stage,
  item: itemName(context, failure.stage, failure.kind, failure.id),
  ...(failure.image === undefined ? {} : { image: failure.image }),
  ...Failures.describe(failure.cause, context),
  cause: Failures.toJson(failure.cause)
})

const failed = (
  context: Context,
  stage: Event.Stage,
  kind: string,
  id: string,
  cause: unknown
): Event.UnstampedOf<"ItemFailed"> => ({
  _tag: "ItemFailed",
  failure: {
    stage,
    item: itemName(context, stage, kind, id),
    ...(context.images[`${kind}/${id}`] === undefined ? {} : { image: context.images[`${kind}/${id}`] }),
    ...Failures.describe(cause, context),
    cause: Failures.toJson(cause)
  }
})

/**
 * The export stage's success: `files` written to the output in `format`.
 *
 * @since 0.3.0
 * @category constructors
 */
export const exported = (
  context: Context,
  files: number,
  format: Orchestrator.ExportFormat
): Event.UnstampedOf<"ItemSucceeded"> => ({
  _tag: "ItemSucceeded",
  stage: "export",
  item: context.output,
  detail: `${plural(files, "file")} written (${format})`
})

const stageStarted = (context: Context, stage: Event.Stage): Array<Event.Unstamped> => {
  switch (stage) {
    case "process":
      return context.processors.map((item) => ({ _tag: "ItemStarted", stage, item, detail: "processing" }))
    case "merge":
      return [{ _tag: "ItemStarted", stage, item: "merger", detail: "merging" }]
    case "plug":
      return context.plugins.length === 0
        ? []
        : [{ _tag: "ItemStarted", stage, item: context.plugins[0]!, detail: "plugging" }]
    case "export":
      return [{ _tag: "ItemStarted", stage, item: context.output, detail: "exporting" }]
    case "warm":
    case "start":
    case "clean":
      // Their items start with their own events (pulls, containers, the cleanup).
      return []
  }
}

/** How many resources a failed cleanup's reason names. */
const cleanupListed = 10

/**
 * The CLI events of one orchestrator event.
 *
 * @since 0.1.0
 * @category constructors
 */
export const translate = (context: Context, event: Progress.Event): Array<Event.Unstamped> => {
  switch (event._tag) {
    case "StageStarted":
      return [{ _tag: "StageStarted", stage: event.stage }, ...stageStarted(context, event.stage)]
    case "StageDone":
      return [{ _tag: "StageDone", stage: event.stage, ok: event.ok, durationMs: event.durationMillis }]
    case "ImagePresent":
      return [{ _tag: "ItemSucceeded", stage: "warm", item: event.image, detail: "present" }]
    case "PullProgress":
      return [
        {
          _tag: "PullProgress",
          image: event.image,
          status: event.status,
          ...(event.layer === undefined ? {} : { layer: event.layer }),
          ...(event.current === undefined ? {} : { current: event.current }),
          ...(event.total === undefined ? {} : { total: event.total })
        }
      ]
    case "ImagePulled":
      return [{ _tag: "ItemSucceeded", stage: "warm", item: event.image, detail: "pulled" }]
    case "ContainerCreated":
      return [
        {
          _tag: "ItemStarted",
          stage: "start",
          item: itemName(context, "start", event.role, event.id),
          detail: "created"
        }
      ]
    case "ContainerStarted":
      return [
        {
          _tag: "ItemStatus",
          stage: "start",
          item: itemName(context, "start", event.role, event.id),
          detail: "started, waiting until ready"
        }
      ]
    case "ContainerReady":
      return [
        {
          _tag: "ItemSucceeded",
          stage: "start",
          item: itemName(context, "start", event.role, event.id),
          detail: `ready (${plural(event.attempts, "probe")})`
        }
      ]
    case "ContainerFailed":
      return [failed(context, "start", event.role, event.id, event.cause)]
    case "ProcessorDone":
      return [{ _tag: "ItemSucceeded", stage: "process", item: event.id, durationMs: event.durationMillis }]
    case "ProcessorFailed":
      return [
        {
          ...failed(context, "process", "processor", event.id, event.cause),
          durationMs: event.durationMillis
        }
      ]
    case "MergeDone": {
      const conflicts = event.conflicts.length
      return [
        {
          _tag: "ItemSucceeded",
          stage: "merge",
          item: "merger",
          detail: `${plural(event.files, "file")}${conflicts === 0 ? "" : `, ${plural(conflicts, "conflict")} (last write wins)`}`,
          durationMs: event.durationMillis
        }
      ]
    }
    case "ConflictResolved":
      return [
        {
          _tag: "ItemSucceeded",
          stage: "merge",
          item: event.path,
          detail: `resolved by ${event.resolver}`,
          durationMs: event.durationMillis
        }
      ]
    case "ConflictFailed":
      return [
        { ...failed(context, "merge", "file", event.path, event.cause), durationMs: event.durationMillis }
      ]
    case "PluginDone": {
      const next = context.plugins[context.plugins.indexOf(event.id) + 1]
      return [
        { _tag: "ItemSucceeded", stage: "plug", item: event.id, durationMs: event.durationMillis },
        ...(next === undefined
          ? []
          : [{ _tag: "ItemStarted" as const, stage: "plug" as const, item: next, detail: "plugging" }])
      ]
    }
    case "PluginFailed":
      return [
        { ...failed(context, "plug", "plugin", event.id, event.cause), durationMs: event.durationMillis }
      ]
    case "Exported":
      return [exported(context, event.files, event.format)]
    case "CleanupStarted": {
      const what = `removing ${event.containers} containers, ${event.volumes} volumes`
      return [{ _tag: "ItemStarted", stage: "clean", item: event.session ?? context.session, detail: what }]
    }
    case "CleanupDone": {
      const item = event.session ?? context.session
      if (event.kept) {
        return [
          { _tag: "ItemSucceeded", stage: "clean", item, detail: "kept (--keep): armada clean removes it" }
        ]
      }
      if (event.unlisted !== undefined) {
        return [
          {
            _tag: "ItemFailed",
            failure: {
              stage: "clean",
              item,
              reason: `could not list what the run created, so nothing was removed: ${Failures.describe(event.unlisted, context).reason}`,
              hint: `remove what is left with \`${Failures.cleanCommand(context)}\` once the engine answers`,
              cause: Failures.toJson(event.unlisted)
            }
          }
        ]
      }
      const [first] = event.failures
      if (first === undefined) {
        return [{ _tag: "ItemSucceeded", stage: "clean", item, detail: `removed ${event.removed}` }]
      }
      // One item, the session: its cause is the first resource's typed error; the reason names
      // each resource (the first few of many) with its own error.
      const more = event.failures.length - cleanupListed
      const reason = [
        `${plural(event.failures.length, "resource")} could not be removed (${event.removed} were):`,
        ...event.failures
          .slice(0, cleanupListed)
          .map(
            (failure) =>
              `${failure.kind} ${failure.name}: ${Failures.describe(failure.cause, context).reason}`
          ),
        ...(more > 0 ? [`and ${more} more (\`armada ps\` lists what is left)`] : [])
      ].join("\n")
      return [
        {
          _tag: "ItemFailed",
          failure: {
            stage: "clean",
            item,
            reason,
            hint: `remove what is left with \`${Failures.cleanCommand(context)}\``,
            cause: Failures.toJson(first.cause)
          }
        }
      ]
    }
  }
}
