// `pnpm bench warm`: the 8-processor, 2-plugin pipeline of tests/fixtures/pipeline on the real
// Docker engine with the test app image, in one run: cold `armada run` (a new process that starts
// and removes every container) and the coordinator baseline (bench/baseline-pipeline.sh, as in
// `pnpm bench pipeline`: docker CLI + curl, the Go coordinator's way), alternating, each round in
// rotating order; the first run through a fresh `armada serve` (its set starts
// cold), re-runs through the warm server by a client that is already running (this process:
// fetch, as `armada run --server` does it: pack the template, POST /runs, follow the events,
// GET the result and the output, extract it) and by `armada run --server` (a new process, which
// adds its own start), then 8 concurrent re-runs through the same server. Every time is what the
// client observed, from the request to the output written; every output is checked byte for byte
// against the golden output of the first cold run (itself checked against the fixture's golden
// directory). Prints one JSON line per run (with the server's own duration and stages) and one per
// contender with the medians and their ratios to the cold run's and the baseline's; after the
// concurrent runs, GET /pools must show no more sets than --max-sets. Target: median warm re-run
// <= 0.1 x median cold and <= 400 ms. Options: --runs N warm re-runs by fetch (default 10), --cold N
// cold runs and baseline runs each (default 3), --client-runs N `armada run --server` re-runs
// (default 3).
import { execFile, execFileSync, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Archive } from "@armada/engine"
import { Spec } from "@armada/orchestrator"
import { Chunk, Effect, Stream } from "effect"
// Not the testkit index: that one loads vitest.
import { ensureTestAppImage } from "../packages/testkit/dist/TestImage.js"
import { runBaseline, writePlan } from "./baseline.mjs"
import {
  checkSameFiles,
  labelled,
  machine,
  median,
  numberFlag,
  printLine,
  ratio,
  rotated,
  round,
  runsFlag,
  whole
} from "./lib.mjs"

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, "..")
const bin = join(root, "apps", "cli", "dist", "bin.js")
const fixtures = join(root, "tests", "fixtures", "pipeline")
const golden = join(fixtures, "golden")
const prefix = "armadawarmbench"
const label = `${prefix}.managed=true`
// The baseline's own prefix: its script removes its network by name, which must not be armada's.
const baselinePrefix = "armadawarmbase"
const baselineLabel = `${baselinePrefix}.managed=true`
const maxSets = 2
const concurrent = 8

const runs = runsFlag(10, 1)
const colds = numberFlag("cold", 3)
const clientRuns = numberFlag("client-runs", 3)
for (const [name, n] of [
  ["--cold", colds],
  ["--client-runs", clientRuns]
]) {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: expected an integer >= 1, got ${n}`)
}

/** Removes whatever carries the bench's labels (a failed bench's leftovers included). */
const sweep = () => {
  for (const each of [label, baselineLabel]) {
    const containers = labelled("container", each)
    if (containers.length > 0) execFileSync("docker", ["rm", "-f", "-v", ...containers], { stdio: "ignore" })
    for (const kind of ["volume", "network"]) {
      const found = labelled(kind, each)
      if (found.length > 0) execFileSync("docker", [kind, "rm", ...found], { stdio: "ignore" })
    }
  }
}

/** What carries `label` on the engine, by kind. */
const leftovers = (label) => ["container", "volume", "network"].flatMap((kind) => labelled(kind, label))

/** `armada ...` as a new process; rejects on a non-zero exit. */
const armada = (args) =>
  new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: root, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) =>
        error === null
          ? resolve(stdout)
          : reject(new Error(`armada ${args.join(" ")}: ${error.message}\n${stdout}${stderr}`))
    )
  })

/** `armada serve --port 0 --json` and the URL it prints once it listens. */
const serve = () =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [bin, "serve", "--port", "0", "--json", "--engine", "docker", "--max-sets", String(maxSets)],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] }
    )
    const exited = new Promise((done) => child.on("exit", (code) => done(code)))
    let stdout = ""
    let stderr = ""
    child.stderr.on("data", (chunk) => {
      stderr += chunk
    })
    child.stdout.on("data", (chunk) => {
      stdout += chunk
      if (stdout.includes("\n")) {
        const port = new URL(JSON.parse(stdout.split("\n")[0]).url).port
        resolve({ child, url: `http://127.0.0.1:${port}`, exited })
      }
    })
    exited.then((code) => reject(new Error(`armada serve exited with ${code}: ${stdout}${stderr}`)))
  })

