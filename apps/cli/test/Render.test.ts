import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { stripVTControlCharacters } from "node:util"
import { ContainerEngineError } from "@armada/engine"
import { ProcessorError } from "@armada/http"
import { OrchestratorError, Progress } from "@armada/orchestrator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Ref, Schema, TestClock } from "effect"
import * as Display from "../src/Display.js"
import type * as Event from "../src/Event.js"
import * as Output from "../src/Output.js"
import * as CliProgress from "../src/Progress.js"
import * as Report from "../src/Report.js"
import { context, failingRun, successfulRun } from "./fixtures.js"

const here = dirname(fileURLToPath(import.meta.url))

/**
 * Compares with test/golden/<name>; `UPDATE_GOLDEN=1` rewrites it. Times and durations are
 * masked: the golden parts hold no timings.
 */
const golden = (name: string, text: string) => {
  const masked = text
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, "<time>")
    .replace(/"(at|durationMs)":\d+/g, '"$1":0')
    .replace(/\b\d+(\.\d)?(ms|s)\b/g, "<dur>")
  const file = join(here, "golden", name)
  if (process.env.UPDATE_GOLDEN === "1") {
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, masked)
  }
  assert.strictEqual(masked, readFileSync(file, "utf8"))
}

const header = {
  _tag: "RunStarted",
  command: "run",
  spec: "examples/hello/pipeline.yaml",
  session: "golden01",
  prefix: "armada",
  engine: { kind: "docker", address: "unix:///var/run/docker.sock", reason: "--engine docker" }
} as const

/**
 * Plays a scripted run through the display, the clock moving as the script says; `after` are the
 * events the command adds once the orchestrator has failed (the failures and skipped items of its
 * `StageFailed`).
 */
const play = (
  script: ReadonlyArray<readonly [number, Progress.Event]>,
  flags: Display.Flags,
  ending: Omit<Report.Ending, "finishedAt">,
  options: {
    readonly isTTY?: boolean
    readonly context?: CliProgress.Context
    readonly after?: ReadonlyArray<Event.Unstamped>
  } = {}
) =>
  Effect.gen(function* () {
    const ctx = options.context ?? context
    const display = yield* Display.make(flags, header, CliProgress.declared(ctx))
    for (const [wait, event] of script) {
      yield* TestClock.adjust(wait)
      for (const translated of CliProgress.translate(ctx, event)) yield* display.emit(translated)
    }
    for (const event of options.after ?? []) yield* display.emit(event)
    const document = yield* display.finish(ending)
    const captured = yield* Output.CapturedOutput
    return { stdout: yield* Ref.get(captured.stdout), stderr: yield* Ref.get(captured.stderr), document }
  }).pipe(Effect.scoped, Effect.provide(Output.layerTest({ isTTY: options.isTTY ?? false })))

const plain = { json: false, quiet: false, verbose: false }

describe("plain rendering (not a terminal)", () => {
  it.effect("one timestamped line per event, then the summary; no escape codes", () =>
    Effect.gen(function* () {
      const { stdout } = yield* play(failingRun, plain, { outcome: "failed" })
      assert.notInclude(stdout, "\x1b")
      for (const line of stdout.split("\n").filter((l) => l.startsWith("1970"))) {
        assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S/)
      }
      assert.include(stdout, "process broken: FAILED")
      assert.include(stdout, "answered HTTP 500")
      golden("plain-failing.txt", stdout)
    })
  )

  it.effect("a successful run ends with the output location", () =>
    Effect.gen(function* () {
      const { stdout } = yield* play(successfulRun, plain, {
        outcome: "success",
        output: { path: "/work/out/golden01", files: 8, conflicts: ["README.md"] }
      })
      assert.include(
        stdout,
        "Output: /work/out/golden01 (8 files, 1 merge conflict resolved last-write-wins)"
      )
      golden("plain-success.txt", stdout)
    })
  )

  it.effect("--quiet prints only the failures and the result, on stderr when it failed", () =>
    Effect.gen(function* () {
      const { stdout, stderr } = yield* play(failingRun, { ...plain, quiet: true }, { outcome: "failed" })
      assert.strictEqual(stdout, "")
      assert.notInclude(stderr, "STAGE")
      assert.include(stderr, "✖ process broken (acme/broken:1): ")
      golden("quiet-failing.txt", stderr)
    })
  )

  it.effect("byte-level pull progress only with --verbose", () =>
    Effect.gen(function* () {
      const quietPull = (yield* play(failingRun, plain, { outcome: "failed" })).stdout
      const verbosePull = (yield* play(failingRun, { ...plain, verbose: true }, { outcome: "failed" })).stdout
      assert.notInclude(quietPull, "2.0 MB/4.0 MB")
      assert.include(verbosePull, "Downloading layer a1 2.0 MB/4.0 MB")
    })
  )
})

