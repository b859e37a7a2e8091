/**
 * The conformance suite's fixture: `fixtures/server.mjs`, a few-line HTTP server that listens on
 * `ARMADA_LISTEN_PORT` (default 8080) at `ARMADA_LISTEN_HOST` (default 0.0.0.0), logs a line, and
 * exits at once with `EXIT_CODE` when that is set. The Docker engine runs it as the image
 * `armada/conformance:dev` (built with no registry, `FROM scratch` + the host's node), the local
 * engine as a process, and the memory engine imitates it (`fixturePreset`).
 *
 * @since 0.1.0
 */
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { ImageRef } from "@armada/core"
import type { MemoryEngine } from "@armada/engine"

// The same relative paths from src/ (tests) and dist/ (built).
const builder = fileURLToPath(new URL("../../../scripts/build-node-image.mjs", import.meta.url))

/**
 * Absolute path of the fixture server on the host.
 *
 * @since 0.1.0
 * @category constants
 */
export const fixtureServerPath: string = fileURLToPath(new URL("../fixtures/server.mjs", import.meta.url))

/**
 * @since 0.1.0
 * @category constants
 */
export const fixtureImage: ImageRef.ImageRef = ImageRef.ImageRef.make("armada/conformance:dev")

/**
 * The label the fixture image carries, so `listImages` by label can be checked.
 *
 * @since 0.1.0
 * @category constants
 */
export const fixtureImageLabels = { "armada.test.fixture": "conformance" } as const

/**
 * The port the fixture listens on inside its container.
 *
 * @since 0.1.0
 * @category constants
 */
export const fixturePort = 8080

let built = false

/**
 * Builds `armada/conformance:dev` on the Docker engine unless an image with the same content is
 * there already (cheap to call in every `beforeAll`); returns the image. Throws with the build's
 * output when the build fails.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ensureFixtureImage = (): ImageRef.ImageRef => {
  if (!built) {
    execFileSync(
      process.execPath,
      [
        builder,
        "--tag",
        fixtureImage,
        "--file",
        `${fixtureServerPath}=/app/server.mjs`,
        "--entry",
        "/app/server.mjs",
        ...Object.entries(fixtureImageLabels).flatMap(([key, value]) => ["--label", `${key}=${value}`])
      ],
      { stdio: ["ignore", "pipe", "pipe"], timeout: 300_000 }
    )
    built = true
  }
  return fixtureImage
}

/**
 * The fixture image for `MemoryEngine.layerMemory({ images: [fixturePreset] })`: it logs what the
 * server logs and exits with `EXIT_CODE` when that is set.
 *
 * @since 0.1.0
 * @category constants
 */
export const fixturePreset: MemoryEngine.ImagePreset = {
  ref: fixtureImage,
  labels: fixtureImageLabels,
  sizeBytes: 100_000_000,
  run: ({ env }) => {
    const exitCode = env.EXIT_CODE
    if (exitCode !== undefined) {
      return { logs: [`conformance fixture exiting with ${exitCode}`], exitCode: Number(exitCode) }
    }
    const host = env.ARMADA_LISTEN_HOST ?? "0.0.0.0"
    const port = env.ARMADA_LISTEN_PORT ?? String(fixturePort)
    return { logs: [`conformance fixture listening on ${host}:${port}`] }
  }
}
