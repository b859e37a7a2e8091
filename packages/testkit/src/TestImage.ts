/**
 * The test app for tests of other packages: its one-file bundle (for the local engine, which runs
 * it as a process) and its image `armada/test-app:dev` (for the Docker engine), built without any
 * registry. Both are rebuilt only when their content changed, so calling these in every
 * `beforeAll` is cheap; within one process the answer is cached.
 *
 * @since 0.1.0
 */
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { ImageRef } from "@armada/core"

// The same relative path from src/ (tests) and dist/ (built).
const script = (name: string) =>
  fileURLToPath(new URL(`../../../apps/test-app/scripts/${name}`, import.meta.url))

/**
 * Absolute path of the bundled test app (`apps/test-app/dist/test-app.mjs`); run it with
 * `node <path> [--role processor|plugin|merger]`.
 *
 * @since 0.1.0
 * @category constants
 */
export const testAppBundlePath: string = fileURLToPath(
  new URL("../../../apps/test-app/dist/test-app.mjs", import.meta.url)
)

/**
 * The image every Docker test runs.
 *
 * @since 0.1.0
 * @category constants
 */
export const testAppImage: ImageRef.ImageRef = ImageRef.ImageRef.make("armada/test-app:dev")

const run = (name: string, args: ReadonlyArray<string>) =>
  execFileSync(process.execPath, [script(name), ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 300_000
  })

/**
 * What a test run's global setup has already made, for the processes of the run's test files to
 * skip: `bundle`, or `image` (the bundle and the image). Their check runs child processes
 * synchronously, and on a busy machine it blocks a test worker for half a minute or more, long
 * enough for vitest's worker to give up on its connection to the runner.
 *
 * @since 0.2.0
 * @category constants
 */
export const readyVariable = "ARMADA_TEST_APP_READY"

const made = (what: "bundle" | "image"): boolean => {
  const ready = process.env[readyVariable]
  return ready === "image" || ready === what
}

let bundled = made("bundle")
let imaged = made("image")

/**
 * Bundles the test app if its sources changed; returns `testAppBundlePath`. Needs no Docker.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ensureTestAppBundle = (): string => {
  if (!bundled) {
    run("bundle.mjs", [])
    bundled = true
  }
  return testAppBundlePath
}

/**
 * Bundles the test app and builds `armada/test-app:dev` on the Docker engine when either
 * changed; returns the image. Throws (with the build's output) when the build fails.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ensureTestAppImage = (): ImageRef.ImageRef => {
  if (!imaged) {
    run("images.mjs", ["--quiet"])
    bundled = true
    imaged = true
  }
  return testAppImage
}
