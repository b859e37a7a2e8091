/**
 * The state of a run as the CLI sees it: a pure fold over its events. The live view, the
 * summary table and the final JSON document are all computed from it.
 *
 * @since 0.1.0
 */
import type * as Event from "./Event.js"

/**
 * Bytes of one pull so far, summed over its layers.
 *
 * @since 0.1.0
 * @category models
 */
export interface Pull {
  readonly layers: Readonly<Record<string, { readonly current: number; readonly total: number }>>
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
 * @since 0.1.0
 * @category models
 */
export interface RunState {
  readonly header: Event.Event & { readonly _tag: "RunStarted" }
  /** In order of first appearance. */
  readonly items: ReadonlyArray<Item>
  readonly failures: ReadonlyArray<Event.FailureInfo>
  readonly interruptedAt: number | undefined
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (header: Event.Event & { readonly _tag: "RunStarted" }): RunState => ({
  header,
  items: [],
  failures: [],
  interruptedAt: undefined
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
  return { ...base, lastStatus: event.status, layers: { ...base.layers, [event.layer]: { current, total } } }
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
      const next = upsert(state, event.failure.stage, event.failure.item, event.at, (item) => ({
        ...item,
        status: "failed",
        detail: event.failure.reason,
        startedAt: event.durationMs === undefined ? item.startedAt : event.at - event.durationMs,
        finishedAt: event.at
      }))
      return { ...next, failures: [...next.failures, event.failure] }
    }
    case "Interrupting":
      return { ...state, interruptedAt: state.interruptedAt ?? event.at }
    case "Log":
      return state
  }
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
