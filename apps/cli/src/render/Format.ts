/**
 * Small pure formatters shared by the renderers. Widths are terminal columns (string-width), not
 * string lengths: a CJK character or an emoji takes two.
 *
 * @since 0.1.0
 */
import ansiRegex from "ansi-regex"
import stringWidth from "string-width"
import * as Style from "./Style.js"

/**
 * `840ms`, `1.2s`, `2m05s`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const duration = (millis: number): string => {
  const ms = Math.max(0, Math.round(millis))
  if (ms < 1000) return `${ms}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  const minutes = Math.floor(ms / 60_000)
  const seconds = Math.floor((ms % 60_000) / 1000)
  return `${minutes}m${String(seconds).padStart(2, "0")}s`
}

const units = ["B", "kB", "MB", "GB", "TB"] as const

/**
 * Decimal units, as Docker prints them: `512 B`, `12.3 MB`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const bytes = (n: number): string => {
  let value = Math.max(0, n)
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`
}

/**
 * A progress bar of `width` cells; an unknown total gives an empty bar.
 *
 * @since 0.1.0
 * @category formatting
 */
export const bar = (current: number, total: number, width: number): string => {
  const filled = total > 0 ? Math.min(width, Math.round((current / total) * width)) : 0
  return `${"█".repeat(filled)}${"░".repeat(width - filled)}`
}

const graphemes = new Intl.Segmenter("en", { granularity: "grapheme" })

/**
 * The columns `text` takes on a terminal: escape sequences none, wide characters (CJK, most
 * emoji) two, combining marks none.
 *
 * @since 0.1.0
 * @category formatting
 */
export const width = (text: string): number => stringWidth(text)

/**
 * `text` followed by spaces up to `columns` columns.
 *
 * @since 0.1.0
 * @category formatting
 */
export const padEnd = (text: string, columns: number): string =>
  text + " ".repeat(Math.max(0, columns - width(text)))

/**
 * Cuts a line to `columns` columns (escape sequences kept, not counted; a wide character that
 * would cross the edge left out), marking the cut with `…`, so a live frame never wraps and its
 * cursor arithmetic stays right.
 *
 * @since 0.1.0
 * @category formatting
 */
export const truncate = (line: string, columns: number): string => {
  if (width(line) <= columns) return line
  const room = columns - 1
  let used = 0
  let cut = ""
  let styled = false
  const ending = () => `${cut}…${styled ? Style.reset : ""}`
  /** Adds the characters of `text` that fit; false at the first that does not. */
  const fit = (text: string): boolean => {
    for (const { segment } of graphemes.segment(text)) {
      const cells = width(segment)
      if (used + cells > room) return false
      cut += segment
      used += cells
    }
    return true
  }
  let from = 0
  for (const sequence of line.matchAll(ansiRegex())) {
    if (!fit(line.slice(from, sequence.index))) return ending()
    cut += sequence[0]
    styled = true
    from = sequence.index + sequence[0].length
  }
  fit(line.slice(from))
  return ending()
}

/**
 * Keeps the end of `text` (plain, without escape sequences) in `columns` columns, marking the cut
 * with a leading `…`: for names whose end says most (`…/team/app:v1`).
 *
 * @since 0.2.0
 * @category formatting
 */
export const truncateStart = (text: string, columns: number): string => {
  if (width(text) <= columns) return text
  const kept: Array<string> = []
  let used = 0
  for (const { segment } of [...graphemes.segment(text)].reverse()) {
    const cells = width(segment)
    if (used + cells > columns - 1) break
    kept.unshift(segment)
    used += cells
  }
  return `…${kept.join("")}`
}

/**
 * Left-aligned columns separated by two spaces; the last column is not padded.
 *
 * @since 0.1.0
 * @category formatting
 */
export const table = (rows: ReadonlyArray<ReadonlyArray<string>>): Array<string> => {
  const widths: Array<number> = []
  for (const row of rows) {
    row.forEach((cell, column) => {
      widths[column] = Math.max(widths[column] ?? 0, width(cell))
    })
  }
  return rows.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : padEnd(cell, widths[column]!)))
      .join("  ")
      .trimEnd()
  )
}
