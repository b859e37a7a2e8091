/**
 * Load: 64 processors at concurrency 8 on the real engine, three runs in a row, through the built
 * `armada run`. Every output file must be exactly what its processor renders, nothing labelled
 * with the run's session may remain, and the orchestrator's peak memory (the CLI process's
 * resident set high-water mark, VmHWM, sampled every 50 ms) is recorded.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Engine, TestImage } from "@armada/testkit"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import * as H from "./harness.js"
import * as Report from "./report.js"

const processors = 64
const concurrency = 8
const runs = 3
/**
 * Every container is waited for at once, so 65 test apps start side by side: on a busy 2-core
 * machine the last ones listen minutes after the first. The test is about load, not the timeouts.
 */
const timeouts = { ready: "5m", call: "2m" }

interface Row {
  readonly run: number
  readonly millis: number
  readonly stages: string
  readonly files: number
  readonly correct: number
  readonly leftovers: number
  readonly peakRss: number
}

const rows: Array<Row> = []
let work = ""
let template = ""

const expected = (i: number) => `file ${i} of p${i}\n`

describe.skipIf(Engine.skipWithoutEngine("reliability: load"))("reliability: load", () => {
  beforeAll(() => {
    H.requireBin()
    TestImage.ensureTestAppImage()
    work = H.scratch("load")
    template = H.writeTree(
      join(work, "template"),
      Object.fromEntries(
        Array.from({ length: processors }, (_, i) => [`f${i}.txt`, `file ${i} of {{name}}\n`])
      )
    )
  }, 300_000)

  afterAll(() => {
    const atEnd = H.finishFile(work)
    const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`
    Report.save("load", {
      title: "Load",
      how: `Real Docker engine; \`armada run --engine docker --json\` (the built CLI) on a spec of ${processors} processors (the test app, each rendering its own file) and the merger, concurrency ${concurrency}, timeouts ready ${timeouts.ready} / call ${timeouts.call}, ${runs} runs in a row. Peak memory: the CLI process's VmHWM from /proc, sampled every 50 ms.`,
      figures: [
        `runs: ${rows.length}; outputs correct: ${rows.reduce((n, r) => n + r.correct, 0)} of ${rows.length * processors} files`,
        `leftovers found after the runs: ${rows.reduce((n, r) => n + r.leftovers, 0)}; labelled resources at the end of the file: ${atEnd}`,
        `orchestrator peak memory (max RSS of \`armada run\`): ${rows.map((r) => mib(r.peakRss)).join(", ")}`,
        `wall time per run: ${rows.map((r) => `${(r.millis / 1000).toFixed(1)} s`).join(", ")} (the machine's load average at the end: ${(
          readFileSync("/proc/loadavg", "utf8").split(" ")[0] ?? "?"
        ).trim()})`
      ],
      tables: [
        {
          columns: ["run", "wall time", "stages (ms)", "files", "correct", "leftovers", "peak RSS"],
          rows: rows.map((r) => [
            r.run,
            `${(r.millis / 1000).toFixed(1)} s`,
            r.stages,
            r.files,
            r.correct,
            r.leftovers,
            mib(r.peakRss)
          ])
        }
      ]
    })
  }, 120_000)

  it(`${processors} processors at concurrency ${concurrency}, ${runs} times: every output correct, nothing leaks`, async () => {
    for (let run = 1; run <= runs; run++) {
      const session = H.sessionId()
      const dir = H.writeTree(join(work, `run-${run}`), {})
      const spec = H.specFile(dir, {
        template,
        session,
        templateId: session,
        processors: Array.from({ length: processors }, (_, i) => ({
          id: `p${i}`,
          image: H.image,
          globs: [{ glob: `f${i}.txt`, type: "template" }],
          config: { vars: { name: `p${i}` } }
        })),
        options: { concurrency, timeouts }
      })
      const output = join(dir, "out")
      const cli = H.armada(["run", spec, "--engine", "docker", "--json", "--output", output])
      const exit = await cli.exit
      const result = cli.result()
      assert.strictEqual(exit.code, 0, JSON.stringify(result.failures))
      const files = readdirSync(output).sort()
      const correct = files.filter((name) => {
        const i = Number(/^f(\d+)\.txt$/.exec(name)?.[1] ?? -1)
        return i >= 0 && readFileSync(join(output, name), "utf8") === expected(i)
      }).length
      const left = H.labelled(H.sessionLabel(session))
      rows.push({
        run,
        millis: exit.millis,
        stages: (
          JSON.parse(cli.stdout().trim().split("\n").at(-1)!) as {
            stages: Array<{ stage: string; durationMs: number }>
          }
        ).stages
          .map((s) => `${s.stage} ${Math.round(s.durationMs)}`)
          .join(", "),
        files: files.length,
        correct,
        leftovers: H.count(left),
        peakRss: exit.peakRss
      })
      assert.strictEqual(files.length, processors)
      assert.strictEqual(correct, processors)
      assert.deepStrictEqual(left, H.nothing)
      assert.isAbove(exit.peakRss, 0, "the CLI's memory was never sampled")
    }
  }, 1_800_000)

  it(`leaves nothing labelled ${H.managedLabel}`, () => {
    H.assertNothingLeft()
  })
})
