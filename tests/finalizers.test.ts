/**
 * armada registers every finalizer of a run's code on the scope itself
 * (`Interruption.acquireRelease` / `Interruption.addFinalizer` of @armada/core), never through
 * `Effect.acquireRelease` or `Effect.addFinalizer`, which on effect 3.22.4 can lose an
 * interruption that reaches the fiber while the finalizer runs (docs/architecture.md, "Resource
 * safety"). This finds one that slipped back in. The testkit's fixtures are not part of a run.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"

const root = fileURLToPath(new URL("../", import.meta.url))
const runCode = [
  "packages/core",
  "packages/engine",
  "packages/docker",
  "packages/local",
  "packages/http",
  "packages/orchestrator",
  "apps/cli"
].map((dir) => join(root, dir, "src"))

const sources = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(dir, entry.name)]
        : []
  )

const effectFinalizer = /\bEffect\.(acquireRelease|acquireReleaseInterruptible|addFinalizer)\b/

describe("finalizers of a run", () => {
  it("are registered through Interruption, not Effect.acquireRelease or Effect.addFinalizer", () => {
    const found = runCode.flatMap(sources).flatMap((file) =>
      readFileSync(file, "utf8")
        .split("\n")
        .flatMap((line, index) =>
          effectFinalizer.test(line) && !/^\s*(\*|\/\/)/.test(line)
            ? [`${relative(root, file)}:${index + 1}: ${line.trim()}`]
            : []
        )
    )
    assert.deepStrictEqual(found, [], "use Interruption.acquireRelease / Interruption.addFinalizer")
  })
})
