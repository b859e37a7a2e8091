/**
 * What every reliability suite shares: the test prefix (`armadaqa…`, so only our own resources are
 * ever found or removed), the live layers, an independent view of the engine through the `docker`
 * CLI (what is left, by label), the built `armada` binary as a child process, the process table
 * (children, peak memory), and small templates and specs.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Names } from "@armada/core"
import { DockerEngineLive } from "@armada/docker"
import * as Http from "@armada/http"
import { Orchestrator, type OrchestratorError, Progress, Spec } from "@armada/orchestrator"
import { TestImage } from "@armada/testkit"
import { NodeHttpClient } from "@effect/platform-node"
import { Duration, Effect, type Exit, Layer, Schema } from "effect"
import * as Support from "../support.js"
import { count, docker, type Labelled, labelled, ownPrefix } from "../support.js"

export { cliMillis, count, docker, type Labelled, labelled, nothing, until } from "../support.js"

/**
 * `armadaqa` and 4 random characters, new for each file and run (vitest runs each file in a process
 * of its own): a run finds and removes only what it made, and something an engine can no longer
 * remove (see docs/reliability.md) fails the run that left it, not every run after it.
 */
export const prefix = Names.Id.make(ownPrefix("armadaqa"))
export const managedLabel = `${prefix}.managed=true`
export const sessionLabel = (session: string) => `${prefix}.session=${session}`

export const root = fileURLToPath(new URL("../../", import.meta.url))
export const bin = join(root, "apps", "cli", "dist", "bin.js")
export const image = TestImage.testAppImage

/** Fails the suite early, with the fix, when the CLI was not built. */
export const requireBin = (): void => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`pnpm build\` first (./scripts/test does)`)
}

/**
 * The live engine (at `host`, default `DOCKER_HOST` as the CLI reads it; its request timeout
 * `ARMADA_DOCKER_TIMEOUT` as the CLI reads it, set by tests/vitest.config.ts, unless given) and the
 * live HTTP client.
 */
export const live = (host?: string, requestTimeout?: Duration.DurationInput) =>
  Layer.mergeAll(
    Layer.orDie(
      DockerEngineLive.layer({
        host: host ?? process.env.DOCKER_HOST,
        timeout: requestTimeout ?? (process.env.ARMADA_DOCKER_TIMEOUT as Duration.DurationInput | undefined)
      })
    ),
    Http.layer.pipe(Layer.provide(NodeHttpClient.layerUndici))
  )

// ---------------------------------------------------------------------------------------------
// The engine, seen through the docker CLI rather than through the code under test.

/**
 * Builds `tag` from a Dockerfile given as text (`FROM` a local image, so no registry is asked),
 * labelled with the test prefix. Not synchronous: a build on a busy machine can block a test
 * worker long enough for vitest to lose it.
 */
export const buildImage = (tag: string, dockerfile: string, host?: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const args = [
      ...(host === undefined ? [] : ["-H", host]),
      ...["build", "--quiet", "--tag", tag, "--label", managedLabel, "-"]
    ]
    const child = execFile("docker", args, { timeout: 300_000 }, (error, _, stderr) =>
      error === null ? resolve() : reject(new Error(`docker build ${tag}: ${stderr || error.message}`))
    )
    child.stdin!.end(dockerfile)
  })

/**
 * Networks of the suite's prefix that the engine refused to remove although no container is
 * attached ("has active endpoints"): Docker 20.10 can leak a network's endpoint count, and only a
 * restart of dockerd frees such a network. Recorded for the report, not counted as armada's.
 */
export const engineKept = new Set<string>()

/**
 * Whether the engine itself keeps `network`: no container attached, and a removal refused with
 * "active endpoints". A network the engine lets this removal take was armada's to remove.
 */
const keptByEngine = (network: string, host?: string): boolean => {
  try {
    if (docker(["network", "inspect", network, "--format", "{{len .Containers}}"], host)[0] !== "0")
      return false
    docker(["network", "rm", network], host)
    return false
  } catch (error) {
    const refused = /has active endpoints/.test(String((error as { stderr?: unknown }).stderr ?? error))
    if (refused && !engineKept.has(network)) {
      engineKept.add(network)
      console.warn(
        `the engine keeps network ${network} (active endpoints, no container): not armada's leftover`
      )
    }
    return refused
  }
}

/** What armada left of `found`: the networks the engine itself keeps are left out (`engineKept`). */
export const armadaLeft = (found: Labelled, host?: string): Labelled => ({
  ...found,
  networks: found.networks.filter((network) => !keptByEngine(network, host))
})

