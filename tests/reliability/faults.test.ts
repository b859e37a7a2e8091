/**
 * The fault matrix: each fault knob of the test app in each stage where it applies, on the real
 * engine. Every run must fail with a `StageFailed` of that stage naming each faulty item with the
 * typed cause the knob provokes (or, for the knobs that must not break a run, succeed), the CLI
 * must exit with the documented code, and nothing labelled with the run's session may remain.
 * A representative subset goes through the built `armada` binary, the rest through the library.
 *
 * The merger's environment is armada's to set, so a merger fault runs a derived image (`FROM`
 * the test app, plus one `ENV` line), built here, labelled with the test prefix and removed after.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Parallel } from "@armada/core"
import type { OrchestratorError } from "@armada/orchestrator"
import { Engine, TestImage } from "@armada/testkit"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as H from "./harness.js"
import * as Report from "./report.js"

type Role = "processor" | "plugin" | "merger"
type Stage = "start" | "process" | "merge" | "plug"

/** One failure the run must report. */
interface Expected {
  readonly kind: Role
  readonly id: string
  readonly tag: string
  /** Checked against the cause's message. */
  readonly detail?: RegExp
}

interface Case {
  readonly fault: string
  readonly stage: Stage
  readonly via: "cli" | "library"
  readonly processors: ReadonlyArray<Record<string, unknown>>
  readonly plugins: ReadonlyArray<Record<string, unknown>>
  readonly merger?: string
  readonly timeouts?: Record<string, string>
  /** Empty: the run must succeed. */
  readonly failures: ReadonlyArray<Expected>
  readonly skipped?: ReadonlyArray<string>
  /** For a run that succeeds: checks on the exported output; returns what it saw. */
  readonly output?: (dir: string) => string
}

interface Row {
  readonly fault: string
  readonly stage: Stage
  readonly items: string
  readonly via: string
  readonly expected: string
  readonly observed: string
  readonly millis: number
  readonly leftovers: number
  readonly problems: ReadonlyArray<string>
}

const healthy = (id: string) => ({
  id,
  image: H.image,
  globs: [{ glob: "**", type: "template" }],
  config: { vars: { name: id } }
})
const faulty = (id: string, env: Record<string, string>) => ({ ...healthy(id), env })
const plugin = (id: string, env: Record<string, string> = {}) => ({
  id,
  image: H.image,
  env,
  config: { writeFile: { path: `${id}.txt`, content: `${id}\n` } }
})

const knobs = {
  status: { ARMADA_FAULT_STATUS: "500" },
  hang: { ARMADA_FAULT_HANG: "1" },
  malformed: { ARMADA_FAULT_MALFORMED: "1" },
  outside: { ARMADA_FAULT_OUTSIDE_AREA: "1" },
  big: { ARMADA_FAULT_BIG_RESPONSE: String(10 * 1024 * 1024) },
  stream: { ARMADA_FAULT_STREAM_FOREVER: "1" },
  writeTemplate: { ARMADA_FAULT_WRITE_TEMPLATE: "1" }
} as const

/**
 * The runs about a call timeout: short enough to keep the matrix quick, long enough for the healthy
 * calls of the same run on a busy machine (the other runs have the suite's roomy timeouts).
 */
const callTimeout = { call: "30s" }
const timedOut = /did not answer within 30000 ms/

/**
 * The runs about the ready timeout: the faulty items listen only after ten minutes, the healthy
 * ones of the same run have a minute.
 */
const readyTimeout = { ready: "60s" }
const neverListens = { ARMADA_FAULT_START_DELAY_MS: "600000" }
const notReady = /was not ready after 60000 ms/

/** What each call fault gives, whoever answers it. */
const callFaults: ReadonlyArray<{
  readonly name: string
  readonly env: Record<string, string>
  readonly tag: string
  readonly detail: RegExp
  readonly timeouts?: Record<string, string>
}> = [
  { name: "STATUS=500", env: knobs.status, tag: "BadStatus", detail: /answered HTTP 500: fault: status 500/ },
  { name: "HANG=1", env: knobs.hang, tag: "Timeout", detail: timedOut, timeouts: callTimeout },
  { name: "MALFORMED=1", env: knobs.malformed, tag: "BadResponse", detail: /malformed JSON/ },
  {
    name: "BIG_RESPONSE=10MiB",
    env: knobs.big,
    tag: "BadResponse",
    detail: /larger than 1048576 bytes/
  },
  { name: "STREAM_FOREVER=1", env: knobs.stream, tag: "Timeout", detail: timedOut, timeouts: callTimeout }
]

