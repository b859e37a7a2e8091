#!/usr/bin/env node
// Bundles the test app into one file, dist/test-app.mjs, with esbuild (scripts/bundle-workspace.mjs:
// rewritten only when its content changed, and atomically).
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { buildSync } from "esbuild"
import { bundleWorkspace } from "../../../scripts/bundle-workspace.mjs"

const app = join(dirname(fileURLToPath(import.meta.url)), "..")

/** Absolute path of the bundle. */
export const bundlePath = join(app, "dist", "test-app.mjs")

/** @returns {{ path: string, changed: boolean }} */
export const bundle = () =>
  bundleWorkspace({ buildSync, entry: join(app, "src", "main.ts"), outfile: bundlePath })

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now()
  const { path, changed } = bundle()
  console.log(`${path}: ${changed ? "written" : "up to date"} in ${Date.now() - started} ms`)
}