describe("--json", () => {
  it.effect("NDJSON events, then one Result document that decodes with the documented schema", () =>
    Effect.gen(function* () {
      const { stdout, document } = yield* play(failingRun, { ...plain, json: true }, { outcome: "failed" })
      const lines = stdout.trimEnd().split("\n")
      const events = lines.slice(0, -1).map((line) => JSON.parse(line) as { _tag: string })
      assert.deepStrictEqual(
        [...new Set(events.map((e) => e._tag))],
        [
          "RunStarted",
          "StageStarted",
          "ItemSucceeded",
          "PullProgress",
          "StageDone",
          "ItemStarted",
          "ItemStatus",
          "ItemFailed"
        ]
      )
      const result = Schema.decodeUnknownSync(Schema.parseJson(Report.Document))(lines.at(-1))
      assert.deepStrictEqual(result, document)
      assert.strictEqual(result.outcome, "failed")
      assert.strictEqual(result.exitCode, 1)
      assert.strictEqual(result.failures.length, 1)
      const [failure] = result.failures
      assert.strictEqual(failure?.stage, "process")
      assert.strictEqual(failure?.item, "broken")
      assert.include(failure?.hint, "--keep")
      assert.deepInclude(failure?.cause as object, { _tag: "BadStatus", status: 500 })
      golden("json-failing.ndjson", stdout)
    })
  )

  it.effect("a successful run's document has the output, every item done, and per-stage durations", () =>
    Effect.gen(function* () {
      const { document } = yield* play(
        successfulRun,
        { ...plain, json: true },
        {
          outcome: "success",
          output: { path: "/work/out/golden01", files: 8, conflicts: ["README.md"] }
        }
      )
      assert.strictEqual(document.exitCode, 0)
      assert.isTrue(document.items.every((item) => item.status === "done"))
      assert.deepStrictEqual(
        document.stages.map((s) => s.stage),
        ["warm", "start", "process", "merge", "plug", "export", "clean"]
      )
      const docs = document.items.find((item) => item.stage === "process" && item.item === "docs")
      assert.strictEqual(docs?.durationMs, 118)
      golden("json-success.json", `${JSON.stringify(document, null, 2)}\n`)
    })
  )
})

describe("live view (a terminal)", () => {
  it.effect("draws frames in place and ends with the summary", () =>
    Effect.gen(function* () {
      const { stdout } = yield* play(failingRun, plain, { outcome: "failed" }, { isTTY: true })
      assert.include(stdout, "\x1b[?25l", "hides the cursor")
      assert.include(stdout, "\x1b[?25h", "shows it again")
      assert.match(stdout, new RegExp(`${"\x1b"}\\[\\d+F`), "moves up to redraw")
      const summary = stripVTControlCharacters(stdout.slice(stdout.lastIndexOf("\x1b[?2026l")))
      assert.include(summary, "STAGE")
      assert.include(summary, "✖ run failed")
    })
  )
})

const session = "golden01"
const badStatus = (name: string) =>
  new ProcessorError.BadStatus({
    endpoint: { name, url: "http://127.0.0.1:32770" },
    status: 500,
    body: "fault injected"
  })
const processorFailed = (id: string) =>
  Progress.ProcessorFailed.make({
    id,
    cause: badStatus(`armada-processor-${id}-${session}`),
    durationMillis: 5
  })

/** The failure lines of a summary, `<stage> <item>`, in the order printed. */
const failureLines = (text: string) =>
  stripVTControlCharacters(text)
    .split("\n")
    .flatMap((line) => {
      const match = /^ {2}✖ (\S+) ([^\s:]+)/.exec(line)
      return match === null ? [] : [`${match[1]} ${match[2]}`]
    })

