/**
 * How a test scripts the in-memory engine: the faults, latencies and exit rules it sets, the
 * record of the calls that reached the engine, and the `MemoryEngine` control service.
 *
 * @internal
 */
import { Duration, Effect, Option } from "effect"
import * as Archive from "../Archive.js"
import type * as ContainerEngineError from "../ContainerEngineError.js"
import type { Call, Fault, MemoryEngine, Operation, Run } from "../MemoryEngine.js"
import * as State from "./memoryState.js"

interface Latency {
  readonly operation?: Operation | undefined
  readonly name?: string | undefined
  readonly latency: Duration.Duration
}

/** @internal */
export interface Script {
  faults: Array<Fault & { remaining: number }>
  latencies: Array<Latency>
  exitRules: Map<string, Run & { readonly exitCode: number }>
  readonly calls: Array<Call>
}

/** @internal */
export const make = (): Script => ({ faults: [], latencies: [], exitRules: new Map(), calls: [] })

/**
 * Records the call, then waits for latency and fails with an injected fault, if any. A rule's
 * name matches the name given, or for a container also its name or id when given the other.
 *
 * @internal
 */
export const engineCall =
  (script: Script, state: State.State) =>
  (
    operation: Operation,
    name: string | undefined
  ): Effect.Effect<void, ContainerEngineError.ContainerEngineError> =>
    Effect.gen(function* () {
      script.calls.push({ operation, name })
      const container = name === undefined ? Option.none() : State.findContainer(state, name)
      const names = Option.match(container, {
        onNone: () => [name],
        onSome: (found) => [name, found.spec.name, found.id]
      })
      const hit = (rule: { operation?: Operation | "*" | undefined; name?: string | undefined }) =>
        (rule.operation === undefined || rule.operation === "*" || rule.operation === operation) &&
        (rule.name === undefined || names.includes(rule.name))
      const delay = script.latencies
        .filter(hit)
        .reduce((sum, rule) => Duration.sum(sum, rule.latency), Duration.zero)
      if (Duration.greaterThan(delay, Duration.zero)) yield* Effect.sleep(delay)
      const fault = script.faults.find(hit)
      if (fault !== undefined) {
        fault.remaining--
        if (fault.remaining <= 0) script.faults = script.faults.filter((f) => f !== fault)
        return yield* Effect.fail(typeof fault.error === "function" ? fault.error(name) : fault.error)
      }
    })

/** @internal */
export const control = (script: Script, state: State.State): MemoryEngine.Service => ({
  fail: (fault) =>
    Effect.sync(
      () => void script.faults.push({ ...fault, remaining: fault.times ?? Number.POSITIVE_INFINITY })
    ),
  addLatency: ({ operation, name, latency }) =>
    Effect.sync(() => void script.latencies.push({ operation, name, latency: Duration.decode(latency) })),
  exitAfterStart: (container, run) => Effect.sync(() => void script.exitRules.set(container, run)),
  reset: Effect.sync(() => {
    script.faults = []
    script.latencies = []
    script.exitRules = new Map()
  }),
  exit: (ref, exitCode, logs = []) =>
    Effect.flatMap(State.requireContainer(state, ref), (container) =>
      Effect.suspend(() => {
        container.logs.push(...logs)
        return State.exitContainer(container, exitCode)
      })
    ),
  appendLogs: (ref, lines) =>
    Effect.map(State.requireContainer(state, ref), (container) => void container.logs.push(...lines)),
  addImage: (preset) => Effect.sync(() => State.addImage(state, preset)),
  readVolume: (name) => Effect.map(State.requireVolume(state, name), (volume) => volume.tree),
  writeVolume: (name, path, entries) =>
    Effect.map(State.requireVolume(state, name), (volume) => {
      volume.tree = Archive.put(volume.tree, State.relative(path), entries)
    }),
  calls: Effect.sync(() => [...script.calls])
})
