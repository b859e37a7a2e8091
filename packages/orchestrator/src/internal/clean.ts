/** @internal */
import { type InputError, Names, Parallel } from "@armada/core"
import type { ContainerEngine, ContainerEngineError } from "@armada/engine"
import { Effect } from "effect"
import type * as Orchestrator from "../Orchestrator.js"
import * as resources from "./resources.js"

/** @internal */
export const clean = (
  target: Orchestrator.CleanTarget,
  options: Orchestrator.CleanOptions = {}
): Effect.Effect<
  Orchestrator.CleanOutcome,
  ContainerEngineError.ContainerEngineError | InputError,
  ContainerEngine
> =>
  Effect.gen(function* () {
    const prefix = options.prefix ?? Names.defaultPrefix
    // Refuse a bad limit before anything is looked for.
    yield* Parallel.resolveConcurrency(options.concurrency)
    const session = "session" in target ? target.session : undefined
    const found = yield* "pools" in target
      ? resources.find(prefix, {}, (labels) => resources.poolLabel(prefix) in labels)
      : resources.find(prefix, session === undefined ? {} : Names.labelFilter(prefix, session))
    return yield* resources.remove(found, { prefix, concurrency: options.concurrency, label: { session } })
  }).pipe(
    Effect.withSpan("Orchestrator.clean", { attributes: { target } }),
    Effect.annotateLogs("session", "session" in target ? target.session : "*")
  )