/** Derived merger images: the tag of each, with its Dockerfile; the cases name them, beforeAll builds them. */
const mergerImages = new Map<string, string>()
const mergerImage = (env: Record<string, string>): string => {
  const [key, value] = Object.entries(env)[0]!
  const tag = `${H.prefix}/merger-${key.replace("ARMADA_FAULT_", "").toLowerCase().replaceAll("_", "-")}:dev`
  mergerImages.set(tag, `FROM ${H.image}\nENV ${key}=${value}\n`)
  return tag
}

const cases = (): Record<Stage, ReadonlyArray<Case>> => ({
  start: [
    {
      fault: "EXIT=3/4/5",
      stage: "start",
      via: "cli",
      processors: [healthy("ok"), faulty("bad", { ARMADA_FAULT_EXIT: "3" })],
      plugins: [plugin("stamp", { ARMADA_FAULT_EXIT: "4" })],
      merger: mergerImage({ ARMADA_FAULT_EXIT: "5" }),
      failures: [
        { kind: "processor", id: "bad", tag: "Exited", detail: /exited with code 3/ },
        { kind: "plugin", id: "stamp", tag: "Exited", detail: /exited with code 4/ },
        { kind: "merger", id: "merger", tag: "Exited", detail: /exited with code 5/ }
      ]
    },
    {
      fault: "START_DELAY_MS=600000 (ready 60 s)",
      stage: "start",
      via: "library",
      processors: [healthy("ok"), faulty("slow", neverListens)],
      plugins: [plugin("stamp", neverListens)],
      merger: mergerImage(neverListens),
      timeouts: readyTimeout,
      failures: [
        { kind: "processor", id: "slow", tag: "NotReady", detail: notReady },
        { kind: "plugin", id: "stamp", tag: "NotReady", detail: notReady },
        { kind: "merger", id: "merger", tag: "NotReady", detail: notReady }
      ]
    },
    {
      fault: "START_DELAY_MS=2000",
      stage: "start",
      via: "library",
      processors: [healthy("ok"), faulty("slow", { ARMADA_FAULT_START_DELAY_MS: "2000" })],
      plugins: [plugin("stamp", { ARMADA_FAULT_START_DELAY_MS: "2000" })],
      failures: [],
      output: (dir) => {
        const readme = readFileSync(join(dir, "README.md"), "utf8")
        if (readme !== "# slow\n") throw new Error(`README.md is ${JSON.stringify(readme)}`)
        return "success, README.md from the slow processor"
      }
    }
  ],
  process: [
    {
      fault: "STATUS=500",
      stage: "process",
      via: "cli",
      processors: [healthy("ok"), faulty("bad", knobs.status)],
      plugins: [plugin("stamp")],
      failures: [{ kind: "processor", id: "bad", tag: "BadStatus", detail: callFaults[0]!.detail }]
    },
    {
      // Only the faulty processors: no healthy call shares the short timeout.
      fault: "HANG, STREAM_FOREVER (one run)",
      stage: "process",
      via: "library",
      timeouts: callTimeout,
      processors: [faulty("hang", knobs.hang), faulty("stream", knobs.stream)],
      plugins: [plugin("stamp")],
      failures: [
        { kind: "processor", id: "hang", tag: "Timeout", detail: timedOut },
        { kind: "processor", id: "stream", tag: "Timeout", detail: timedOut }
      ]
    },
    {
      fault: "MALFORMED, OUTSIDE_AREA, BIG_RESPONSE=10MiB (one run)",
      stage: "process",
      via: "library",
      processors: [
        faulty("malformed", knobs.malformed),
        healthy("ok"),
        faulty("outside", knobs.outside),
        faulty("big", knobs.big)
      ],
      plugins: [plugin("stamp")],
      failures: [
        { kind: "processor", id: "malformed", tag: "BadResponse", detail: /malformed JSON/ },
        {
          kind: "processor",
          id: "outside",
          tag: "BadResponse",
          detail: /outputDir "\/etc" is not inside \/workspace\/area/
        },
        { kind: "processor", id: "big", tag: "BadResponse", detail: /larger than 1048576 bytes/ }
      ]
    },
    {
      fault: "WRITE_TEMPLATE=1",
      stage: "process",
      via: "cli",
      processors: [healthy("ok"), faulty("writer", knobs.writeTemplate)],
      plugins: [plugin("stamp")],
      failures: [],
      output: (dir) => {
        const probe = readFileSync(join(dir, ".armada-write-probe"), "utf8").trim()
        if (probe !== "EROFS") throw new Error(`the probe says ${JSON.stringify(probe)}, not EROFS`)
        return "success, probe: EROFS"
      }
    }
  ],
  merge: callFaults.map(
    (fault, index): Case => ({
      fault: fault.name,
      stage: "merge",
      via: index === 0 ? "cli" : "library",
      processors: [healthy("ok")],
      plugins: [plugin("stamp")],
      merger: mergerImage(fault.env),
      ...(fault.timeouts === undefined ? {} : { timeouts: fault.timeouts }),
      failures: [{ kind: "merger", id: "merger", tag: fault.tag, detail: fault.detail }]
    })
  ),
  plug: callFaults.map(
    (fault, index): Case => ({
      fault: fault.name,
      stage: "plug",
      via: index === 1 ? "cli" : "library",
      processors: [healthy("ok")],
      plugins: [plugin("bad", fault.env), plugin("after")],
      ...(fault.timeouts === undefined ? {} : { timeouts: fault.timeouts }),
      failures: [{ kind: "plugin", id: "bad", tag: fault.tag, detail: fault.detail }],
      skipped: ["after"]
    })
  )
})

