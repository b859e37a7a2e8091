/**
 * docs/reliability.md is written by the suite from what it tried. Each suite file saves its section
 * (a few figures and tables) as JSON in `.results/` when it ends, then the whole document is
 * rendered again from every saved section, so it always shows the latest run of each part and
 * says when that was.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const here = fileURLToPath(new URL(".", import.meta.url))
const resultsDir = join(here, ".results")
const root = fileURLToPath(new URL("../../", import.meta.url))
const documentPath = join(root, "docs", "reliability.md")
const biome = join(root, "node_modules", ".bin", "biome")

export interface Table {
  readonly title?: string
  readonly columns: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<string | number | boolean>>
}

export interface Section {
  readonly title: string
  /** How the suite ran this part: engine, entry point, sizes. */
  readonly how: string
  /** One line per figure: `runs: 30`, `leftovers found: 0`. */
  readonly figures: ReadonlyArray<string>
  readonly tables: ReadonlyArray<Table>
  readonly notes?: ReadonlyArray<string>
}

/** The sections, in the order of the document, by the file that writes each. */
const order = ["faults", "interrupts", "engine", "load", "input", "isolation", "sessions"] as const
export type SectionName = (typeof order)[number]

const cell = (value: string | number | boolean): string =>
  String(value).replaceAll("|", "\\|").replaceAll("\n", " ")

const renderTable = (table: Table): string =>
  [
    ...(table.title === undefined ? [] : [`**${table.title}**`, ""]),
    `| ${table.columns.map(cell).join(" | ")} |`,
    `| ${table.columns.map(() => "---").join(" | ")} |`,
    ...table.rows.map((row) => `| ${row.map(cell).join(" | ")} |`)
  ].join("\n")

const renderSection = (number: number, section: Section & { readonly at: string }): string =>
  [
    `## ${number}. ${section.title}`,
    "",
    `_Last run: ${section.at}._ ${section.how}`,
    "",
    ...section.figures.map((figure) => `- ${figure}`),
    "",
    ...section.tables.flatMap((table) => [renderTable(table), ""]),
    ...(section.notes ?? []).flatMap((note) => [note, ""])
  ].join("\n")

const header = `# Reliability and security: what the suite tried

This file is written by the reliability suite (\`tests/reliability\`, issue 8) from what it actually
ran; do not edit it by hand. It is part of the test run (\`./scripts/test\`, and so of CI); on its own:

\`\`\`sh
pnpm build && pnpm test:reliability
\`\`\`

(about 6 minutes on a 2-core machine). Every resource the suite
creates carries a prefix of its own, \`armadaqa\` and 4 random characters new for each test process
(\`<prefix>.managed=true\` plus the session label), so it finds and removes only its own; every suite file ends by asserting that nothing labelled \`<prefix>.managed=true\`
remains. "Leftovers" below are counted with the \`docker\` CLI, independently of the code under test.
`

/** Saves `section` and renders the whole document again. */
export const save = (name: SectionName, section: Section): void => {
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(
    join(resultsDir, `${name}.json`),
    JSON.stringify({ ...section, at: new Date().toISOString() }, null, 2)
  )
  render()
}

/**
 * The document's numbered sections as they stand, by number: a part this checkout has no saved
 * result for (a run of one suite file) keeps what the last run of it wrote.
 */
const writtenSections = (): Map<number, string> => {
  const text = existsSync(documentPath) ? readFileSync(documentPath, "utf8") : ""
  return new Map(
    text.split(/^(?=## \d+\. )/m).flatMap((part) => {
      const number = /^## (\d+)\. /.exec(part)?.[1]
      return number === undefined ? [] : [[Number(number), `${part.trimEnd()}\n`] as const]
    })
  )
}

export const render = (): void => {
  const written = writtenSections()
  const parts = order.map((name, index) => {
    const file = join(resultsDir, `${name}.json`)
    if (!existsSync(file)) return written.get(index + 1) ?? `## ${index + 1}. ${name}\n\n_Not run yet._\n`
    return renderSection(index + 1, JSON.parse(readFileSync(file, "utf8")) as Section & { at: string })
  })
  writeFileSync(documentPath, `${[header, ...parts].join("\n").trimEnd()}\n`)
  // As the project's formatter prints it (CI checks docs too): padded table columns.
  execFileSync(biome, ["format", "--write", documentPath], { cwd: root, stdio: "ignore" })
}