/** Fails when anything armada should have removed carries the prefix's label. */
export const assertNothingLeft = (host?: string): void => {
  const found = armadaLeft(labelled(managedLabel, host), host)
  if (count(found) > 0) throw new Error(`left behind: ${JSON.stringify(found)}`)
}

/** Removes what carries the suite's label, and only that. */
export const sweep = (host?: string): void => Support.sweep(managedLabel, host)

/**
 * The end of a suite file: counts what is still labelled (its report says so), then removes it
 * and the file's scratch folder.
 */
export const finishFile = (work: string): number => {
  const left = count(labelled(managedLabel))
  sweep()
  cleanup(work)
  return left
}

// ---------------------------------------------------------------------------------------------
// Processes.

/** pid → parent pid, for every process of the machine. */
const parents = (): Map<number, number> => {
  const table = new Map<number, number>()
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // The command name may hold spaces and parentheses: the fields after the last `)` are fixed.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8")
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      table.set(Number(entry), Number(fields[1]))
    } catch {
      // gone meanwhile
    }
  }
  return table
}

/** Every live descendant of `pid`. */
export const descendants = (pid: number): Array<number> => {
  const table = parents()
  const found: Array<number> = []
  const queue = [pid]
  while (queue.length > 0) {
    const current = queue.shift()!
    for (const [child, parent] of table) {
      if (parent === current) {
        found.push(child)
        queue.push(child)
      }
    }
  }
  return found
}

/** Whether `pid` runs (a zombie no longer does). */
export const isAlive = (pid: number): boolean => {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"))
  } catch {
    return false
  }
}

/** The peak resident set of `pid` so far (VmHWM), in bytes; undefined once it is gone. */
export const peakRss = (pid: number): number | undefined => {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return match === null ? undefined : Number(match[1]) * 1024
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------------------------------------
// The `armada` binary.

/** The fields of the CLI's final `Result` document that the suites look at (docs/cli.md). */
export const CliResult = Schema.Struct({
  _tag: Schema.Literal("Result"),
  outcome: Schema.String,
  exitCode: Schema.Number,
  session: Schema.optional(Schema.String),
  items: Schema.Array(Schema.Struct({ stage: Schema.String, item: Schema.String, status: Schema.String })),
  failures: Schema.Array(
    Schema.Struct({
      stage: Schema.String,
      item: Schema.String,
      reason: Schema.String,
      // The typed error as JSON, with its `_tag` (docs/cli.md), a failed cleanup's included.
      cause: Schema.Struct({ _tag: Schema.String })
    })
  ),
  skipped: Schema.Array(Schema.Struct({ stage: Schema.String, item: Schema.String })),
  error: Schema.optional(Schema.Struct({ reason: Schema.String, cause: Schema.Unknown }))
})
export type CliResult = typeof CliResult.Type

export interface CliRun {
  readonly child: ChildProcess
  readonly pid: number
  readonly started: number
  readonly stdout: () => string
  readonly stderr: () => string
  /** The exit code (a signal counts as 128 + its number) and the wall time. */
  readonly exit: Promise<{ readonly code: number; readonly millis: number; readonly peakRss: number }>
  /** The last `Result` line of `--json` output. */
  readonly result: () => CliResult
}

const signals: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }

/** Every `armada` process the suite started, so a check of the test's own children can leave them out. */
export const cliPids = new Set<number>()

/**
 * docker-proxy processes (the engine's userland port forwarders) whose published port no running
 * container has: what a container removed badly would leave. The other test files run beside this
 * one and a container they are removing has its proxy for a while, so a proxy counts only if it is
 * still there after 20 s of looking (every second) for the ones found first to go.
 */
export const orphanProxies = async (): Promise<Array<string>> => {
  const once = () => {
    const published = new Set(
      docker(["ps", "--format", "{{.Ports}}"]).flatMap((ports) =>
        [...ports.matchAll(/:(\d+)->/g)].map((match) => match[1]!)
      )
    )
    return execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })
      .split("\n")
      .filter((args) => args.includes("docker-proxy") && args.includes("-host-port"))
      .filter((args) => !published.has(/-host-port (\d+)/.exec(args)?.[1] ?? ""))
  }
  let orphans = once()
  await Support.until(
    () => {
      const now = new Set(once())
      orphans = orphans.filter((args) => now.has(args))
      return orphans.length === 0
    },
    "orphan docker-proxy processes to go",
    20_000,
    1000
  ).catch(() => undefined)
  return orphans
}

