/**
 * The rendering for logs and pipes (stdout is not a terminal): one timestamped line per event, no
 * escape codes, nothing rewritten in place.
 *
 * @since 0.1.0
 */
import type * as Event from "../Event.js"
import type * as RunState from "../RunState.js"
import * as Format from "./Format.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Also print status changes of pulls byte by byte and the orchestrator's log lines. */
  readonly verbose: boolean
}

const stageWidth = 7

const prefixed = (at: number, stage: string, item: string) =>
  `${new Date(at).toISOString()} ${stage.padEnd(stageWidth)} ${item}:`

/** Continuation lines (a hint, the tail of a log) are indented under the event's line. */
const indent = (text: string): Array<string> => text.split("\n").map((line) => `    ${line}`)

const isByteProgress = (status: string) => /^(downloading|extracting|waiting)/i.test(status)

/**
 * The lines of one event; `state` is the state before it (for durations).
 *
 * @since 0.1.0
 * @category rendering
 */
export const event = (state: RunState.RunState, event: Event.Event, options: Options): Array<string> => {
  switch (event._tag) {
    case "RunStarted":
      return [
        `${prefixed(event.at, event.command, event.spec)} session ${event.session} (prefix ${event.prefix})`,
        `${prefixed(event.at, "engine", event.engine.kind)} ${event.engine.address} (${event.engine.reason})`
      ]
    case "StageStarted":
    case "StageDone":
      // The items say what happens; the stages' times are in the summary's document.
      return []
    case "ItemStarted":
      return [`${prefixed(event.at, event.stage, event.item)} ${event.detail ?? "started"}`]
    case "ItemStatus":
      return [`${prefixed(event.at, event.stage, event.item)} ${event.detail}`]
    case "PullProgress": {
      if (!options.verbose && isByteProgress(event.status)) return []
      const layer = event.layer === undefined ? "" : ` layer ${event.layer}`
      const bytes =
        event.current !== undefined && event.total !== undefined
          ? ` ${Format.bytes(event.current)}/${Format.bytes(event.total)}`
          : ""
      return [`${prefixed(event.at, "warm", event.image)} ${event.status}${layer}${bytes}`]
    }
    case "ItemSucceeded": {
      const took = tookSince(state, event.stage, event.item, event.at, event.durationMs)
      return [`${prefixed(event.at, event.stage, event.item)} ${event.detail ?? "done"}${took}`]
    }
    case "ItemFailed": {
      const { failure } = event
      const took = tookSince(state, failure.stage, failure.item, event.at, event.durationMs)
      const [first = "", ...rest] = failure.reason.split("\n")
      return [
        `${prefixed(event.at, failure.stage, failure.item)} FAILED${took}: ${first}`,
        ...rest.flatMap(indent),
        ...(failure.hint === undefined ? [] : indent(`hint: ${failure.hint}`))
      ]
    }
    case "ItemSkipped":
      return [`${prefixed(event.at, event.stage, event.item)} skipped (${event.reason})`]
    case "Interrupting":
      return [
        `${prefixed(event.at, "run", event.session)} interrupted; removing what this run created (press Ctrl-C again to exit at once)`
      ]
    case "Log":
      return options.verbose ? [`${prefixed(event.at, "log", event.level)} ${event.message}`] : []
  }
}

const tookSince = (
  state: RunState.RunState,
  stage: Event.Stage,
  item: string,
  at: number,
  measured: number | undefined
): string => {
  if (measured !== undefined) return ` in ${Format.duration(measured)}`
  const known = state.items.find((candidate) => candidate.stage === stage && candidate.item === item)
  return known === undefined ? "" : ` in ${Format.duration(at - known.startedAt)}`
}
