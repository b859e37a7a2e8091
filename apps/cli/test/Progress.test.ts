import { ContainerEngineError } from "@armada/engine"
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
      [
        { _tag: "StageStarted", stage: "plug" },
        { _tag: "ItemStarted", stage: "plug", item: "first", detail: "plugging" }
      ]
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
      events.flatMap((e) => (e._tag === "ItemStarted" ? [e.item] : [])),
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

  it("a container that exited during its call: the exit code, the log line, and a hint that says it exited", () => {
    const failure = new OrchestratorError.ItemFailure({
      stage: "process",
      kind: "processor",
      id: "crashy",
      image: "armada/test-app:dev",
      cause: new ProcessorError.ExitedDuringCall({
        endpoint: { name: "armada-processor-crashy-s", url: "http://127.0.0.1:1" },
        call: "POST /api/process",
        exitCode: 3,
        logTail: "Error: EACCES: permission denied",
        detail: "connection closed by the other side (UND_ERR_SOCKET)"
      })
    })
    const info = CliProgress.failureInfo(context, failure)
    assert.strictEqual(info.item, "crashy")
    assert.include(info.reason, "exited with code 3 during POST /api/process")
    assert.include(info.reason, "Error: EACCES: permission denied")
    assert.include(info.hint, "exited in the middle of the call")
    assert.notInclude(info.hint ?? "", "0.0.0.0")
    assert.deepInclude(info.cause as object, { _tag: "ExitedDuringCall", exitCode: 3 })
  })

  it("conflicting files are items of the merge stage, named by their path", () => {
    assert.deepStrictEqual(
      CliProgress.translate(
        context,
        Progress.ConflictResolved.make({ path: "src/a.ts", resolver: "join", durationMillis: 7 })
      ),
      [{ _tag: "ItemSucceeded", stage: "merge", item: "src/a.ts", detail: "resolved by join", durationMs: 7 }]
    )
    const ambiguous = new OrchestratorError.AmbiguousResolvers({ path: "src/b.ts", resolvers: ["a", "b"] })
    const [failed] = CliProgress.translate(
      context,
      Progress.ConflictFailed.make({ path: "src/b.ts", cause: ambiguous, durationMillis: 0 })
    )
    assert.strictEqual(failed?._tag, "ItemFailed")
    if (failed?._tag === "ItemFailed") {
      assert.strictEqual(failed.failure.stage, "merge")
      assert.strictEqual(failed.failure.item, "src/b.ts")
      assert.include(failed.failure.reason, "src/b.ts is matched by 2 resolvers (a, b)")
      assert.include(failed.failure.hint, "at most one matches each path")
    }
    assert.strictEqual(CliProgress.itemName(context, "merge", "merger", "merger"), "merger")
    assert.strictEqual(CliProgress.itemName(context, "start", "resolver", "join"), "resolver/join")
    assert.deepStrictEqual(CliProgress.declared({ ...context, resolvers: ["join"] }).start?.slice(-2), [
      "resolver/join",
      "merger"
    ])
  })

  it("a failed cleanup keeps the engine's typed error, names each resource and the command that finishes it", () => {
    const busy = new ContainerEngineError.EngineError({
      operation: "removeContainer",
      resource: "armada-processor-docs-golden01",
      status: 500,
      detail: "device or resource busy"
    })
    const inUse = new ContainerEngineError.VolumeInUse({ volume: "armada-tpl-golden01" })
    const [event] = CliProgress.translate(
      context,
      Progress.CleanupDone.make({
        session: "golden01",
        removed: 3,
        failed: 2,
        failures: [
          { kind: "container", name: "armada-processor-docs-golden01", cause: busy },
          { kind: "volume", name: "armada-tpl-golden01", cause: inUse }
        ],
        kept: false
      })
    )
    assert.strictEqual(event?._tag, "ItemFailed")
    if (event?._tag === "ItemFailed") {
      assert.strictEqual(event.failure.stage, "clean")
      assert.strictEqual(event.failure.item, "golden01")
      assert.deepStrictEqual(event.failure.cause, {
        _tag: "EngineError",
        operation: "removeContainer",
        resource: "armada-processor-docs-golden01",
        status: 500,
        detail: "device or resource busy"
      })
      assert.strictEqual(
        event.failure.reason,
        [
          "2 resources could not be removed (3 were):",
          "container armada-processor-docs-golden01: removeContainer armada-processor-docs-golden01 failed (HTTP 500): device or resource busy",
          "volume armada-tpl-golden01: volume armada-tpl-golden01 is still used by a container; remove the container first"
        ].join("\n")
      )
      assert.include(event.failure.hint, "armada clean --session golden01")
    }
  })

  it("a cleanup that failed for many resources names the first ten", () => {
    const failures = Array.from({ length: 12 }, (_, i) => ({
      kind: "volume" as const,
      name: `v${i}`,
      cause: new ContainerEngineError.VolumeInUse({ volume: `v${i}` })
    }))
    const [event] = CliProgress.translate(
      context,
      Progress.CleanupDone.make({ session: "golden01", removed: 0, failed: 12, failures, kept: false })
    )
    const lines = event?._tag === "ItemFailed" ? event.failure.reason.split("\n") : []
    assert.strictEqual(lines.length, 12)
    assert.strictEqual(lines.at(-1), "and 2 more (`armada ps` lists what is left)")
  })

  it("a stage's start and end are passed on with the time the orchestrator measured", () => {
    assert.deepStrictEqual(
      CliProgress.translate(context, Progress.StageStarted.make({ session: "s", stage: "warm", items: 1 })),
      [{ _tag: "StageStarted", stage: "warm" }]
    )
    assert.deepStrictEqual(
      CliProgress.translate(
        context,
        Progress.StageDone.make({ session: "s", stage: "warm", ok: true, durationMillis: 812 })
      ),
      [{ _tag: "StageDone", stage: "warm", ok: true, durationMs: 812 }]
    )
  })

  it("the plugins a failure skipped are named, with the plugin that failed", () => {
    const ctx = { ...context, plugins: ["first", "second", "third"] }
    const error = new OrchestratorError.StageFailed({
      session: "golden01",
      stage: "plug",
      failures: [
        new OrchestratorError.ItemFailure({
          stage: "plug",
          kind: "plugin",
          id: "first",
          cause: new ProcessorError.BadStatus({
            endpoint: { name: "armada-plugin-first-golden01", url: "http://127.0.0.1:1" },
            status: 500,
            body: ""
          })
        })
      ],
      skipped: ["second", "third"]
    })
    assert.deepStrictEqual(CliProgress.skipped(ctx, error), [
      {
        _tag: "ItemSkipped",
        stage: "plug",
        item: "second",
        reason: "not run: plugin first failed before it"
      },
      { _tag: "ItemSkipped", stage: "plug", item: "third", reason: "not run: plugin first failed before it" }
    ])
  })

  it("the declared order: containers as the spec lists them, then the call stages' items", () => {
    const order = CliProgress.declared(context)
    assert.deepStrictEqual(order.start, [
      "processor/docs",
      "processor/code",
      "processor/broken",
      "plugin/stamp",
      "merger"
    ])
    assert.deepStrictEqual(order.process, ["docs", "code", "broken"])
    assert.deepStrictEqual(order.plug, ["stamp"])
  })

  it("items by stage: ids in the call stages, kind/id elsewhere, the output for the export", () => {
    assert.strictEqual(CliProgress.itemName(context, "process", "processor", "docs"), "docs")
    assert.strictEqual(CliProgress.itemName(context, "start", "plugin", "stamp"), "plugin/stamp")
    assert.strictEqual(CliProgress.itemName(context, "start", "merger", "merger"), "merger")
    assert.strictEqual(CliProgress.itemName(context, "export", "volume", "armada-x-s"), "out/golden01")
    const pull = new ContainerEngineError.PullFailed({
      image: "armada/test-app:dev",
      reason: "NotFound",
      detail: "manifest unknown"
    })
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
