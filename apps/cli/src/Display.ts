/**
 * Shows a running command: stamps each event, folds it into the run's state and hands it to the
 * renderer of the chosen mode — the live view on a terminal, plain lines on a pipe, NDJSON with
 * `--json`, or nothing but the ending with `--quiet` — then prints the ending (summary table or
 * the final JSON document).
 *
 * @since 0.1.0
 */
import { Interruption } from "@armada/core"
import { Clock, Effect, Fiber, Ref, Schedule, Schema, type Scope } from "effect"
import * as Event from "./Event.js"
import { Output } from "./Output.js"
import * as Report from "./Report.js"
import * as RunState from "./RunState.js"
import * as Live from "./render/Live.js"
import * as Plain from "./render/Plain.js"
import * as Screen from "./render/Screen.js"
import * as Style from "./render/Style.js"
import * as Summary from "./render/Summary.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Mode = "live" | "plain" | "json" | "quiet"

/**
 * @since 0.1.0
 * @category models
 */
export interface Flags {
  readonly json: boolean
  readonly quiet: boolean
  readonly verbose: boolean
}

/**
 * `--json` wins over `--quiet`; otherwise a terminal gets the live view and anything else plain
 * lines.
 *
 * @since 0.1.0
 * @category constructors
 */
export const mode = (flags: Flags, isTTY: boolean): Mode =>
  flags.json ? "json" : flags.quiet ? "quiet" : isTTY ? "live" : "plain"

/**
 * @since 0.1.0
 * @category models
 */
export interface Display {
  readonly mode: Mode
  readonly emit: (event: Event.Unstamped) => Effect.Effect<void>
  readonly state: Effect.Effect<RunState.RunState>
  /** Stops the live view and prints the ending; returns the document it printed. */
  readonly finish: (ending: Omit<Report.Ending, "finishedAt">) => Effect.Effect<Report.Document>
}

const encodeEvent = Schema.encodeSync(Schema.parseJson(Event.Event))
const encodeDocument = Schema.encodeSync(Schema.parseJson(Report.Document))

/**
 * A JSON line of one event, as `--json` prints it.
 *
 * @since 0.1.0
 * @category rendering
 */
export const jsonLine = (event: Event.Event): string => `${encodeEvent(event)}\n`

/**
 * The final JSON line of `--json`.
 *
 * @since 0.1.0
 * @category rendering
 */
export const jsonDocument = (document: Report.Document): string => `${encodeDocument(document)}\n`

const stamp = (event: Event.Unstamped, at: number): Event.Event => ({ ...event, at }) as Event.Event

/**
 * Starts showing a command whose first event is `started`; `declared` orders its failures. In
 * live mode a fiber redraws about twelve times a second until `finish` (or the scope's end).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  flags: Flags,
  started: Omit<Event.Event & { readonly _tag: "RunStarted" }, "at">,
  declared: RunState.Declared = {}
): Effect.Effect<Display, never, Output | Scope.Scope> =>
  Effect.gen(function* () {
    const output = yield* Output
    const displayMode = mode(flags, output.isTTY)
    const style = displayMode === "live" ? Style.ansi : Style.plain
    const header = stamp(started, yield* Clock.currentTimeMillis) as Event.Event & { _tag: "RunStarted" }
    const initial = RunState.make(header, declared)
    const state = yield* Ref.make(initial)
    const height = yield* Ref.make(0)

    const draw = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const lines = Live.frame(yield* Ref.get(state), now, yield* output.size, style, {
        layers: flags.verbose
      })
      const previous = yield* Ref.getAndSet(height, lines.length)
      yield* output.stdout(Screen.frame(previous, lines))
    })

    const render = (before: RunState.RunState, event: Event.Event): Effect.Effect<void> => {
      switch (displayMode) {
        case "json":
          return output.stdout(jsonLine(event))
        case "plain": {
          const lines = Plain.event(before, event, { verbose: flags.verbose })
          return lines.length === 0 ? Effect.void : output.stdout(`${lines.join("\n")}\n`)
        }
        case "live":
        case "quiet":
          return Effect.void
      }
    }

    const emitStamped = (event: Event.Event) =>
      Effect.flatMap(
        Ref.modify(state, (before) => [before, RunState.reduce(before, event)] as const),
        (before) => render(before, event)
      )

    const emit = (event: Event.Unstamped) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) => emitStamped(stamp(event, at)))

    yield* render(initial, header)

    let ticker: Fiber.RuntimeFiber<unknown> | undefined
    if (displayMode === "live") {
      yield* output.stdout(Screen.hideCursor)
      ticker = yield* Effect.forkScoped(Effect.repeat(draw, Schedule.spaced("80 millis")))
      yield* Interruption.addFinalizer(() => output.stdout(Screen.showCursor))
    }

    const finish = (ending: Omit<Report.Ending, "finishedAt">) =>
      Effect.gen(function* () {
        if (ticker !== undefined) {
          yield* Fiber.interrupt(ticker)
          yield* draw
          yield* output.stdout(Screen.showCursor)
        }
        const finishedAt = yield* Clock.currentTimeMillis
        const document = Report.fromState(yield* Ref.get(state), { ...ending, finishedAt })
        yield* Effect.provideService(printDocument(displayMode, style, document), Output, output)
        return document
      })

    return { mode: displayMode, emit, state: Ref.get(state), finish }
  })

/**
 * Prints the ending of a command in `mode`: the JSON document, or the summary for people
 * (without the table of items when quiet).
 *
 * @since 0.1.0
 * @category rendering
 */
export const printDocument = (
  displayMode: Mode,
  style: Style.Style,
  document: Report.Document
): Effect.Effect<void, never, Output> =>
  Effect.flatMap(Output, (output) => {
    if (displayMode === "json") return output.stdout(jsonDocument(document))
    const shown = displayMode === "quiet" ? { ...document, items: [] } : document
    const lines = Summary.lines(shown, style)
    const text = `${(displayMode === "quiet" ? lines.filter((line) => line !== "") : lines).join("\n")}\n`
    return document.outcome === "success" || displayMode !== "quiet"
      ? output.stdout(text)
      : output.stderr(text)
  })
