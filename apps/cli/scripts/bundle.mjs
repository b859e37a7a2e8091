#!/usr/bin/env node
// Bundles the CLI into one file, dist/bin.js (over what tsc emitted there), with esbuild. One
// file loads several times faster than the thousand modules it is made of, and a CLI's start-up
// is part of every command: `armada` with an unreachable engine must answer within 2 s even on a
// busy machine. Workspace packages come from their sources, as in the tests.
import { readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { buildSync } from "esbuild"

const app = join(dirname(fileURLToPath(import.meta.url)), "..")
const root = join(app, "..", "..")
const binPath = join(app, "dist", "bin.js")

const workspace = Object.fromEntries(
  readdirSync(join(root, "packages")).flatMap((dir) => {
    try {
      const { name } = JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8"))
      return [[name, join(root, "packages", dir, "src", "index.ts")]]
    } catch {
      return []
    }
  })
)

const started = Date.now()
const result = buildSync({
  entryPoints: [join(app, "src", "bin.ts")],
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  write: false,
  legalComments: "none",
  alias: workspace,
  // An optional native module of ssh2 (dockerode's ssh transport); ssh2 copes without it.
  external: ["cpu-features"],
  // CommonJS dependencies bundled into ESM still use require, __filename and __dirname.
  banner: {
    js: [
      'import { createRequire as __armadaRequire } from "node:module";',
      'import { fileURLToPath as __armadaPath } from "node:url";',
      "const require = __armadaRequire(import.meta.url);",
      "const __filename = __armadaPath(import.meta.url);",
      'const __dirname = __armadaPath(new URL(".", import.meta.url));'
    ].join(" ")
  },
  logLevel: "warning"
})
const temporary = `${binPath}.${process.pid}.tmp`
writeFileSync(temporary, result.outputFiles[0].contents, { mode: 0o755 })
renameSync(temporary, binPath)
console.log(`${binPath}: bundled in ${Date.now() - started} ms`)