const bytesOf = (chunks) => {
  const all = Chunk.toReadonlyArray(chunks)
  return Buffer.concat(all.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)))
}

const ok = async (response, what) => {
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status} ${await response.text()}`)
  return response
}

/**
 * One run through the server by this process, as `armada run --server` does it; resolves with
 * the server's RunInfo once the output is written to `output`.
 */
const remoteRun = async (url, output) => {
  const template = await Effect.runPromise(
    Stream.runCollect(Archive.gzip(Archive.packDirectory(join(fixtures, "template"))))
  )
  const form = new FormData()
  form.append("spec", specText)
  form.append("format", "yaml")
  form.append("template", new Blob([bytesOf(template)], { type: "application/gzip" }), "template.tar.gz")
  const created = await (
    await ok(await fetch(`${url}/runs`, { method: "POST", body: form }), "POST /runs")
  ).json()
  // The events end when the run has ended.
  await (await ok(await fetch(`${url}/runs/${created.id}/events`), "GET events")).arrayBuffer()
  const info = await (await ok(await fetch(`${url}/runs/${created.id}`), "GET run")).json()
  if (info.status !== "success")
    throw new Error(`run ${created.id}: ${info.status} ${JSON.stringify(info.result?.failures)}`)
  const archive = Buffer.from(
    await (await ok(await fetch(`${url}/runs/${created.id}/output`), "GET output")).arrayBuffer()
  )
  await Effect.runPromise(
    Archive.extractToDirectory(Archive.gunzip(Stream.make(new Uint8Array(archive))), output)
  )
  return info
}

/** The server's own view of a run: its duration and its stages. */
const serverSide = (info) => ({
  serverMillis: info.result.durationMs,
  reused: info.pool?.reused,
  stages: Object.fromEntries(info.result.stages.map((s) => [s.stage, s.durationMs]))
})

const image = ensureTestAppImage()
const work = mkdtempSync(join(tmpdir(), "armada-bench-warm-"))
const specFile = join(work, "armada.yaml")
const specText = `${readFileSync(join(fixtures, "armada.yaml"), "utf8").replace("template: ./template", `template: ${join(fixtures, "template")}`)}  prefix: ${prefix}\n`
writeFileSync(specFile, specText)
const plan = join(work, "plan")
writePlan(
  plan,
  await Effect.runPromise(Spec.parse(specText, { format: "yaml", baseDir: fixtures, source: specFile })),
  image,
  baselinePrefix
)

const results = new Map()
const record = (contender, millis, extra = {}) => {
  if (!results.has(contender)) results.set(contender, [])
  results.get(contender).push(millis)
  printLine({ contender, millis: whole(millis), ...extra })
}
let outputs = 0
const nextOutput = () => join(work, `out-${++outputs}`)
const timed = async (f) => {
  const started = performance.now()
  const value = await f()
  return [performance.now() - started, value]
}
const loads = []
const noteLoad = () => loads.push(round(loadavg()[0]))

let server
try {
  sweep()
  // The golden output of this run: the first cold run, itself checked against the fixture.
  const reference = nextOutput()
  const coldArmada = async (r) => {
    const output = r === 0 ? reference : nextOutput()
    const [millis] = await timed(() => armada(["run", specFile, "--engine", "docker", "-o", output]))
    checkSameFiles(output, r === 0 ? golden : reference, "cold armada run")
    record("cold armada run", millis)
    const left = leftovers(label)
    if (left.length > 0) throw new Error(`cold armada run left ${left.length} labelled resources behind`)
  }
  const baseline = async (r) => {
    const output = nextOutput()
    const { millis, durations } = runBaseline(plan, `base${r}`, output, join(work, `phases-${r}`))
    checkSameFiles(output, golden, "coordinator baseline")
    record("coordinator baseline", millis, {
      phases: Object.fromEntries(Object.entries(durations).map(([phase, ms]) => [phase, whole(ms)]))
    })
    const left = leftovers(baselineLabel)
    if (left.length > 0) throw new Error(`the baseline left ${left.length} labelled resources behind`)
  }
  for (let r = 0; r < colds; r++) {
    noteLoad()
    for (const contender of rotated([coldArmada, baseline], r)) await contender(r)
  }

  noteLoad()
  server = await serve()
  {
    const output = nextOutput()
    const [millis, info] = await timed(() => remoteRun(server.url, output))
    checkSameFiles(output, reference, "first run through serve")
    record("first run through serve (fetch)", millis, serverSide(info))
  }
  for (let r = 0; r < runs; r++) {
    if (r % 5 === 0) noteLoad()
    const output = nextOutput()
    const [millis, info] = await timed(() => remoteRun(server.url, output))
    checkSameFiles(output, reference, "warm re-run (fetch)")
    if (!info.pool?.reused) throw new Error("a warm re-run did not reuse a set")
    record("warm re-run (fetch)", millis, serverSide(info))
  }
  for (let r = 0; r < clientRuns; r++) {
    noteLoad()
    const output = nextOutput()
    const [millis, stdout] = await timed(() =>
      armada(["run", specFile, "--server", server.url, "--json", "-o", output])
    )
    checkSameFiles(output, reference, "warm re-run (armada run --server)")
    const document = JSON.parse(stdout.trim().split("\n").at(-1))
    record("warm re-run (armada run --server)", millis, { clientReportedMillis: document.durationMs })
  }

  noteLoad()
  const [wallMillis, each] = await timed(() =>
    Promise.all(
      Array.from({ length: concurrent }, async () => {
        const output = nextOutput()
        const [millis, info] = await timed(() => remoteRun(server.url, output))
        checkSameFiles(output, reference, "concurrent re-run")
        return { millis, reused: info.pool?.reused === true }
      })
    )
  )
  const pools = await (await ok(await fetch(`${server.url}/pools`), "GET /pools")).json()
  if (pools.sets.length > maxSets)
    throw new Error(`the server holds ${pools.sets.length} sets, more than ${maxSets}`)
  const concurrentRow = {
    contender: `${concurrent} concurrent re-runs (fetch)`,
    wallMillis: whole(wallMillis),
    medianMillis: whole(median(each.map((e) => e.millis))),
    maxMillis: whole(Math.max(...each.map((e) => e.millis))),
    reused: each.filter((e) => e.reused).length,
    setsAfter: pools.sets.length,
    maxSets,
    stats: pools.stats
  }
  printLine(concurrentRow)
  // Interrupted by the signal, it exits 130; what matters is what it leaves.
  server.child.kill("SIGTERM")
  await server.exited
  server = undefined
  const left = leftovers(label)
  if (left.length > 0)
    throw new Error(`armada serve left ${left.length} labelled resources behind after SIGTERM`)
} finally {
  if (server !== undefined) {
    server.child.kill("SIGTERM")
    await server.exited
  }
  sweep()
  rmSync(work, { recursive: true, force: true })
}

const cold = median(results.get("cold armada run"))
const baselineMedian = median(results.get("coordinator baseline"))
for (const [contender, xs] of results) {
  printLine({
    contender,
    runs: xs.length,
    medianMillis: whole(median(xs)),
    minMillis: whole(Math.min(...xs)),
    maxMillis: whole(Math.max(...xs)),
    ratioToCold: ratio(median(xs), cold),
    ratioToBaseline: ratio(median(xs), baselineMedian)
  })
}
printLine({
  runs,
  colds,
  clientRuns,
  loadAverage: loadavg().map((x) => round(x)),
  loadsDuring: loads,
  machine: machine()
})
const warm = median(results.get("warm re-run (fetch)"))
const pass = warm <= 0.1 * cold && warm <= 400
console.log(
  `target median warm re-run <= 0.1 x median cold and <= 400 ms: ${pass ? "met" : "NOT met"} (${whole(warm)} ms, ${ratio(warm, cold)} x cold, ${ratio(warm, baselineMedian)} x the coordinator baseline)`
)
