/**
 * Small pure formatters shared by the renderers.
 *
 * @since 0.1.0
 */

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

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escapes is the point
const ansiPattern = /\x1b\[[0-9;?]*[ -/]*[@-~]/g

/**
 * The text without ANSI escape sequences.
 *
 * @since 0.1.0
 * @category formatting
 */
export const stripAnsi = (text: string): string => text.replace(ansiPattern, "")

/**
 * Cuts a line to `width` visible characters (escape sequences kept, not counted), marking the
 * cut with `…`, so a live frame never wraps and its cursor arithmetic stays right.
 *
 * @since 0.1.0
 * @category formatting
 */
export const truncate = (line: string, width: number): string => {
  if (stripAnsi(line).length <= width) return line
  let visible = 0
  let out = ""
  let index = 0
  while (index < line.length && visible < width - 1) {
    ansiPattern.lastIndex = index
    const match = ansiPattern.exec(line)
    if (match !== null && match.index === index) {
      out += match[0]
      index += match[0].length
      continue
    }
    out += line[index]
    index++
    visible++
  }
  return `${out}…\x1b[0m`
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
      widths[column] = Math.max(widths[column] ?? 0, stripAnsi(cell).length)
    })
  }
  return rows.map((row) =>
    row
      .map((cell, column) =>
        column === row.length - 1 ? cell : cell + " ".repeat(widths[column]! - stripAnsi(cell).length)
      )
      .join("  ")
      .trimEnd()
  )
}
