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
// <= 0.1 x median cold and <= 400 ms. Each fetch re-run also prints where its time went (the
// client's clock and the server's event stamps, one machine): `pack` (gzip the template), `post`
// (upload, unpack and parse on the server), `take` (the pool's key, the wait for a set and its
// check), the stages, `finish` (export done to the run's end), `events` (the run's end to the
// client's end of the event stream), `result` (GET /runs/:id), `output` (GET /runs/:id/output),
// `extract`; and the medians of each part. Options: --runs N warm re-runs by fetch (default 10),
// --cold N cold runs and baseline runs each (default 3; 0 leaves both out, and the outputs are
// checked against the fixture's golden directory), --client-runs N `armada run --server` re-runs
// (default 3; 0 leaves them out), --concurrent N concurrent re-runs (default 8; 0 leaves them
// out), --compare FILE a second server from another build's bin.js (a copy of its whole dist/
// folder: `cp -r apps/cli/dist /tmp/before`), whose warm re-runs alternate with this build's,
// each round in rotating order, so that both are measured at the same load; --cli FILE another
// build's bin.js in place of this one's.
import { execFile, execFileSync, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
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
// --cli FILE: the bin.js of another build (a copy of its whole dist/ folder) instead of this one's.
const cliAt = process.argv.indexOf("--cli")
const bin = cliAt === -1 ? join(root, "apps", "cli", "dist", "bin.js") : resolve(process.argv[cliAt + 1])
const fixtures = join(root, "tests", "fixtures", "pipeline")
const golden = join(fixtures, "golden")
const prefix = "armadawarmbench"
const label = `${prefix}.managed=true`
// The --compare server's sets: a prefix of their own, so that each server's leftovers are its own.
const comparePrefix = "armadawarmbenchb"
const compareLabel = `${comparePrefix}.managed=true`
// The baseline's own prefix: its script removes its network by name, which must not be armada's.
const baselinePrefix = "armadawarmbase"
const baselineLabel = `${baselinePrefix}.managed=true`
const maxSets = 2

const runs = runsFlag(10, 1)
const colds = numberFlag("cold", 3)
const clientRuns = numberFlag("client-runs", 3)
const concurrent = numberFlag("concurrent", 8)
for (const [name, n] of [
  ["--cold", colds],
  ["--client-runs", clientRuns],
  ["--concurrent", concurrent]
]) {
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: expected an integer >= 0, got ${n}`)
}
const compareAt = process.argv.indexOf("--compare")
const compare = compareAt === -1 ? undefined : resolve(process.argv[compareAt + 1])
if (compare !== undefined && !existsSync(compare)) throw new Error(`--compare: ${compare} is missing`)

/** Removes whatever carries the bench's labels (a failed bench's leftovers included). */
const sweep = () => {
  for (const each of [label, compareLabel, baselineLabel]) {
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

/** The processes the bench started and has not seen exit: a signal to the bench stops them. */
const children = new Map()
/** Set once a signal came: a process started after it is stopped at once. */
let stopping = false
/** Tracks `child`; resolves with its exit code once it exits. */
const track = (child) => {
  const exited = new Promise((done) => child.on("exit", (code) => done(code)))
  children.set(child, exited)
  child.on("exit", () => children.delete(child))
  if (stopping) child.kill("SIGTERM")
  return exited
}

/** `armada ...` as a new process; rejects on a non-zero exit. */
const armada = (args) =>
  new Promise((resolve, reject) => {
    const child = execFile(
      bin,
      args,
      { cwd: root, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) =>
        error === null
          ? resolve(stdout)
          : reject(new Error(`armada ${args.join(" ")}: ${error.message}\n${stdout}${stderr}`))
    )
    track(child)
  })

/** `armada serve --port 0 --json` (of `cli`) and the URL it prints once it listens. */
const serve = (cli = bin) =>
  new Promise((resolve, reject) => {
    const child = spawn(
      cli,
      ["serve", "--port", "0", "--json", "--engine", "docker", "--max-sets", String(maxSets)],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] }
    )
    const exited = track(child)
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
 * One run through the server by this process, as `armada run --server` does it, with `spec`;
 * resolves with the server's RunInfo and where the time went (`parts`, ms) once the output is
 * written to `output`.
 */
const remoteRun = async (url, output, spec = specText) => {
  const at = { start: Date.now() }
  const template = await Effect.runPromise(
    Stream.runCollect(Archive.gzip(Archive.packDirectory(join(fixtures, "template"))))
  )
  const form = new FormData()
  form.append("spec", spec)
  form.append("format", "yaml")
  form.append("template", new Blob([bytesOf(template)], { type: "application/gzip" }), "template.tar.gz")
  at.packed = Date.now()
  const created = await (
    await ok(await fetch(`${url}/runs`, { method: "POST", body: form }), "POST /runs")
  ).json()
  at.posted = Date.now()
  // The events end with the run, their last line its Result; the pool it used is in GET /runs/:id.
  const events = (await (await ok(await fetch(`${url}/runs/${created.id}/events`), "GET events")).text())
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line))
  at.events = Date.now()
  const info = await (await ok(await fetch(`${url}/runs/${created.id}`), "GET run")).json()
  at.result = Date.now()
  if (info.status !== "success")
    throw new Error(`run ${created.id}: ${info.status} ${JSON.stringify(info.result?.failures)}`)
  const archive = Buffer.from(
    await (await ok(await fetch(`${url}/runs/${created.id}/output`), "GET output")).arrayBuffer()
  )
  at.output = Date.now()
  await Effect.runPromise(
    Archive.extractToDirectory(Archive.gunzip(Stream.make(new Uint8Array(archive))), output)
  )
  at.extracted = Date.now()
  return { info, parts: partsOf(at, events, info) }
}

/** Where a run's time went, from the client's stamps `at`, the server's events and its result. */
const partsOf = (at, events, info) => {
  const stage = (tag, name) => events.find((e) => e._tag === tag && e.stage === name)?.at
  const started = events.find((e) => e._tag === "RunStarted").at
  const finished = Date.parse(info.result.finishedAt)
  const stages = ["process", "merge", "plug", "export"].map((name) => ({
    name,
    from: stage("StageStarted", name),
    to: stage("StageDone", name)
  }))
  return {
    pack: at.packed - at.start,
    post: at.posted - at.packed,
    take: stages[0].from - started,
    ...Object.fromEntries(stages.map(({ name, from, to }) => [name, to - from])),
    finish: finished - stages[3].to,
    events: at.events - finished,
    result: at.result - at.events,
    output: at.output - at.result,
    extract: at.extracted - at.output
  }
}

/** The CPU time process `pid` has used so far, in ms (Linux: /proc/<pid>/stat, in clock ticks of 10 ms). */
const cpuMillisOf = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command's name.
  return (Number(fields[11]) + Number(fields[12])) * 10
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
const specOf = (prefix) =>
  `${readFileSync(join(fixtures, "armada.yaml"), "utf8").replace("template: ./template", `template: ${join(fixtures, "template")}`)}  prefix: ${prefix}\n`
const specText = specOf(prefix)
writeFileSync(specFile, specText)
const plan = join(work, "plan")
writePlan(
  plan,
  await Effect.runPromise(Spec.parse(specText, { format: "yaml", baseDir: fixtures, source: specFile })),
  image,
  baselinePrefix
)

const results = new Map()
/** Each contender's parts of its runs, for their medians. */
const partsBy = new Map()
const record = (contender, millis, extra = {}) => {
  if (!results.has(contender)) results.set(contender, [])
  results.get(contender).push(millis)
  if (extra.parts !== undefined) {
    if (!partsBy.has(contender)) partsBy.set(contender, [])
    partsBy.get(contender).push(extra.parts)
  }
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

/** The servers: this build's, and the --compare build's. */
const servers = []

// Ctrl-C or a kill of the bench: its servers and runs get SIGTERM (each removes what it holds, as
// after a Ctrl-C of its own), then whatever carries the bench's labels is removed.
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143]
]) {
  process.on(signal, async () => {
    if (stopping) return
    stopping = true
    console.error(`${signal}: stopping ${children.size} armada processes, then removing what the bench made`)
    for (const child of children.keys()) child.kill("SIGTERM")
    // Until none is left: one may start while the others stop.
    while (children.size > 0) await Promise.all(children.values())
    sweep()
    rmSync(work, { recursive: true, force: true })
    process.exit(code)
  })
}
const warmName = "warm re-run (fetch)"
const compareName = `warm re-run (fetch, --compare ${compare})`
try {
  sweep()
  // The golden output of this run: the first cold run, itself checked against the fixture (or
  // the fixture's golden directory, without cold runs).
  const reference = colds === 0 ? golden : nextOutput()
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
  /**
   * A server's first run, which starts its set. On a loaded machine the engine may not answer a
   * container's start in time: such a run is printed and tried again, up to 3 times in all.
   */
  const firstRun = async (url, spec, name) => {
    for (let attempt = 1; ; attempt++) {
      const output = nextOutput()
      try {
        const [millis, { info }] = await timed(() => remoteRun(url, output, spec))
        checkSameFiles(output, reference, name)
        return record(name, millis, serverSide(info))
      } catch (error) {
        if (attempt === 3) throw error
        printLine({ contender: name, attempt, failed: String(error).slice(0, 300) })
      }
    }
  }

  noteLoad()
  const server = await serve()
  servers.push(server)
  await firstRun(server.url, specText, "first run through serve (fetch)")
  /** The warm re-runs of each server, one per round, in rotating order. */
  const contenders = [{ name: warmName, url: server.url, spec: specText, pid: server.child.pid }]
  if (compare !== undefined) {
    const other = await serve(compare)
    servers.push(other)
    const spec = specOf(comparePrefix)
    await firstRun(other.url, spec, "first run through serve (fetch, --compare)")
    contenders.push({ name: compareName, url: other.url, spec, pid: other.child.pid })
  }
  for (let r = 0; r < runs; r++) {
    if (r % 5 === 0) noteLoad()
    for (const { name, url, spec, pid } of rotated(contenders, r)) {
      const output = nextOutput()
      const serverBefore = cpuMillisOf(pid)
      const clientBefore = process.cpuUsage()
      const [millis, { info, parts }] = await timed(() => remoteRun(url, output, spec))
      const clientUsed = process.cpuUsage(clientBefore)
      checkSameFiles(output, reference, name)
      if (!info.pool?.reused) throw new Error(`${name}: a warm re-run did not reuse a set`)
      record(name, millis, {
        ...serverSide(info),
        parts: {
          ...parts,
          // CPU time, which the load does not stretch as it does wall time: the server process's
          // (its set's work in the background included) and this client's.
          serverCpu: cpuMillisOf(pid) - serverBefore,
          clientCpu: (clientUsed.user + clientUsed.system) / 1000
        }
      })
    }
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

  if (concurrent > 0) {
    noteLoad()
    const [wallMillis, each] = await timed(() =>
      Promise.all(
        Array.from({ length: concurrent }, async () => {
          const output = nextOutput()
          const [millis, { info }] = await timed(() => remoteRun(server.url, output))
          checkSameFiles(output, reference, "concurrent re-run")
          return { millis, reused: info.pool?.reused === true }
        })
      )
    )
    const pools = await (await ok(await fetch(`${server.url}/pools`), "GET /pools")).json()
    if (pools.sets.length > maxSets)
      throw new Error(`the server holds ${pools.sets.length} sets, more than ${maxSets}`)
    printLine({
      contender: `${concurrent} concurrent re-runs (fetch)`,
      wallMillis: whole(wallMillis),
      medianMillis: whole(median(each.map((e) => e.millis))),
      maxMillis: whole(Math.max(...each.map((e) => e.millis))),
      reused: each.filter((e) => e.reused).length,
      setsAfter: pools.sets.length,
      maxSets,
      stats: pools.stats
    })
  }
  // Interrupted by the signal, a server exits 130; what matters is what it leaves.
  while (servers.length > 0) {
    const each = servers.pop()
    each.child.kill("SIGTERM")
    await each.exited
  }
  const left = [label, compareLabel].flatMap(leftovers)
  if (left.length > 0)
    throw new Error(`armada serve left ${left.length} labelled resources behind after SIGTERM`)
} finally {
  for (const each of servers) {
    each.child.kill("SIGTERM")
    await each.exited
  }
  sweep()
  rmSync(work, { recursive: true, force: true })
}

const cold = colds === 0 ? undefined : median(results.get("cold armada run"))
const baselineMedian = colds === 0 ? undefined : median(results.get("coordinator baseline"))
const ratioTo = (x, to) => (to === undefined ? null : ratio(x, to))
for (const [contender, xs] of results) {
  const parts = partsBy.get(contender)
  printLine({
    contender,
    runs: xs.length,
    medianMillis: whole(median(xs)),
    minMillis: whole(Math.min(...xs)),
    maxMillis: whole(Math.max(...xs)),
    ratioToCold: ratioTo(median(xs), cold),
    ratioToBaseline: ratioTo(median(xs), baselineMedian),
    ...(parts === undefined
      ? {}
      : {
          medianParts: Object.fromEntries(
            Object.keys(parts[0]).map((part) => [part, whole(median(parts.map((p) => p[part])))])
          ),
          // The server's CPU is counted in ticks of 10 ms: the mean reads it finer than the median.
          meanCpu: Object.fromEntries(
            ["serverCpu", "clientCpu"].map((part) => [
              part,
              whole(parts.reduce((sum, p) => sum + p[part], 0) / parts.length)
            ])
          )
        })
  })
}
printLine({
  runs,
  colds,
  clientRuns,
  concurrent,
  compare: compare ?? null,
  loadAverage: loadavg().map((x) => round(x)),
  loadsDuring: loads,
  machine: machine()
})
const warm = median(results.get(warmName))
const pass = (cold === undefined || warm <= 0.1 * cold) && warm <= 400
console.log(
  `target median warm re-run <= 0.1 x median cold and <= 400 ms: ${pass ? "met" : "NOT met"} (${whole(warm)} ms${cold === undefined ? ", no cold runs" : `, ${ratio(warm, cold)} x cold, ${ratio(warm, baselineMedian)} x the coordinator baseline`})`
)
