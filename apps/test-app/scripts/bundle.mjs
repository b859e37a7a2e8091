#!/usr/bin/env node
// Bundles the test app into one file, dist/test-app.mjs, with esbuild. Workspace packages are
// taken from their sources (as the tests do), so the bundle never depends on a stale dist/.
// The file is rewritten only when its content changed, and atomically, so concurrent callers
// (test workers, `pnpm images`) never read half a bundle.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { buildSync } from "esbuild"

const app = join(dirname(fileURLToPath(import.meta.url)), "..")
const root = join(app, "..", "..")

/** Absolute path of the bundle. */
export const bundlePath = join(app, "dist", "test-app.mjs")

/** @returns {{ path: string, changed: boolean }} */
export const bundle = () => {
  const result = buildSync({
    entryPoints: [join(app, "src", "main.ts")],
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    write: false,
    legalComments: "none",
    alias: {
      "@armada/core": join(root, "packages", "core", "src", "index.ts"),
      "@armada/http": join(root, "packages", "http", "src", "index.ts")
    },
    // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
    banner: {
      js: 'import { createRequire as __armadaRequire } from "node:module"; const require = __armadaRequire(import.meta.url);'
    },
    logLevel: "warning"
  })
  const content = result.outputFiles[0].contents
  if (existsSync(bundlePath) && Buffer.compare(readFileSync(bundlePath), content) === 0) {
    return { path: bundlePath, changed: false }
  }
  mkdirSync(dirname(bundlePath), { recursive: true })
  const temporary = `${bundlePath}.${process.pid}.tmp`
  writeFileSync(temporary, content)
  renameSync(temporary, bundlePath)
  return { path: bundlePath, changed: true }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now()
  const { path, changed } = bundle()
  console.log(`${path}: ${changed ? "written" : "up to date"} in ${Date.now() - started} ms`)
}
