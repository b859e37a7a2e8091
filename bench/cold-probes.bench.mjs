// `pnpm bench cold-probes`: what a cold run costs armada itself. Runs the built CLI on
// bench/cold-64.yaml (64 processors and the merger, 65 containers of armada/test-app:dev, at
// concurrency 8) under `/usr/bin/time -v`, as an executable, the way `armada` runs (its first line
// gives Node.js the CLI's V8 settings):
//   apps/cli/dist/bin.js run bench/cold-64.yaml --engine docker --json --output <tmp>
// and reads the readiness probes from the `--json` events (each container's "ready (N probes)",
// the attempts `ProcessorClient.waitReady` counts) and armada's CPU (user + sys of the CLI
// process) from `time`. Prints one JSON line per run: probes per ready container, CPU per container
// started, the waits, wall time, the stages, the load average before and after, the machine's pace
// (`machine.nodeStartCpuMillis`, a bare Node.js start's CPU, to compare hosts), and where the
// CPU went (`cpuMillisByPhase`: the CLI's CPU read from /proc as each stage's events arrive, in
// 10 ms clock ticks; the start stage split at the last container started, into creating and
// starting under the limit and waiting for the last ones); a run that fails keeps its events and
// `time` report in a temporary folder it names. Targets: <= 30 probes per container on average,
// <= 50 ms of CPU per container. Options: --runs N (default 1; each run is 65 containers on the
// shared engine, so keep it small), --spec FILE (another spec), --cli FILE (another build of the
// CLI, e.g. one bundled before a change, for a before/after comparison: copy the whole dist/
// folder, `cp -r apps/cli/dist /tmp/before`, since bin.js imports its chunks/).
// The CLI runs with ARMADA_DOCKER_TIMEOUT=300 seconds unless the environment sets it: on a busy
// machine the engine can take longer than the default 30 s to answer one of 65 starts.
import { execFileSync, spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { machine, median, printLine, round, runsFlag } from "./lib.mjs"

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, "..")

/** The path after `--name` on the command line, else `fallback`. */
const pathFlag = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? fallback : resolve(process.argv[at + 1])
}
const cli = pathFlag("cli", join(root, "apps", "cli", "dist", "bin.js"))
if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`pnpm build\` first`)
const spec = pathFlag("spec", join(here, "cold-64.yaml"))
const runs = runsFlag(1, 1)
const targets = { probesPerContainer: 30, cpuMillisPerContainer: 50 }

/** Seconds of a `time -v` field, e.g. "User time (seconds): 27.21". */
const timeField = (report, label) => {
  const match = new RegExp(`${label}: ([\\d.:]+)`).exec(report)
  if (match === null) throw new Error(`no "${label}" in the output of /usr/bin/time:\n${report}`)
  // "Elapsed (wall clock) time (h:mm:ss or m:ss): 1:41.23"
  return match[1].split(":").reduce((total, part) => total * 60 + Number(part), 0)
}

/** User and system CPU seconds of a `time -v` report. */
const cpuSecondsOf = (report) => ({
  user: timeField(report, "User time \\(seconds\\)"),
  sys: timeField(report, "System time \\(seconds\\)")
})

const load = () => loadavg().map((x) => round(x, 1))

/** Containers the run left on the engine (the CLI removes them; a run that leaves any is no success). */
const leftovers = (result) =>
  execFileSync("docker", ["ps", "-aq", "--filter", `label=${result.prefix}.session=${result.session}`], {
    encoding: "utf8"
  })
    .split("\n")
    .filter((line) => line !== "").length

const sum = (xs) => xs.reduce((a, b) => a + b, 0)

const millisPerTick = 1000 / Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }))

/** The one child of `/usr/bin/time` (the CLI), once it has been started. */
const childOf = (pid) => {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(" ")
    return children.length === 1 && children[0] !== "" ? Number(children[0]) : undefined
  } catch {
    return undefined
  }
}

/** User + system CPU of `pid` so far, in ms (fields 14 and 15 of /proc/PID/stat, in clock ticks). */
const cpuMillisOf = (pid) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) * millisPerTick
  } catch {
    return undefined
  }
}

/**
 * The CPU of each phase of a run: start-up (until the first stage), each stage (with the gap before
 * the next), the start stage split at the last container started (creating and starting under the
 * limit, then waiting for the last ones), and cleaning up and exiting (after the last stage, to
 * `time`'s total). `marks`: where each phase began, in order.
 */
const phases = (marks, totalMillis) => {
  const out = {}
  let previous = { phase: "start-up", cpu: 0 }
  for (const mark of [...marks, { phase: undefined, cpu: totalMillis }]) {
    out[previous.phase] = Math.round(mark.cpu - previous.cpu)
    previous = mark
  }
  return out
}

/**
 * The CPU of a bare Node.js start under the CLI's V8 flags, in ms (median of 5, `time`'s 10 ms
 * resolution): how fast this machine runs what armada's start-up is made of. Hosts of one "2-core"
 * kind differ by 2-3 times in it, and armada's CPU per container moves with it.
 */
const nodeStartCpuMillis = () =>
  median(
    Array.from({ length: 5 }, () => {
      const { stderr } = spawnSync(
        "/usr/bin/time",
        ["-v", process.execPath, "--single-threaded", "--no-opt", "-e", "0"],
        { encoding: "utf8" }
      )
      const { user, sys } = cpuSecondsOf(stderr)
      return (user + sys) * 1000
    })
  )