/** Starts `armada args...`; its peak RSS is sampled every 50 ms while it runs. */
export const armada = (args: ReadonlyArray<string>, env: Record<string, string> = {}): CliRun => {
  const started = Date.now()
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: root,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (chunk) => (stdout += chunk))
  child.stderr!.on("data", (chunk) => (stderr += chunk))
  const pid = child.pid!
  cliPids.add(pid)
  let peak = 0
  const sampler = setInterval(() => {
    peak = Math.max(peak, peakRss(pid) ?? 0)
  }, 50)
  const exit = new Promise<{ code: number; millis: number; peakRss: number }>((resolve) =>
    child.once("exit", (code, signal) => {
      clearInterval(sampler)
      resolve({
        code: code ?? 128 + (signal === null ? 0 : (signals[signal] ?? 0)),
        millis: Date.now() - started,
        peakRss: peak
      })
    })
  )
  const result = () => {
    const line = stdout.trim().split("\n").at(-1) ?? ""
    try {
      return Schema.decodeUnknownSync(CliResult)(JSON.parse(line))
    } catch (error) {
      throw new Error(`no Result document on stdout (${String(error)}):\n${stdout}\n${stderr}`)
    }
  }
  return { child, pid, started, stdout: () => stdout, stderr: () => stderr, exit, result }
}

// ---------------------------------------------------------------------------------------------
// Templates, specs and runs.

/** A scratch directory below the system's temp dir, removed by `cleanup`. */
export const scratch = (what: string): string => mkdtempSync(join(tmpdir(), `${prefix}-${what}-`))

export const writeTree = (dir: string, files: Readonly<Record<string, string>>): string => {
  mkdirSync(dir, { recursive: true })
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), content)
  }
  return dir
}

export const cleanup = (dir: string): void => rmSync(dir, { recursive: true, force: true })

/** A session id of our own: `r` and 7 random characters. */
export const sessionId = (): Names.Id => Names.Id.make(`r${randomBytes(4).toString("hex").slice(0, 7)}`)

/**
 * The timeouts of the suite's specs: room for a busy 2-core machine (a test about a fault must not
 * fail because the machine is slow). A case about a timeout sets its own, short one.
 */
export const roomyTimeouts = { ready: "120s", call: "60s" } as const

/**
 * A spec with the suite's defaults: the test prefix, a fresh session (also the template id, so
 * concurrent runs never share a template volume), `roomyTimeouts`, concurrency 8.
 */
export const specOf = (input: {
  readonly template: string
  readonly processors?: ReadonlyArray<unknown>
  readonly plugins?: ReadonlyArray<unknown>
  readonly merger?: unknown
  readonly options?: Record<string, unknown>
}): Effect.Effect<Spec.Spec> => {
  const session = sessionId()
  return Spec.decode(
    {
      session,
      templateId: session,
      ...input,
      options: {
        prefix,
        concurrency: 8,
        ...input.options,
        timeouts: { ...roomyTimeouts, ...(input.options?.timeouts as object | undefined) }
      }
    },
    { baseDir: root }
  ).pipe(Effect.orDie)
}

/** The JSON of a spec file for the CLI, with the suite's defaults (`specOf`). */
export const specFile = (dir: string, spec: Record<string, unknown>): string => {
  const path = join(dir, "armada.json")
  const options = (spec.options ?? {}) as Record<string, unknown>
  writeFileSync(
    path,
    JSON.stringify({
      ...spec,
      options: {
        prefix,
        concurrency: 8,
        ...options,
        timeouts: { ...roomyTimeouts, ...(options.timeouts as object | undefined) }
      }
    })
  )
  return path
}

export interface Ran {
  readonly exit: Exit.Exit<Orchestrator.Summary, OrchestratorError.StageFailed>
  readonly millis: number
  readonly events: ReadonlyArray<Progress.Event>
}

/** `Orchestrator.pipeline` on the live engine, with its progress events and its wall time. */
export const runPipeline = (spec: Spec.Spec, output: string, host?: string): Effect.Effect<Ran> =>
  Effect.gen(function* () {
    const events: Array<Progress.Event> = []
    const [took, exit] = yield* Orchestrator.pipeline(spec, { output }).pipe(
      Effect.provide(Progress.layer((event) => Effect.sync(() => events.push(event)))),
      Effect.provide(live(host)),
      Effect.exit,
      Effect.timed
    )
    return { exit, millis: Math.round(Duration.toMillis(took)), events }
  })
