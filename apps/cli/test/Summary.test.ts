import { assert, describe, it } from "@effect/vitest"
import type * as Report from "../src/Report.js"
import { plain } from "../src/render/Style.js"
import * as Summary from "../src/render/Summary.js"

/** A successful run's document with `output`. */
const succeeded = (output: Report.Output): Report.Document => ({
  _tag: "Result",
  version: 1,
  command: "run",
  outcome: "success",
  exitCode: 0,
  startedAt: "1970-01-01T00:00:00.000Z",
  finishedAt: "1970-01-01T00:00:01.000Z",
  durationMs: 1000,
  stages: [],
  items: [],
  failures: [],
  skipped: [],
  output
})

const outputLine = (output: Report.Output) =>
  Summary.lines(succeeded(output), plain).find((line) => line.startsWith("Output:"))

describe("the summary's output line", () => {
  it("says how the merge conflicts were settled: last write wins, by resolvers, or both", () => {
    assert.strictEqual(outputLine({ path: "out", files: 3, conflicts: [] }), "Output: out (3 files)")
    assert.strictEqual(
      outputLine({ path: "out", files: 3, conflicts: ["a", "b"] }),
      "Output: out (3 files, 2 merge conflicts resolved last-write-wins)"
    )
    assert.strictEqual(
      outputLine({
        path: "out",
        files: 3,
        conflicts: ["a", "b"],
        resolved: [
          { path: "a", resolver: "join" },
          { path: "b", resolver: "join" }
        ]
      }),
      "Output: out (3 files, 2 merge conflicts settled by resolvers)"
    )
    assert.strictEqual(
      outputLine({
        path: "out",
        files: 3,
        conflicts: ["a", "b", "c"],
        resolved: [{ path: "a", resolver: "join" }]
      }),
      "Output: out (3 files, 3 merge conflicts: 1 settled by resolvers, 2 last-write-wins)"
    )
  })
})
