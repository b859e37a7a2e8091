import { DockerError } from "@armada/docker"
import { ProcessorError } from "@armada/http"
import { OrchestratorError, Progress } from "@armada/orchestrator"
import { assert, describe, it } from "@effect/vitest"
import * as CliProgress from "../src/Progress.js"
import { context } from "./fixtures.js"

describe("translating the orchestrator's progress", () => {
  it("plugins run one after another: each one's end starts the next", () => {
    const ctx = { ...context, plugins: ["first", "second"] }
    assert.deepStrictEqual(
      CliProgress.translate(ctx, Progress.StageStarted.make({ session: "s", stage: "plug", items: 2 })),
      [{ _tag: "ItemStarted", stage: "plug", item: "first", detail: "plugging" }]
    )
    assert.deepStrictEqual(
      CliProgress.translate(ctx, Progress.PluginDone.make({ id: "first", durationMillis: 5 })),
      [
        { _tag: "ItemSucceeded", stage: "plug", item: "first", durationMs: 5 },
        { _tag: "ItemStarted", stage: "plug", item: "second", detail: "plugging" }
      ]
    )
    assert.deepStrictEqual(
      CliProgress.translate(ctx, Progress.PluginDone.make({ id: "second", durationMillis: 5 })),
      [{ _tag: "ItemSucceeded", stage: "plug", item: "second", durationMs: 5 }]
    )
  })

  it("every processor starts with the process stage", () => {
    const events = CliProgress.translate(
      context,
      Progress.StageStarted.make({ session: "s", stage: "process", items: 3 })
    )
    assert.deepStrictEqual(
      events.map((e) => (e._tag === "ItemStarted" ? e.item : "")),
      ["docs", "code", "broken"]
    )
  })

  it("a failure keeps its typed cause, names its item and image, and says what to do", () => {
    const failure = new OrchestratorError.ItemFailure({
      stage: "start",
      kind: "processor",
      id: "late",
      image: "armada/test-app:dev",
      cause: new ProcessorError.Exited({
        endpoint: { name: "armada-processor-late-s", url: "http://127.0.0.1:1" },
        exitCode: 3,
        logTail: "fault: exiting with 3"
      })
    })
    const info = CliProgress.failureInfo(context, failure)
    assert.strictEqual(info.item, "processor/late")
    assert.strictEqual(info.image, "armada/test-app:dev")
    assert.include(info.reason, "exited with code 3")
    assert.include(info.reason, "fault: exiting with 3")
    assert.include(info.hint, "exit code and last log lines")
    assert.deepInclude(info.cause as object, { _tag: "Exited", exitCode: 3 })
  })

  it("a failed cleanup names the command that finishes it", () => {
    const [event] = CliProgress.translate(
      context,
      Progress.CleanupDone.make({ session: "golden01", removed: 3, failed: 2, kept: false })
    )
    assert.strictEqual(event?._tag, "ItemFailed")
    if (event?._tag === "ItemFailed") {
      assert.strictEqual(event.failure.stage, "clean")
      assert.include(event.failure.hint, "armada clean --session golden01")
    }
  })

  it("items by stage: ids in the call stages, kind/id elsewhere, the output for the export", () => {
    assert.strictEqual(CliProgress.itemName(context, "process", "processor", "docs"), "docs")
    assert.strictEqual(CliProgress.itemName(context, "start", "plugin", "stamp"), "plugin/stamp")
    assert.strictEqual(CliProgress.itemName(context, "start", "merger", "merger"), "merger")
    assert.strictEqual(CliProgress.itemName(context, "export", "volume", "armada-x-s"), "out/golden01")
    const pull = new DockerError.PullFailed({ image: "armada/test-app:dev", detail: "no registry" })
    assert.include(
      CliProgress.failureInfo(
        context,
        new OrchestratorError.ItemFailure({
          stage: "warm",
          kind: "processor",
          id: "docs",
          image: "armada/test-app:dev",
          cause: pull
        })
      ).hint,
      "pnpm images"
    )
  })
})