/** The CLI's name for an item of a stage (docs/cli.md, "Items"). */
const cliItem = (stage: Stage, failure: Expected) =>
  stage === "start" ? (failure.kind === "merger" ? "merger" : `${failure.kind}/${failure.id}`) : failure.id

const describeExpected = (c: Case) =>
  c.failures.length === 0
    ? "success"
    : `${c.stage}: ${c.failures.map((f) => `${f.id} ${f.tag}`).join(", ")}${
        c.skipped === undefined ? "" : `; skipped ${c.skipped.join(", ")}`
      }${c.via === "cli" ? "; exit 1" : ""}`

const rows: Array<Row> = []
let template = ""
let work = ""

const leftoversOf = (session: string | undefined, problems: Array<string>): number => {
  if (session === undefined) return 0
  const left = H.labelled(H.sessionLabel(session))
  if (H.count(left) > 0) problems.push(`left behind: ${JSON.stringify(left)}`)
  return H.count(left)
}

const runLibrary = (c: Case, index: number): Effect.Effect<Row> =>
  Effect.gen(function* () {
    const problems: Array<string> = []
    const spec = yield* H.specOf({
      template,
      processors: c.processors,
      plugins: c.plugins,
      ...(c.merger === undefined ? {} : { merger: { image: c.merger } }),
      options: c.timeouts === undefined ? {} : { timeouts: c.timeouts }
    })
    const output = join(work, `out-${c.stage}-${index}`)
    const ran = yield* H.runPipeline(spec, output)
    let observed: string
    if (Exit.isSuccess(ran.exit)) {
      observed = "success"
      if (c.failures.length > 0) problems.push("the run succeeded")
      else if (c.output !== undefined) {
        try {
          observed = c.output(output)
        } catch (error) {
          problems.push(String(error))
        }
      }
    } else {
      const error = Cause.failureOption(ran.exit.cause)
      if (Option.isNone(error)) {
        observed = `defect: ${Cause.pretty(ran.exit.cause)}`
        problems.push(observed)
      } else {
        const failed: OrchestratorError.StageFailed = error.value
        observed = `${failed.stage}: ${failed.failures.map((f) => `${f.id} ${f.cause._tag}`).join(", ")}${
          failed.skipped.length === 0 ? "" : `; skipped ${failed.skipped.join(", ")}`
        }`
        if (c.failures.length === 0) problems.push(failed.message)
        if (failed.stage !== c.stage) problems.push(`failed in stage ${failed.stage}: ${failed.message}`)
        const got = failed.failures.map((f) => ({
          kind: f.kind,
          id: f.id,
          tag: f.cause._tag,
          stage: f.stage
        }))
        const want = c.failures.map((f) => ({ kind: f.kind, id: f.id, tag: f.tag, stage: c.stage }))
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          problems.push(
            `failures ${JSON.stringify(got)}, expected ${JSON.stringify(want)}: ${failed.message}`
          )
        }
        for (const expected of c.failures) {
          const found = failed.failures.find((f) => f.id === expected.id)
          if (found !== undefined && expected.detail !== undefined && !expected.detail.test(found.message)) {
            problems.push(`${expected.id}: ${found.message} does not match ${expected.detail}`)
          }
        }
        if (JSON.stringify(failed.skipped) !== JSON.stringify(c.skipped ?? [])) {
          problems.push(
            `skipped ${JSON.stringify(failed.skipped)}, expected ${JSON.stringify(c.skipped ?? [])}`
          )
        }
      }
    }
    return {
      fault: c.fault,
      stage: c.stage,
      items: itemsOf(c),
      via: "library",
      expected: describeExpected(c),
      observed,
      millis: ran.millis,
      leftovers: leftoversOf(spec.session, problems),
      problems
    }
  })

