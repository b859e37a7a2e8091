// `pnpm bench pipeline`: the 8-processor, 2-plugin pipeline of tests/fixtures/pipeline on the real
// Docker engine with the test app image, run by armada (built @armada/orchestrator, at
// concurrency 1, 2, 4 and 8) and by bench/baseline-pipeline.sh (docker CLI + curl, polling each
// container once a second in turn, as the Go coordinator does), side by side in one run: each round
// runs every contender once, in rotating order. Each wall time covers everything from nothing to
// the exported result with every container, volume and network removed again; each result is
// checked against the golden directory. Prints one JSON line per run (wall time and its phases:
// for armada the stages of its summary plus the scope's cleanup, for the baseline the marks its
// script writes) and one summary line per contender with the medians.
// Target: armada at concurrency 8 <= 0.5 x the baseline's median. Options: --runs N (default 5).
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Names } from "@armada/core"
import { DockerEngineLive } from "@armada/docker"
import { layer as processorClientLayer } from "@armada/http"
import { Orchestrator, Spec } from "@armada/orchestrator"
import { Effect, Layer, ManagedRuntime } from "effect"
// Not the testkit index: that one loads vitest.
import { ensureTestAppImage } from "../packages/testkit/dist/TestImage.js"
import { runBaseline, writePlan } from "./baseline.mjs"
import {
  checkSameFiles,
  labelled,
  loadLayerUndici,
  machine,
  median,
  printLine,
  ratio,
  rotated,
  round,
  runsFlag,
  whole
} from "./lib.mjs"

const here = dirname(fileURLToPath(import.meta.url))
const fixtures = join(here, "..", "tests", "fixtures", "pipeline")
const golden = join(fixtures, "golden")

const layerUndici = await loadLayerUndici()
const runs = runsFlag(5, 1)
const concurrencies = [1, 2, 4, 8]
const prefix = Names.Id.make("armadabench")

const image = ensureTestAppImage()
const specFile = join(fixtures, "armada.yaml")
const base = await Effect.runPromise(
  Spec.parse(readFileSync(specFile, "utf8"), { format: "yaml", baseDir: fixtures, source: specFile })
)

// The baseline's plan: the same items and requests, written out for the shell.
const scratch = mkdtempSync(join(tmpdir(), "armada-bench-pipeline-"))
const plan = join(scratch, "plan")
writePlan(plan, base, image, prefix)

const runtime = ManagedRuntime.make(
  Layer.mergeAll(DockerEngineLive.layer(), processorClientLayer.pipe(Layer.provide(layerUndici)))
)

let sessionCount = 0
const nextSession = (tag) => Names.Id.make(`${tag}${++sessionCount}`)

const contenders = [
  {
    name: "baseline",
    run: (output) => {
      const session = nextSession("base")
      return runBaseline(plan, session, output, join(scratch, `phases-${sessionCount}`))
    }
  },
  ...concurrencies.map((concurrency) => ({
    name: `armada c=${concurrency}`,
    run: async (output) => {
      const spec = {
        ...base,
        session: nextSession(`c${concurrency}x`),
        options: { ...base.options, prefix, concurrency }
      }
      const started = performance.now()
      const summary = await runtime.runPromise(Orchestrator.pipeline(spec, { output }))
      const millis = performance.now() - started
      const { total, ...stages } = summary.durations
      // The scope's cleanup runs after the summary is made: it is what is left of the wall time.
      return { millis, durations: { ...stages, cleanup: millis - total } }
    }
  }))
]

const results = new Map(contenders.map((c) => [c.name, []]))
const phases = new Map(contenders.map((c) => [c.name, []]))
let outputCount = 0
const once = async (contender, record) => {
  const output = join(scratch, `out-${++outputCount}`)
  const { millis, durations } = await contender.run(output)
  checkSameFiles(output, golden, contender.name)
  rmSync(output, { recursive: true, force: true })
  const left = ["container", "volume", "network"].flatMap((kind) => labelled(kind, `${prefix}.managed=true`))
  if (left.length > 0) throw new Error(`${contender.name} left ${left.length} labelled resources behind`)
  if (record) {
    results.get(contender.name).push(millis)
    phases.get(contender.name).push(durations)
    const rounded = Object.fromEntries(Object.entries(durations).map(([phase, ms]) => [phase, whole(ms)]))
    printLine({ contender: contender.name, millis: whole(millis), phases: rounded })
  }
}

try {
  // One untimed run each: the first container of an image and the first connections cost extra.
  for (const contender of contenders) await once(contender, false)
  for (let r = 0; r < runs; r++) {
    for (const contender of rotated(contenders, r)) await once(contender, true)
  }
} finally {
  await runtime.dispose()
  rmSync(scratch, { recursive: true, force: true })
}

const baseline = median(results.get("baseline"))
const rows = contenders.map((c) => {
  const xs = results.get(c.name)
  return {
    contender: c.name,
    medianMillis: whole(median(xs)),
    minMillis: whole(Math.min(...xs)),
    maxMillis: whole(Math.max(...xs)),
    ratioToBaseline: ratio(median(xs), baseline, 2),
    medianPhases: Object.fromEntries(
      Object.keys(phases.get(c.name)[0]).map((phase) => [
        phase,
        whole(median(phases.get(c.name).map((p) => p[phase])))
      ])
    )
  }
})
for (const row of rows) printLine(row)
printLine({ runs, loadAverage: loadavg().map((x) => round(x)), machine: machine() })
const ours = rows.find((row) => row.contender === "armada c=8")
const pass = ours.ratioToBaseline <= 0.5
console.log(
  `target armada c=8 <= 0.5 x baseline median: ${pass ? "met" : "NOT met"} (${ours.ratioToBaseline})`
)