describe("the Result document and the summary", () => {
  it.effect("the warm stage's time is the stage's own, also when every image was already present", () =>
    Effect.gen(function* () {
      const { document } = yield* play(
        [
          [0, Progress.StageStarted.make({ session, stage: "warm", items: 1 })],
          // Volumes, the network and the image check: the only item reports at the end.
          [400, Progress.ImagePresent.make({ image: "armada/test-app:dev" })],
          // The template is loaded after the images.
          [50, Progress.StageDone.make({ session, stage: "warm", ok: true, durationMillis: 450 })]
        ],
        { ...plain, json: true },
        { outcome: "success" }
      )
      assert.deepStrictEqual(document.stages, [{ stage: "warm", durationMs: 450, done: 1, failed: 0 }])
    })
  )

  it.effect("a stage that never ended (interrupted) counts until the end of the command", () =>
    Effect.gen(function* () {
      const { document } = yield* play(
        [
          [0, Progress.StageStarted.make({ session, stage: "warm", items: 1 })],
          [300, Progress.ImagePresent.make({ image: "armada/test-app:dev" })],
          [200, Progress.StageDone.make({ session, stage: "warm", ok: true, durationMillis: 500 })],
          [0, Progress.StageStarted.make({ session, stage: "start", items: 5 })],
          [700, Progress.ContainerCreated.make({ role: "merger", id: "merger", name: "m" })]
        ],
        { ...plain, json: true },
        { outcome: "interrupted" }
      )
      assert.deepStrictEqual(
        document.stages.map((s) => [s.stage, s.durationMs]),
        [
          ["warm", 500],
          ["start", 700]
        ]
      )
    })
  )

  it.effect("failures are in declared order: by stage, then as the spec lists the items", () =>
    Effect.gen(function* () {
      // `broken` (declared last) fails first, then `docs` (declared first); the export's failure
      // comes from the StageFailed, after the cleanup's.
      const script: ReadonlyArray<readonly [number, Progress.Event]> = [
        [0, Progress.StageStarted.make({ session, stage: "process", items: 3 })],
        [10, processorFailed("broken")],
        [10, processorFailed("docs")],
        [10, Progress.ProcessorDone.make({ id: "code", outputDir: "/workspace/area/2", durationMillis: 30 })],
        [0, Progress.StageDone.make({ session, stage: "process", ok: false, durationMillis: 30 })],
        [5, Progress.CleanupStarted.make({ session, containers: 5, volumes: 2, networks: 0 })],
        [
          300,
          Progress.CleanupDone.make({
            session,
            removed: 6,
            failed: 1,
            failures: [
              {
                kind: "volume",
                name: "armada-tpl-golden01",
                cause: new ContainerEngineError.VolumeInUse({ volume: "armada-tpl-golden01" })
              }
            ],
            kept: false
          })
        ]
      ]
      const exportFailure = CliProgress.failureInfo(
        context,
        new OrchestratorError.ItemFailure({
          stage: "export",
          kind: "volume",
          id: "armada-tpl-golden01",
          cause: new ContainerEngineError.EngineError({
            operation: "getArchive",
            resource: "x",
            status: 404,
            detail: "gone"
          })
        })
      )
      const after: ReadonlyArray<Event.Unstamped> = [{ _tag: "ItemFailed", failure: exportFailure }]
      const expected = ["process docs", "process broken", "export out/golden01", "clean golden01"]

      const json = yield* play(script, { ...plain, json: true }, { outcome: "failed" }, { after })
      const arrived = json.stdout
        .trimEnd()
        .split("\n")
        .flatMap((line) => {
          const event = JSON.parse(line) as { _tag: string; failure?: { stage: string; item: string } }
          return event.failure === undefined ? [] : [`${event.failure.stage} ${event.failure.item}`]
        })
      assert.deepStrictEqual(arrived, [
        "process broken",
        "process docs",
        "clean golden01",
        "export out/golden01"
      ])
      assert.deepStrictEqual(
        json.document.failures.map((f) => `${f.stage} ${f.item}`),
        expected
      )

      const text = yield* play(script, plain, { outcome: "failed" }, { after })
      assert.deepStrictEqual(failureLines(text.stdout.slice(text.stdout.indexOf("Failures:"))), expected)
      const live = yield* play(script, plain, { outcome: "failed" }, { after, isTTY: true })
      assert.deepStrictEqual(failureLines(live.stdout.slice(live.stdout.lastIndexOf("Failures:"))), expected)
    })
  )

  it.effect(
    "plugins a failing plugin skipped: an event each, a `skipped` list, a line each in the summary",
    () =>
      Effect.gen(function* () {
        const ctx: CliProgress.Context = { ...context, plugins: ["first", "second", "third"] }
        const cause = badStatus(`armada-plugin-first-${session}`)
        const script: ReadonlyArray<readonly [number, Progress.Event]> = [
          [0, Progress.StageStarted.make({ session, stage: "plug", items: 3 })],
          [20, Progress.PluginFailed.make({ id: "first", cause, durationMillis: 20 })],
          [0, Progress.StageDone.make({ session, stage: "plug", ok: false, durationMillis: 20 })]
        ]
        const error = new OrchestratorError.StageFailed({
          session,
          stage: "plug",
          failures: [
            new OrchestratorError.ItemFailure({ stage: "plug", kind: "plugin", id: "first", cause })
          ],
          skipped: ["second", "third"]
        })
        const options = { context: ctx, after: CliProgress.skipped(ctx, error) }
        const reason = "not run: plugin first failed before it"

        const json = yield* play(script, { ...plain, json: true }, { outcome: "failed" }, options)
        assert.deepStrictEqual(json.document.skipped, [
          { stage: "plug", item: "second", reason },
          { stage: "plug", item: "third", reason }
        ])
        assert.include(
          json.stdout,
          `{"_tag":"ItemSkipped","at":20,"stage":"plug","item":"second","reason":"${reason}"}`
        )

        const text = yield* play(script, plain, { outcome: "failed" }, options)
        assert.include(text.stdout, `plug    third: skipped (${reason})`)
        const summary = text.stdout.slice(text.stdout.indexOf("\nSTAGE"))
        assert.include(summary, `Skipped:\n  - plug second: ${reason}\n  - plug third: ${reason}\n`)
        assert.include(summary, "✖ run failed in 20ms: 1 item failed, 2 skipped")
        const live = yield* play(script, plain, { outcome: "failed" }, { ...options, isTTY: true })
        assert.include(stripVTControlCharacters(live.stdout), `Skipped:\n  - plug second: ${reason}\n`)
      })
  )
})
