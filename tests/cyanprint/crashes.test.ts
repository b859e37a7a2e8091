/**
 * Crash diagnosis end to end: a container that exits in the middle of its call is reported with
 * its exit code and its last log line, read before the container is removed, on Docker (the
 * processor through `armada run --json`; the plugin, the merger and a resolver through the library)
 * and on the local engine.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Engine, TestImage } from "@armada/testkit"
import { Effect, Exit } from "effect"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import * as H from "../reliability/harness.js"

let work = ""

/** A `--json` run's failures as printed, every field of each typed cause kept. */
const printedFailures = (run: H.CliRun) =>
  (
    JSON.parse(run.stdout().trim().split("\n").at(-1) ?? "{}") as {
      readonly failures: ReadonlyArray<{
        readonly stage: string
        readonly item: string
        readonly reason: string
        readonly hint?: string
        readonly cause: {
          readonly _tag: string
          readonly exitCode: number
          readonly logTail: string
          readonly call: string
        }
      }>
    }
  ).failures

const crashLine = (role: string, call: string) =>
  `test-app ${role}: ARMADA_FAULT_EXIT_DURING_CALL=3, exiting in the middle of ${call}`

/** Two processors that both write a.txt, a resolver for it, a plugin; `env` goes to one of them. */
const input = (template: string, env: { readonly [role: string]: Record<string, string> }) => ({
  template,
  processors: [
    { id: "one", image: H.image, globs: [{ glob: "**", type: "copy" }] },
    { id: "two", image: H.image, globs: [{ glob: "**", type: "copy" }], env: env.processor ?? {} }
  ],
  resolvers: [{ id: "join", image: H.image, files: ["a.txt"], env: env.resolver ?? {} }],
  plugins: [
    { id: "stamp", image: H.image, env: env.plugin ?? {}, config: { writeFile: { path: "s", content: "s" } } }
  ],
  merger: { env: env.merger ?? {} }
})

describe.skipIf(Engine.skipWithoutEngine("cyanprint: crash diagnosis"))("cyanprint: crash diagnosis", () => {
  beforeAll(() => {
    TestImage.ensureTestAppImage()
    H.requireBin()
    work = H.scratch("crashes")
  }, 300_000)

  afterAll(() => {
    H.finishFile(work)
  }, 120_000)

  it("armada run --json: a processor that exits with 3 mid-call is named with its stage, exit code 3 and its last log line", async () => {
    const dir = join(work, "cli")
    const template = H.writeTree(join(dir, "template"), { "a.txt": "a\n" })
    const run = H.armada([
      "run",
      H.specFile(dir, input(template, { processor: { ARMADA_FAULT_EXIT_DURING_CALL: "3" } })),
      "--engine",
      "docker",
      "--output",
      join(dir, "out"),
      "--json"
    ])
    const { code } = await run.exit
    assert.strictEqual(code, 1, `${run.stdout()}\n${run.stderr()}`)
    assert.strictEqual(run.result().outcome, "failed")
    const failures = printedFailures(run)
    assert.strictEqual(failures.length, 1)
    const [failure] = failures
    assert.strictEqual(failure?.stage, "process")
    assert.strictEqual(failure?.item, "two")
    const cause = failure!.cause
    assert.strictEqual(cause._tag, "ExitedDuringCall")
    assert.strictEqual(cause.exitCode, 3)
    assert.strictEqual(cause.call, "POST /api/process")
    assert.include(cause.logTail, crashLine("processor", "POST /api/process"))
    assert.include(failure?.reason, "exited with code 3 during POST /api/process")
    assert.include(failure?.hint, "exited in the middle of the call")
    H.assertNothingLeft()
  })

  for (const [role, stage, item, call] of [
    ["plugin", "plug", "stamp", "POST /api/plug"],
    ["merger", "merge", "merger", "POST /merge/"],
    ["resolver", "merge", "a.txt", "POST /api/resolve"]
  ] as const) {
    it(`the library: a ${role} that exits mid-call is an ExitedDuringCall with code 3 and its log line`, async () => {
      const template = H.writeTree(join(work, role, "template"), { "a.txt": "a\n" })
      const ran = await Effect.runPromise(
        Effect.flatMap(
          H.specOf(input(template, { [role]: { ARMADA_FAULT_EXIT_DURING_CALL: "3" } })),
          (spec) => H.runPipeline(spec, join(work, role, "out"))
        )
      )
      assert.isTrue(Exit.isFailure(ran.exit))
      const error = Exit.isFailure(ran.exit) ? ran.exit.cause : undefined
      const failed = error?._tag === "Fail" ? error.error : undefined
      assert.strictEqual(failed?.stage, stage)
      assert.deepStrictEqual(
        failed?.failures.map((f) => [f.id, f.cause._tag]),
        [[item, "ExitedDuringCall"]]
      )
      const cause = failed?.failures[0]?.cause
      if (cause?._tag !== "ExitedDuringCall") return
      assert.strictEqual(cause.exitCode, 3)
      assert.include(cause.call, call)
      assert.include(cause.logTail, crashLine(role, call))
      H.assertNothingLeft()
    })
  }
})

describe("cyanprint: crash diagnosis on the local engine", () => {
  beforeAll(() => {
    H.requireBin()
  })

  it("armada run --engine local --json: the processor's exit code 3 and its last log line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "armada-crash-local-"))
    try {
      const template = H.writeTree(join(dir, "template"), { "a.txt": "a\n" })
      const run = H.armada(
        [
          "run",
          H.specFile(dir, input(template, { processor: { ARMADA_FAULT_EXIT_DURING_CALL: "3" } })),
          "--engine",
          "local",
          "--output",
          join(dir, "out"),
          "--json"
        ],
        { TMPDIR: dir }
      )
      const { code } = await run.exit
      assert.strictEqual(code, 1, `${run.stdout()}\n${run.stderr()}`)
      const [failure] = printedFailures(run)
      assert.strictEqual(failure?.stage, "process")
      assert.strictEqual(failure?.item, "two")
      const cause = failure!.cause
      assert.strictEqual(cause._tag, "ExitedDuringCall")
      assert.strictEqual(cause.exitCode, 3)
      assert.include(cause.logTail, crashLine("processor", "POST /api/process"))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