const itemsOf = (c: Case) =>
  c.failures.length > 0
    ? c.failures.map((f) => `${f.kind}/${f.id}`).join(", ")
    : [...c.processors, ...c.plugins]
        .filter((item) => item.env !== undefined && Object.keys(item.env as object).length > 0)
        .map((item) => String(item.id))
        .join(", ")

const runCli = (c: Case, index: number): Effect.Effect<Row> =>
  Effect.promise(async () => {
    const problems: Array<string> = []
    const dir = join(work, `cli-${c.stage}-${index}`)
    const session = H.sessionId()
    const specPath = H.specFile(H.writeTree(dir, {}), {
      template,
      session,
      templateId: session,
      processors: c.processors,
      plugins: c.plugins,
      ...(c.merger === undefined ? {} : { merger: { image: c.merger } }),
      ...(c.timeouts === undefined ? {} : { options: { timeouts: c.timeouts } })
    })
    const output = join(dir, "out")
    const run = H.armada(["run", specPath, "--engine", "docker", "--json", "--output", output])
    const exit = await run.exit
    const wantCode = c.failures.length === 0 ? 0 : 1
    let observed = `exit ${exit.code}`
    try {
      const result = run.result()
      if (exit.code !== wantCode) problems.push(`exit ${exit.code}, expected ${wantCode}: ${run.stderr()}`)
      if (result.exitCode !== exit.code) problems.push(`the document says exit ${result.exitCode}`)
      // The document lists failures in declared order (docs/cli.md), whatever order they came in.
      const declared = [...[...c.processors, ...c.plugins].map((item) => String(item.id)), "merger"]
      const got = result.failures.map((f) => ({ stage: f.stage, item: f.item, tag: f.cause._tag }))
      const want = [...c.failures]
        .sort((a, b) => declared.indexOf(a.id) - declared.indexOf(b.id))
        .map((f) => ({ stage: c.stage, item: cliItem(c.stage, f), tag: f.tag }))
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        problems.push(`failures ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`)
      }
      const skipped = result.skipped.map((s) => `${s.stage} ${s.item}`)
      const wantSkipped = (c.skipped ?? []).map((id) => `${c.stage} ${id}`)
      if (JSON.stringify(skipped) !== JSON.stringify(wantSkipped)) {
        problems.push(`skipped ${JSON.stringify(skipped)}, expected ${JSON.stringify(wantSkipped)}`)
      }
      for (const expected of c.failures) {
        const found = result.failures.find((f) => f.item === cliItem(c.stage, expected))
        if (found !== undefined && expected.detail !== undefined && !expected.detail.test(found.reason)) {
          problems.push(`${expected.id}: ${found.reason} does not match ${expected.detail}`)
        }
      }
      for (const id of c.skipped ?? []) {
        const item = result.items.find((i) => i.stage === c.stage && i.item === id)
        if (item !== undefined) problems.push(`${id} ran after the failing plugin: ${item.status}`)
      }
      observed =
        result.failures.length === 0
          ? `exit ${exit.code}`
          : `exit ${exit.code}; ${result.failures.map((f) => `${f.stage} ${f.item} ${f.cause._tag}`).join(", ")}`
      if (c.output !== undefined && exit.code === 0) observed = `exit 0; ${c.output(output)}`
    } catch (error) {
      problems.push(String(error))
    }
    return {
      fault: c.fault,
      stage: c.stage,
      items: itemsOf(c),
      via: "cli",
      expected: describeExpected(c),
      observed,
      millis: exit.millis,
      leftovers: leftoversOf(session, problems),
      problems
    }
  })

