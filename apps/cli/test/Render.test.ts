import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Progress } from "@armada/orchestrator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Ref, Schema, TestClock } from "effect"
import * as Display from "../src/Display.js"
import * as Output from "../src/Output.js"
import * as CliProgress from "../src/Progress.js"
import * as Report from "../src/Report.js"
import * as Format from "../src/render/Format.js"
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

/** Plays a scripted run through the display, the clock moving as the script says. */
const play = (
  script: ReadonlyArray<readonly [number, Progress.Event]>,
  flags: Display.Flags,
  ending: Omit<Report.Ending, "finishedAt">,
  options: { readonly isTTY?: boolean } = {}
) =>
  Effect.gen(function* () {
    const display = yield* Display.make(flags, header)
    for (const [wait, event] of script) {
      yield* TestClock.adjust(wait)
      for (const translated of CliProgress.translate(context, event)) yield* display.emit(translated)
    }
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
        ["RunStarted", "ItemSucceeded", "PullProgress", "ItemStarted", "ItemStatus", "ItemFailed"]
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
      const summary = Format.stripAnsi(stdout.slice(stdout.lastIndexOf("\x1b[?2026l")))
      assert.include(summary, "STAGE")
      assert.include(summary, "✖ run failed")
    })
  )
})
