/**
 * The live view on a terminal: one line per item with its state and elapsed time, pull progress
 * bars with bytes and rate, and a footer with the counts. `frame` is pure (state + clock →
 * lines); `Screen.ts` draws successive frames in place.
 *
 * @since 0.1.0
 */
import * as RunState from "../RunState.js"
import * as Format from "./Format.js"
import type { Style } from "./Style.js"

const spinner = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"] as const

/**
 * @since 0.1.0
 * @category models
 */
export interface Size {
  readonly columns: number
  readonly rows: number
}

const pullText = (pull: RunState.Pull, now: number): string => {
  const { current, total } = RunState.pullBytes(pull)
  const seconds = (now - pull.firstAt) / 1000
  const rate = seconds > 0 ? `${Format.bytes(current / seconds)}/s` : ""
  if (total === 0) return `pulling (${pull.lastStatus})`
  return `pulling ${Format.bar(current, total, 20)} ${Format.bytes(current)}/${Format.bytes(total)} ${rate}`.trimEnd()
}

/** Docker's short layer id, and what the layer is doing. */
const layerLines = (style: Style, pull: RunState.Pull, indent: number): Array<string> =>
  Object.entries(pull.layers)
    .filter(([, layer]) => !/complete|already exists/i.test(layer.status))
    .map(([id, layer]) => {
      const bytes = layer.total > 0 ? ` ${Format.bytes(layer.current)}/${Format.bytes(layer.total)}` : ""
      return style.dim(`${" ".repeat(indent)}${id.slice(0, 12)} ${layer.status}${bytes}`)
    })

const itemLine = (style: Style, item: RunState.Item, now: number, itemWidth: number): string => {
  const icon =
    item.status === "running"
      ? style.cyan(spinner[Math.floor(now / 80) % spinner.length]!)
      : item.status === "done"
        ? style.green("✔")
        : style.red("✖")
  const state =
    item.status === "running" && item.pull !== undefined
      ? pullText(item.pull, now)
      : item.status === "failed"
        ? style.red((item.detail ?? "failed").split("\n")[0]!)
        : (item.detail ?? (item.status === "done" ? "done" : "running"))
  const elapsed = style.dim(Format.duration(RunState.elapsed(item, now)).padStart(7))
  return ` ${icon} ${item.stage.padEnd(7)} ${Format.padEnd(nameOf(item, itemWidth), itemWidth)} ${elapsed}  ${state}`
}

/** An image's digest as Docker's short ids show it: its first 12 hex digits. */
const shortDigest = (name: string) => name.replace(/@sha256:([0-9a-f]{12})[0-9a-f]{52}/, "@sha256:$1…")

/** An item's name in at most `columns` columns: a long one keeps its end (`…/team/app:v1`). */
const nameOf = (item: RunState.Item, columns: number) => Format.truncateStart(shortDigest(item.item), columns)

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** Under each running pull, a line per layer still in progress (`--verbose`), room permitting. */
  readonly layers?: boolean | undefined
}

/**
 * The lines of the live view at `now`, cut to the terminal: never wider than `size.columns` (so
 * nothing wraps) and never taller than `size.rows` (finished items fold into one line first, and
 * layer lines are left out when they would not fit).
 *
 * @since 0.1.0
 * @category rendering
 */
export const frame = (
  state: RunState.RunState,
  now: number,
  size: Size,
  style: Style,
  options: Options = {}
): Array<string> => {
  const { header } = state
  const head = `${style.bold(`armada ${header.command}`)} ${header.spec} ${style.dim(
    `· session ${header.session} · ${header.engine.kind} ${header.engine.address}`
  )}`
  // The names take what the terminal leaves beside a pull's bar and bytes, at least 32 columns.
  const itemWidth = Math.min(
    Math.max(32, size.columns - 80),
    Math.max(4, ...state.items.map((item) => Format.width(shortDigest(item.item))))
  )
  const counts = RunState.counts(state)
  const footer = [
    `${counts.done} done`,
    `${counts.running} running`,
    counts.failed === 0 ? "0 failed" : style.red(`${counts.failed} failed`),
    Format.duration(now - header.at)
  ].join(" · ")
  const tail: Array<string> = [style.dim(` ${footer}`)]
  if (state.interruptedAt !== undefined) {
    tail.push(style.yellow(" Interrupted: removing what this run created… (Ctrl-C again to exit at once)"))
  }
  const room = Math.max(1, size.rows - 1 - tail.length)
  let items = state.items
  let folded = 0
  if (items.length > room) {
    // Keep what still needs attention; fold the oldest finished items into one line.
    const keep = new Set(items.filter((item) => item.status !== "done"))
    const done = items.filter((item) => item.status === "done")
    const doneRoom = Math.max(0, room - 1 - keep.size)
    for (const item of done.slice(done.length - doneRoom)) keep.add(item)
    items = items.filter((item) => keep.has(item)).slice(-(room - 1))
    folded = state.items.length - items.length
  }
  const itemLines = items.map((item) => [
    itemLine(style, item, now, itemWidth),
    ...(options.layers === true && item.status === "running" && item.pull !== undefined
      ? layerLines(style, item.pull, 13)
      : [])
  ])
  const withLayers = itemLines.flat()
  const lines = [
    head,
    ...(folded > 0 ? [style.dim(` … ${folded} more`)] : []),
    ...(withLayers.length + (folded > 0 ? 1 : 0) <= room ? withLayers : itemLines.map(([line]) => line!)),
    ...tail
  ]
  return lines.map((line) => Format.truncate(line, size.columns))
}