/** Runs the cases of one stage, three at a time, and fails with every problem found. */
const matrix = (stage: Stage) =>
  Effect.gen(function* () {
    const outcome = yield* Parallel.forEachCollect(
      cases()[stage],
      (c, index) => (c.via === "cli" ? runCli(c, index) : runLibrary(c, index)),
      { concurrency: 3 }
    )
    assert.deepStrictEqual(
      outcome.failures.map((f) => (f.cause._tag === "Die" ? String(f.cause.defect) : "")),
      []
    )
    const ran = outcome.successes.map((s) => s.value)
    rows.push(...ran)
    const problems = ran.flatMap((row) =>
      row.problems.map((problem) => `${row.fault} (${row.via}): ${problem}`)
    )
    assert.deepStrictEqual(problems, [])
  })

describe.skipIf(Engine.skipWithoutEngine("reliability: fault matrix"))("reliability: fault matrix", () => {
  beforeAll(async () => {
    H.requireBin()
    TestImage.ensureTestAppImage()
    work = H.scratch("faults")
    template = H.writeTree(join(work, "template"), {
      "README.md": "# {{name}}\n",
      "src/a.txt": "a {{name}}\n"
    })
    cases()
    for (const [tag, dockerfile] of mergerImages) await H.buildImage(tag, dockerfile)
  }, 300_000)

  afterAll(() => {
    const leftovers = H.finishFile(work)
    if (mergerImages.size > 0) H.docker(["rmi", "-f", ...mergerImages.keys()])
    const failing = rows.filter((row) => row.problems.length > 0).length
    Report.save("faults", {
      title: "Fault matrix",
      how: "Real Docker engine; the test app's fault knobs, each in the stages where it applies. Timeouts: ready 120 s, call 60 s (room for a busy machine), but call 30 s in the runs about a call timeout and ready 60 s in the run about the ready timeout. `via cli`: the built `armada run --engine docker --json`; `via library`: `Orchestrator.pipeline`. Cases of one stage run three at a time.",
      figures: [
        `runs: ${rows.length} (${rows.filter((r) => r.via === "cli").length} through the CLI, ${rows.filter((r) => r.via === "library").length} through the library)`,
        `faults injected: ${rows.reduce((n, r) => n + (r.items === "" ? 0 : r.items.split(", ").length), 0)}`,
        `runs not as expected: ${failing}`,
        `leftovers found after the runs: ${rows.reduce((n, r) => n + r.leftovers, 0)}; labelled resources at the end of the file: ${leftovers}`
      ],
      tables: [
        {
          columns: [
            "stage",
            "fault (ARMADA_FAULT_…)",
            "faulty items",
            "via",
            "expected",
            "observed",
            "time",
            "leftovers",
            "as expected"
          ],
          rows: rows.map((r) => [
            r.stage,
            r.fault,
            r.items,
            r.via,
            r.expected,
            r.observed,
            `${(r.millis / 1000).toFixed(1)} s`,
            r.leftovers,
            r.problems.length === 0 ? "yes" : `NO: ${r.problems.join("; ")}`
          ])
        }
      ],
      notes: [
        "Not applicable, so not run: `OUTSIDE_AREA` and `WRITE_TEMPLATE` outside the process stage (the test app reads them as a processor only); `EXIT` and `START_DELAY_MS` outside the start stage (they act before the server listens). The merger's faults run a derived image (`FROM armada/test-app:dev` + one `ENV`), since a spec sets no merger environment.",
        "A plugin failure stops the plug stage: the plugin declared after it is reported as skipped and never called."
      ]
    })
  }, 300_000)

  it.live(
    "start: a container that exits or never listens fails the start stage, each one named",
    () => matrix("start"),
    480_000
  )

  it.live(
    "process: every faulty processor is reported with its typed cause; the template stays read-only",
    () => matrix("process"),
    480_000
  )

  it.live("merge: each call fault of the merger fails the merge stage", () => matrix("merge"), 480_000)

  it.live(
    "plug: each call fault of a plugin fails the plug stage and skips the plugins after it",
    () => matrix("plug"),
    480_000
  )

  it(`leaves nothing labelled ${H.managedLabel}`, () => {
    H.assertNothingLeft()
  })
})
