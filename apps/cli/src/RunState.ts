/**
 * The state of a run as the CLI sees it: a pure fold over its events. The live view, the
 * summary table and the final JSON document are all computed from it.
 *
 * @since 0.1.0
 */
import { Array as Arr, Order } from "effect"
import * as Event from "./Event.js"

/**
 * One layer of a pull: its bytes downloaded so far and its last status.
 *
 * @since 0.2.0
 * @category models
 */
export interface Layer {
  readonly current: number
  readonly total: number
  readonly status: string
}

/**
 * Bytes of one pull so far, summed over its layers.
 *
 * @since 0.1.0
 * @category models
 */
export interface Pull {
  readonly layers: Readonly<Record<string, Layer>>
  readonly firstAt: number
  readonly lastStatus: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Item {
  readonly stage: Event.Stage
  readonly item: string
  readonly status: "running" | "done" | "failed"
  readonly detail: string | undefined
  readonly startedAt: number
  readonly finishedAt: number | undefined
  readonly pull: Pull | undefined
}

/**
 * One stage's time: when it began, and how long it took once it ended.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stage {
  readonly stage: Event.Stage
  readonly startedAt: number
  readonly durationMs: number | undefined
}

/**
 * The items of each stage in the order the spec declares them (processors by their index, then
 * plugins, then the merger).
 *
 * @since 0.1.0
 * @category models
 */
export type Declared = Readonly<Partial<Record<Event.Stage, ReadonlyArray<string>>>>

/**
 * @since 0.1.0
 * @category models
 */
export interface RunState {
  readonly header: Event.Event & { readonly _tag: "RunStarted" }
  readonly declared: Declared
  /** The stages that began, in order. */
  readonly stages: ReadonlyArray<Stage>
  /** In order of first appearance. */
  readonly items: ReadonlyArray<Item>
  /** In order of arrival. */
  readonly failures: ReadonlyArray<Event.FailureInfo>
  readonly skipped: ReadonlyArray<Event.SkippedInfo>
  readonly interruptedAt: number | undefined
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  header: Event.Event & { readonly _tag: "RunStarted" },
  declared: Declared = {}
): RunState => ({
  header,
  declared,
  stages: [],
  items: [],
  failures: [],
  skipped: [],
  interruptedAt: undefined
})

const withStage = (state: RunState, stage: Stage): RunState => ({
  ...state,
  stages: [...state.stages.filter((known) => known.stage !== stage.stage), stage]
})

const sameItem = (stage: Event.Stage, item: string) => (candidate: Item) =>
  candidate.stage === stage && candidate.item === item

const upsert = (
  state: RunState,
  stage: Event.Stage,
  item: string,
  at: number,
  f: (current: Item) => Item
): RunState => {
  const index = state.items.findIndex(sameItem(stage, item))
  if (index === -1) {
    const fresh: Item = {
      stage,
      item,
      status: "running",
      detail: undefined,
      startedAt: at,
      finishedAt: undefined,
      pull: undefined
    }
    return { ...state, items: [...state.items, f(fresh)] }
  }
  const items = state.items.slice()
  items[index] = f(items[index]!)
  return { ...state, items }
}

const pullStage: Event.Stage = "warm"

const withPull = (pull: Pull | undefined, event: Event.Event & { readonly _tag: "PullProgress" }): Pull => {
  const base: Pull = pull ?? { layers: {}, firstAt: event.at, lastStatus: event.status }
  if (event.layer === undefined) return { ...base, lastStatus: event.status }
  const previous = base.layers[event.layer]
  const finished = /complete|already exists/i.test(event.status)
  const total = event.total ?? previous?.total ?? 0
  // Only download bytes count; "Extracting" reports its own current/total, which would double them.
  const current = finished
    ? total
    : /download/i.test(event.status) && event.current !== undefined
      ? event.current
      : (previous?.current ?? 0)
  return {
    ...base,
    lastStatus: event.status,
    layers: { ...base.layers, [event.layer]: { current, total, status: event.status } }
  }
}

/** A failed pull also ends the row of its image, whose progress it showed until then. */
const withPullEnded = (state: RunState, failure: Event.FailureInfo, at: number): RunState => {
  if (failure.stage !== pullStage || failure.image === undefined) return state
  const pulling = state.items.find(sameItem(pullStage, failure.image))
  if (pulling === undefined || pulling.status !== "running") return state
  return upsert(state, pullStage, failure.image, at, (item) => ({
    ...item,
    status: "failed",
    detail: failure.reason,
    finishedAt: at
  }))
}

/**
 * The next state after `event`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const reduce = (state: RunState, event: Event.Event): RunState => {
  switch (event._tag) {
    case "RunStarted":
      return { ...state, header: event }
    case "StageStarted":
      return withStage(state, { stage: event.stage, startedAt: event.at, durationMs: undefined })
    case "StageDone": {
      const started = state.stages.find((known) => known.stage === event.stage)
      return withStage(state, {
        stage: event.stage,
        startedAt: started?.startedAt ?? event.at - event.durationMs,
        durationMs: event.durationMs
      })
    }
    case "ItemStarted":
      return upsert(state, event.stage, event.item, event.at, (item) => ({
        ...item,
        status: "running",
        detail: event.detail,
        startedAt: event.at,
        finishedAt: undefined
      }))
    case "ItemStatus":
      return upsert(state, event.stage, event.item, event.at, (item) => ({ ...item, detail: event.detail }))
    case "PullProgress":
      return upsert(state, pullStage, event.image, event.at, (item) => ({
        ...item,
        detail: "pulling",
        pull: withPull(item.pull, event)
      }))
    case "ItemSucceeded":
      return upsert(state, event.stage, event.item, event.at, (item) => ({
        ...item,
        status: "done",
        detail: event.detail ?? "done",
        startedAt: event.durationMs === undefined ? item.startedAt : event.at - event.durationMs,
        finishedAt: event.at
      }))
    case "ItemFailed": {
      const next = upsert(
        withPullEnded(state, event.failure, event.at),
        event.failure.stage,
        event.failure.item,
        event.at,
        (item) => ({
          ...item,
          status: "failed",
          detail: event.failure.reason,
          startedAt: event.durationMs === undefined ? item.startedAt : event.at - event.durationMs,
          finishedAt: event.at
        })
      )
      return { ...next, failures: [...next.failures, event.failure] }
    }
    case "ItemSkipped":
      return {
        ...state,
        skipped: [...state.skipped, { stage: event.stage, item: event.item, reason: event.reason }]
      }
    case "Interrupting":
      return { ...state, interruptedAt: state.interruptedAt ?? event.at }
    case "Log":
      return state
  }
}

/**
 * The failures in declared order: by stage, then in the order the spec declares the items (an
 * item the spec does not declare, such as a volume or a conflicting file, after those, by name).
 * The same failures give the same list, whatever order they arrived in.
 *
 * @since 0.1.0
 * @category getters
 */
export const failuresInOrder = (state: RunState): ReadonlyArray<Event.FailureInfo> => {
  const rank = (failure: Event.FailureInfo) => {
    const index = state.declared[failure.stage]?.indexOf(failure.item) ?? -1
    return index === -1 ? Number.POSITIVE_INFINITY : index
  }
  const stageOf = (failure: Event.FailureInfo) => Event.stages.indexOf(failure.stage)
  // The sort is stable: failures of the same item keep their order of arrival.
  return Arr.sort(
    state.failures,
    Order.combine(
      Order.combine(Order.mapInput(Order.number, stageOf), Order.mapInput(Order.number, rank)),
      Order.mapInput(Order.string, (failure: Event.FailureInfo) => failure.item)
    )
  )
}

/**
 * Downloaded and total bytes of a pull, summed over its layers.
 *
 * @since 0.1.0
 * @category getters
 */
export const pullBytes = (pull: Pull): { readonly current: number; readonly total: number } => {
  let current = 0
  let total = 0
  for (const layer of Object.values(pull.layers)) {
    current += layer.current
    total += layer.total
  }
  return { current, total }
}

/**
 * How long an item ran (until `now` while it still runs).
 *
 * @since 0.1.0
 * @category getters
 */
export const elapsed = (item: Item, now: number): number => (item.finishedAt ?? now) - item.startedAt

/**
 * @since 0.1.0
 * @category getters
 */
export const counts = (
  state: RunState
): { readonly running: number; readonly done: number; readonly failed: number } => {
  let running = 0
  let done = 0
  let failed = 0
  for (const item of state.items) {
    if (item.status === "running") running++
    else if (item.status === "done") done++
    else failed++
  }
  return { running, done, failed }
}
