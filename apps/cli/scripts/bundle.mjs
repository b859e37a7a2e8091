#!/usr/bin/env node
// Bundles the CLI into dist/bin.js (over what tsc emitted there) and the chunks it imports when a
// command needs them (dist/chunks/), with esbuild. A few files load several times faster than the
// thousand modules they are made of, and a CLI's start-up is part of every command: `armada` with
// an unreachable engine must answer within 2 s even on a busy machine. Split and minified, a
// command reads and compiles less: the Docker SDK (with ssh2 and gRPC) and OpenTelemetry are
// chunks of their own, read only by the commands that reach an engine or trace.
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { buildSync } from "esbuild"
import { bundleWorkspace } from "../../../scripts/bundle-workspace.mjs"

const app = join(dirname(fileURLToPath(import.meta.url)), "..")

const started = Date.now()
const { path } = bundleWorkspace({
  buildSync,
  entry: join(app, "src", "bin.ts"),
  outfile: join(app, "dist", "bin.js"),
  // An optional native module of ssh2 (dockerode's ssh transport); ssh2 copes without it.
  external: ["cpu-features"],
  mode: 0o755,
  split: true,
  minify: true
})
console.log(`${path}: bundled in ${Date.now() - started} ms`)