const runOnce = async () => {
  const output = mkdtempSync(join(tmpdir(), "armada-cold-probes-"))
  const loadBefore = load()
  const child = spawn(
    "/usr/bin/time",
    ["-v", cli, "run", spec, "--engine", "docker", "--json", "--output", join(output, "out")],
    {
      stdio: ["ignore", "pipe", "pipe"],
      // 65 containers on a shared 2-core machine: the engine may take longer than its default 30 s
      // to answer one request, and that is not what this measures.
      env: { ARMADA_DOCKER_TIMEOUT: "300 seconds", ...process.env }
    }
  )
  // Decoded as a stream, so that a character split between two chunks stays whole.
  child.stdout.setEncoding("utf8")
  child.stderr.setEncoding("utf8")
  let stdout = ""
  let stderr = ""
  // The CLI's CPU where each phase began, read as the phase's first event comes (see `phases`).
  let cliPid
  const marks = []
  /** A mark for `phase`, in place of the last one when that was a `replacing` mark. */
  const mark = (phase, replacing) => {
    cliPid ??= childOf(child.pid)
    const cpu = cliPid === undefined ? undefined : cpuMillisOf(cliPid)
    if (cpu === undefined) return
    if (marks.at(-1)?.phase === replacing) marks.pop()
    marks.push({ phase, cpu })
  }
  const events = []
  let partial = ""
  child.stdout.on("data", (data) => {
    stdout += data
    const lines = (partial + data).split("\n")
    partial = lines.pop()
    for (const line of lines.filter((line) => line.startsWith("{"))) {
      const event = JSON.parse(line)
      events.push(event)
      // A stage's end is the run's last phase until the next stage starts (the gap counts in the
      // stage before), and a container started is the last one until another is.
      if (event._tag === "StageStarted") {
        mark(event.stage === "start" ? "start: creating and starting" : event.stage, "clean and exit")
      } else if (event._tag === "StageDone") mark("clean and exit")
      else if (event._tag === "ItemStatus" && event.stage === "start") {
        mark("start: waiting for the last", "start: waiting for the last")
      }
    }
  })
  child.stderr.on("data", (data) => {
    stderr += data
  })
  // "close", not "exit": the last events (the result among them) may still be in the pipe at exit.
  const exitCode = await new Promise((resolve) => child.on("close", resolve))
  const loadAfter = load()
  if (partial.startsWith("{")) events.push(JSON.parse(partial))
  const result = events.find((event) => event._tag === "Result")
  // Kept for a look when the run did not succeed; removed otherwise.
  const eventsFile = join(output, "events.ndjson")
  writeFileSync(eventsFile, stdout)
  writeFileSync(join(output, "time.txt"), stderr)
  const ready = events.filter((event) => event._tag === "ItemSucceeded" && event.stage === "start")
  if (ready.length === 0) {
    throw new Error(
      `no container became ready (exit ${exitCode}); events in ${eventsFile}:\n${stderr.slice(-2000)}`
    )
  }
  const probes = ready.map((event) => {
    const match = /^ready \((\d+) probes?\)$/.exec(event.detail ?? "")
    if (match === null) throw new Error(`a start event without its probe count: ${JSON.stringify(event)}`)
    return Number(match[1])
  })
  // From "started, waiting until ready" to "ready", per container: how long the waits were.
  const startedAt = new Map(
    events
      .filter((event) => event._tag === "ItemStatus" && event.stage === "start")
      .map((event) => [event.item, event.at])
  )
  const waits = ready.map((event) => (event.at - startedAt.get(event.item)) / 1000)
  // Per container started: a run that failed part-way still says what the started ones cost.
  const containers = startedAt.size
  const { user, sys } = cpuSecondsOf(stderr)
  const stageSeconds = Object.fromEntries(
    events
      .filter((event) => event._tag === "StageDone")
      .map((event) => [event.stage, round(event.durationMs / 1000)])
  )
  const left = result === undefined ? Number.NaN : leftovers(result)
  const succeeded = exitCode === 0 && result?.outcome === "success" && left === 0
  if (succeeded) rmSync(output, { recursive: true, force: true })
  const probesPerContainer = sum(probes) / ready.length
  const cpuMillisPerContainer = ((user + sys) * 1000) / containers
  return {
    outcome: succeeded
      ? "success"
      : `exit ${exitCode}, ${result?.outcome ?? "no result"}, ${left} containers left; events in ${eventsFile}`,
    containers: { started: containers, ready: ready.length },
    probes: {
      total: sum(probes),
      perContainer: round(probesPerContainer),
      max: Math.max(...probes),
      min: Math.min(...probes)
    },
    cpu: { userSeconds: user, sysSeconds: sys, millisPerContainer: round(cpuMillisPerContainer) },
    // Without /proc/PID/task/PID/children (a kernel built without it) the CLI's CPU cannot be read
    // during the run: no phases, rather than all of it under start-up.
    ...(marks.length === 0 ? {} : { cpuMillisByPhase: phases(marks, (user + sys) * 1000) }),
    waitSeconds: { median: round(median(waits)), max: round(Math.max(...waits)) },
    wallSeconds: round(timeField(stderr, "Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\)")),
    stageSeconds,
    maxRssMiB: round(timeField(stderr, "Maximum resident set size \\(kbytes\\)") / 1024),
    load: { before: loadBefore, after: loadAfter },
    met: {
      probes: probesPerContainer <= targets.probesPerContainer,
      cpu: cpuMillisPerContainer <= targets.cpuMillisPerContainer
    }
  }
}

const machineFacts = { ...machine(), nodeStartCpuMillis: round(nodeStartCpuMillis()) }
for (let run = 0; run < runs; run++) {
  printLine({
    case: "cold run",
    spec: relative(root, spec),
    cli: relative(root, cli),
    run: run + 1,
    ...(await runOnce()),
    targets,
    machine: machineFacts
  })
}
