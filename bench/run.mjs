#!/usr/bin/env node
// `pnpm bench <name>` runs bench/<name>.mjs (built packages: run `pnpm build` first).
import { readdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const available = readdirSync(here)
  .filter((f) => f.endsWith(".bench.mjs"))
  .map((f) => f.replace(/\.bench\.mjs$/, ""))
const [name, ...rest] = process.argv.slice(2)
if (name === undefined || !available.includes(name)) {
  console.error(`usage: pnpm bench <${available.join("|")}> [options]`)
  process.exit(2)
}
process.argv = [process.argv[0], join(here, `${name}.bench.mjs`), ...rest]
await import(join(here, `${name}.bench.mjs`))
