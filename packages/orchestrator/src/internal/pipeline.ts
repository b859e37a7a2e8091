/** @internal */
import { Duration, Effect } from "effect"
import type * as Orchestrator from "../Orchestrator.js"
import type { Spec } from "../Spec.js"
import { exportTo } from "./export.js"
import { run } from "./run.js"
import { start } from "./start.js"
import { warm } from "./warm.js"

/**
 * The effect's value with how long it took, in milliseconds.
 *
 * @internal
 */
export const millis = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.timed(effect), ([duration, value]) => [Duration.toMillis(duration), value] as const)

/**
 * What a run on `started` did, as a `Summary` of `spec`'s run: `warm` and `start` are how long the
 * containers took to be there (a pooled run's are its wait for a set).
 *
 * @internal
 */
export const summarize = (
  spec: Spec,
  started: Orchestrator.Started,
  result: Orchestrator.RunResult,
  exported: Orchestrator.Exported,
  millis: { readonly warm: number; readonly start: number; readonly export: number }
): Orchestrator.Summary => {
  const callMillis = new Map<string, number>([
    ...result.processors.map((p) => [`processor/${p.id}`, p.durationMillis] as const),
    ...result.plugins.map((p) => [`plugin/${p.id}`, p.durationMillis] as const),
    ["merger/merger", result.durations.merge]
  ])
  return {
    ...exported,
    session: spec.session,
    conflicts: result.conflicts,
    resolved: result.resolved,
    durations: {
      warm: millis.warm,
      start: millis.start,
      ...result.durations,
      export: millis.export,
      total:
        millis.warm +
        millis.start +
        result.durations.process +
        result.durations.merge +
        result.durations.plug +
        millis.export
    },
    items: [...started.processors, ...started.plugins, ...started.resolvers, started.merger].map(
      (container) => ({
        role: container.role,
        id: container.id,
        image: container.image,
        readyMillis: container.readyMillis,
        durationMillis: callMillis.get(`${container.role}/${container.id}`) ?? 0
      })
    )
  }
}

/** @internal */
export const pipeline = (spec: Spec, options: Orchestrator.ExportOptions) =>
  Effect.scoped(
    Effect.gen(function* () {
      const [warmMillis, session] = yield* millis(warm(spec))
      const [startMillis, started] = yield* millis(start(session))
      const result = yield* run(started)
      const [exportMillis, exported] = yield* millis(exportTo(started, result, options))
      return summarize(spec, started, result, exported, {
        warm: warmMillis,
        start: startMillis,
        export: exportMillis
      })
    })
  ).pipe(
    Effect.withSpan("armada.pipeline", { attributes: { session: spec.session } }),
    Effect.annotateLogs("session", spec.session)
  )
