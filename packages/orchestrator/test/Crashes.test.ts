/**
 * Crash diagnosis on the in-memory engine: a processor, merger, plugin or resolver whose container
 * exits in the middle of its call fails with `ExitedDuringCall` (exit code, log tail), not with the
 * connection error the call saw; a container that still runs keeps the call's own error.
 */
import { ProcessorError } from "@armada/http"
import { Orchestrator } from "@armada/orchestrator"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as harness from "./harness.js"

const template = harness.makeTemplate({ "README.md": "# the template\n" })
const outputs = harness.makeOutputRoot()
afterAll(() => {
  template.remove()
  outputs.remove()
})
let count = 0
const output = () => `${outputs.dir}/out-${++count}`

const crash = (exitCode: number) => ({
  exitCode,
  logs: ["starting", `Error: EACCES: permission denied, open '/workspace/area/x' (exit ${exitCode})`]
})

/** Two processors writing one shared file, a resolver for it, a plugin. */
const input = {
  processors: [
    { id: "p1", image: harness.image },
    { id: "p2", image: harness.image }
  ],
  plugins: [{ id: "q", image: harness.image }],
  resolvers: [{ id: "r", image: harness.image, files: ["shared.txt"] }]
}

describe("crash diagnosis", () => {
  for (const [id, stage, kind, itemId, call] of [
    ["p2", "process", "processor", "p2", "POST /api/process"],
    ["merger", "merge", "merger", "merger", "POST /merge/s1"],
    ["r", "merge", "file", "shared.txt", "POST /api/resolve"],
    ["q", "plug", "plugin", "q", "POST /api/plug"]
  ] as const) {
    it.effect(
      `a ${kind === "file" ? "resolver" : kind} that exits during its call: ExitedDuringCall with code and log tail`,
      () =>
        Effect.gen(function* () {
          const spec = yield* harness.spec({ template: template.dir, ...input })
          const error = yield* Effect.flip(Orchestrator.pipeline(spec, { output: output() }))
          assert.strictEqual(error.stage, stage)
          assert.deepStrictEqual(
            error.failures.map((f) => [f.stage, f.kind, f.id, f.cause._tag]),
            [[stage, kind, itemId, "ExitedDuringCall"]]
          )
          const cause = error.failures[0]!.cause
          assert.strictEqual(cause._tag, "ExitedDuringCall")
          if (cause._tag !== "ExitedDuringCall") return
          assert.strictEqual(cause.exitCode, 3)
          assert.strictEqual(cause.call, call)
          assert.strictEqual(cause.detail, "connection closed by the other side (UND_ERR_SOCKET)")
          // The log was read before the cleanup removed the container.
          assert.include(cause.logTail, "EACCES: permission denied")
          assert.match(cause.message, /exited with code 3 during POST/)
          assert.deepStrictEqual(yield* harness.leftovers, [])
        }).pipe(Effect.provide(harness.layer({ crash: { [id]: crash(3) } })))
    )
  }

  it.live("a call that loses its connection while the container runs keeps its Unreachable", () =>
    Effect.gen(function* () {
      const spec = yield* harness.spec({ template: template.dir, processors: input.processors })
      // The engine is given a moment (2 s) to see an exit that does not come.
      const error = yield* Effect.flip(Orchestrator.pipeline(spec, { output: output() }))
      assert.deepStrictEqual(
        error.failures.map((f) => [f.kind, f.id, f.cause._tag]),
        [["processor", "p1", "Unreachable"]]
      )
      assert.deepStrictEqual(yield* harness.leftovers, [])
    }).pipe(
      Effect.provide(
        harness.layer({
          process: {
            p1: () =>
              Effect.fail(
                new ProcessorError.Unreachable({
                  endpoint: { name: "p1", url: "memory" },
                  detail: "connection reset"
                })
              )
          }
        })
      )
    )
  )
})
