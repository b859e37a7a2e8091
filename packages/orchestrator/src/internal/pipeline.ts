/** @internal */
import { Duration, Effect } from "effect"
import type * as Orchestrator from "../Orchestrator.js"
import type { Spec } from "../Spec.js"
import { exportTo } from "./export.js"
import { run } from "./run.js"
import { start } from "./start.js"
import { warm } from "./warm.js"

const millis = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.timed(effect), ([duration, value]) => [Duration.toMillis(duration), value] as const)

/** @internal */
export const pipeline = (spec: Spec, options: Orchestrator.ExportOptions) =>
  Effect.scoped(
    Effect.gen(function* () {
      const [warmMillis, session] = yield* millis(warm(spec))
      const [startMillis, started] = yield* millis(start(session))
      const result = yield* run(started)
      const [exportMillis, exported] = yield* millis(exportTo(started, result, options))
      const callMillis = new Map<string, number>([
        ...result.processors.map((p) => [`processor/${p.id}`, p.durationMillis] as const),
        ...result.plugins.map((p) => [`plugin/${p.id}`, p.durationMillis] as const),
        ["merger/merger", result.durations.merge]
      ])
      const summary: Orchestrator.Summary = {
        ...exported,
        session: spec.session,
        conflicts: result.conflicts,
        resolved: result.resolved,
        durations: {
          warm: warmMillis,
          start: startMillis,
          ...result.durations,
          export: exportMillis,
          total:
            warmMillis +
            startMillis +
            result.durations.process +
            result.durations.merge +
            result.durations.plug +
            exportMillis
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
      return summary
    })
  ).pipe(
    Effect.withSpan("armada.pipeline", { attributes: { session: spec.session } }),
    Effect.annotateLogs("session", spec.session)
  )
