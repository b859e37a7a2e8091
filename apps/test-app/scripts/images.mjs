#!/usr/bin/env node
// `pnpm images`: bundles the test app and builds `armada/test-app:dev` with no registry, FROM
// scratch with the host's node binary (scripts/build-node-image.mjs). Both steps are skipped
// when nothing changed (same bundle bytes, same content hash on the image), so this is cheap to
// run before every Docker test.
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { buildNodeImage } from "../../../scripts/build-node-image.mjs"
import { bundle } from "./bundle.mjs"

export const testAppImage = "armada/test-app:dev"

/** @param {{ quiet?: boolean }} [options] */
export const buildImage = ({ quiet = false } = {}) => {
  const bundled = bundle()
  const image = buildNodeImage({
    tag: testAppImage,
    files: { [bundled.path]: "/app/test-app.mjs" },
    entry: "/app/test-app.mjs",
    labels: { "org.opencontainers.image.title": "armada test-app", "armada.image": "test-app" },
    quiet
  })
  return { ...image, bundleChanged: bundled.changed }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now()
  const result = buildImage({ quiet: process.argv.includes("--quiet") })
  console.log(
    `${result.tag}: ${result.built ? "built" : "up to date"} in ${Date.now() - started} ms (content ${result.hash.slice(0, 12)}, bundle ${join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "test-app.mjs")})`
  )
}
