/**
 * The end of a run, for people: a table of every item (stage, item, status, duration), every
 * failure with its reason and hint (in declared order), the items a failure skipped, and where the
 * output went. Computed from the final document,
 * so what a person reads and what a script reads cannot disagree.
 *
 * @since 0.1.0
 */
import type * as Report from "../Report.js"
import * as Format from "./Format.js"
import type { Style } from "./Style.js"

const statusText = (style: Style, status: Report.Document["items"][number]["status"]) =>
  status === "done"
    ? style.green("ok")
    : status === "failed"
      ? style.red("FAILED")
      : style.yellow("unfinished")

/** `1 item`, `2 items`. */
export const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? "" : "s"}`

const headline = (style: Style, document: Report.Document): string => {
  const took = Format.duration(document.durationMs)
  switch (document.outcome) {
    case "success":
      return style.green(`✔ ${document.command} succeeded in ${took}`)
    case "failed": {
      const skipped = document.skipped.length === 0 ? "" : `, ${document.skipped.length} skipped`
      return style.red(
        `✖ ${document.command} failed in ${took}: ${plural(document.failures.length, "item")} failed${skipped}`
      )
    }
    case "interrupted":
      return style.yellow(`✖ ${document.command} interrupted after ${took}`)
    case "bad-input":
      return style.red(`✖ bad input`)
    case "engine-unreachable":
      return style.red(`✖ the engine is unreachable`)
  }
}

/**
 * The lines of the summary. `verboseTable` lists every item; otherwise only failed and interrupted
 * items are listed when there are more than `maxRows` items.
 *
 * @since 0.1.0
 * @category rendering
 */
export const lines = (
  document: Report.Document,
  style: Style,
  options: { readonly maxRows?: number | undefined } = {}
): Array<string> => {
  const out: Array<string> = []
  if (document.items.length > 0) {
    const maxRows = options.maxRows ?? Number.POSITIVE_INFINITY
    const shown =
      document.items.length <= maxRows
        ? document.items
        : document.items.filter((item) => item.status !== "done")
    out.push(
      "",
      ...Format.table([
        [style.bold("STAGE"), style.bold("ITEM"), style.bold("STATUS"), style.bold("DURATION")],
        ...shown.map((item) => [
          item.stage,
          item.item,
          statusText(style, item.status),
          Format.duration(item.durationMs)
        ])
      ])
    )
    if (shown.length < document.items.length) {
      out.push(style.dim(`(${document.items.length - shown.length} more items succeeded)`))
    }
  }
  if (document.failures.length > 0) {
    out.push("", style.bold("Failures:"))
    for (const failure of document.failures) {
      const image = failure.image === undefined ? "" : ` (${failure.image})`
      const [first = "", ...rest] = failure.reason.split("\n")
      out.push(`  ${style.red("✖")} ${failure.stage} ${style.bold(failure.item)}${image}: ${first}`)
      for (const line of rest) out.push(`      ${line}`)
      if (failure.hint !== undefined) out.push(`      ${style.dim(`hint: ${failure.hint}`)}`)
    }
  }
  if (document.skipped.length > 0) {
    out.push("", style.bold("Skipped:"))
    for (const skipped of document.skipped) {
      out.push(`  ${style.yellow("-")} ${skipped.stage} ${style.bold(skipped.item)}: ${skipped.reason}`)
    }
  }
  if (document.error !== undefined) {
    const [first = "", ...rest] = document.error.reason.split("\n")
    out.push("", `${style.red("error:")} ${first}`, ...rest.map((line) => `  ${line}`))
    if (document.error.hint !== undefined) out.push(style.dim(`hint: ${document.error.hint}`))
  }
  out.push("", headline(style, document))
  if (document.output !== undefined) {
    const files = document.output.files === undefined ? "" : ` (${document.output.files} files`
    const conflicts = document.output.conflicts.length
    const settled = document.output.resolved?.length ?? 0
    const how =
      settled === 0
        ? " resolved last-write-wins"
        : settled === conflicts
          ? " settled by resolvers"
          : `: ${settled} settled by resolvers, ${conflicts - settled} last-write-wins`
    const merged =
      document.output.files === undefined
        ? ""
        : conflicts === 0
          ? ")"
          : `, ${plural(conflicts, "merge conflict")}${how})`
    out.push(`Output: ${style.bold(document.output.path)}${files}${merged}`)
  }
  if (document.cleanupCommand !== undefined) {
    out.push(`To remove what this run left in place: ${style.bold(document.cleanupCommand)}`)
  }
  return out
}
