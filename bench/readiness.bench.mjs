// `pnpm bench readiness`: ProcessorClient.waitReady (built @armada/http: its readiness probe, a
// bare GET / on a socket of its own; NodeHttpClient.layerUndici for the rest of the client)
// against the Go coordinator's algorithm (GET / once a second until 200 or the deadline, no
// liveness check), side by side in one run, on child processes of the bundled test app listening
// on 127.0.0.1. Prints one JSON line per case. Options: --runs N
// (default 9, at least 5).
//   (a) ready: time from the server's `listen` (the `t=` it prints) to the wait returning, for a
//       plain start (~0.2-0.4 s of Node start-up). Target: ours median <= 20 ms.
//   (b) ready-slow: the same for a server that listens 1 s later (ARMADA_FAULT_START_DELAY_MS),
//       where ours polls less often (informative, no target).
//   (c) exited: time from spawning a process that exits at start (ARMADA_FAULT_EXIT=3) to the
//       wait reporting it. Target: ours <= 1000 ms. The baseline never looks at the process, so
//       it reports only at its deadline: 60 s in the Go coordinator, capped here at 5 s (and
//       printed as such) to keep the run short.
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { createServer } from "node:http"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { ProcessorClient, layer as processorClientLayer } from "@armada/http"
import { Effect, Either, Layer, ManagedRuntime } from "effect"
import { loadLayerUndici, median, printLine, ratio, rotated, round, runsFlag } from "./lib.mjs"

const here = dirname(fileURLToPath(import.meta.url))
const bundle = join(here, "..", "apps", "test-app", "dist", "test-app.mjs")
if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run \`pnpm build\` first`)

const layerUndici = await loadLayerUndici()
const runs = runsFlag(9, 5)

const baselineDeadlineMillis = 5_000
const now = () => performance.timeOrigin + performance.now()

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

/** The test app as a child process; `listenedAt` resolves with the epoch ms it printed. */
const startApp = async (env) => {
  const port = await freePort()
  const spawnedAt = now()
  const child = spawn(process.execPath, [bundle], {
    env: { ...process.env, ARMADA_LISTEN_HOST: "127.0.0.1", ARMADA_LISTEN_PORT: String(port), ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  let exitedAt
  const listenedAt = new Promise((resolve) => {
    child.stdout.on("data", (data) => {
      output += String(data)
      const match = / listening on .* \(t=([\d.]+)\)/.exec(output)
      if (match) resolve(Number(match[1]))
    })
  })
  child.stderr.on("data", (data) => {
    output += String(data)
  })
  const exited = new Promise((resolve) => child.on("exit", resolve))
  child.on("exit", () => {
    exitedAt = now()
  })
  return {
    url: `http://127.0.0.1:${port}`,
    spawnedAt,
    listenedAt,
    exitedAt: () => exitedAt,
    exited: Effect.promise(() => exited).pipe(
      Effect.map(() => ({
        exitCode: child.exitCode ?? -1,
        logTail: output.trim().split("\n").slice(-5).join("\n")
      }))
    ),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill()
      await exited
    }
  }
}

const runtime = ManagedRuntime.make(processorClientLayer.pipe(Layer.provide(layerUndici)))
const client = await runtime.runPromise(ProcessorClient)

const contenders = {
  /** ProcessorClient.waitReady, told when the child process exits. */
  ours: async (app) => {
    const result = await runtime.runPromise(
      Effect.either(
        client.waitReady({ name: "bench", url: app.url }, { exited: app.exited, deadline: "60 seconds" })
      )
    )
    return Either.isRight(result) ? "ready" : `${result.left._tag}: ${result.left.message}`
  },
  /** The Go coordinator: GET / every second until 200 or the deadline; no liveness check. */
  baseline: async (app, deadlineMillis) => {
    const started = now()
    for (;;) {
      try {
        const response = await fetch(`${app.url}/`, { signal: AbortSignal.timeout(1_000) })
        await response.arrayBuffer()
        if (response.status === 200) return "ready"
      } catch {}
      if (now() - started + 1_000 > deadlineMillis) {
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, deadlineMillis - (now() - started))))
        return "NotReady"
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000))
    }
  }
}
const names = Object.keys(contenders)

const readyCase = async (label, env, target) => {
  const samples = { ours: [], baseline: [] }
  for (let run = 0; run < runs; run++) {
    for (const name of rotated(names, run)) {
      const app = await startApp(env)
      const outcome = await contenders[name](app, 60_000)
      const returnedAt = now()
      const listenedAt = await app.listenedAt
      await app.stop()
      if (outcome !== "ready") throw new Error(`${label}/${name}: ${outcome}`)
      samples[name].push(returnedAt - listenedAt)
    }
  }
  const ours = median(samples.ours)
  const baseline = median(samples.baseline)
  printLine({
    case: label,
    unit: "ms from listen to ready",
    runs,
    median: { ours: round(ours), baseline: round(baseline) },
    max: { ours: round(Math.max(...samples.ours)), baseline: round(Math.max(...samples.baseline)) },
    ratio: { oursToBaseline: ratio(ours, baseline) },
    ...(target === undefined ? {} : { target: `ours median <= ${target} ms`, met: ours <= target })
  })
}

const exitedCase = async (target) => {
  const samples = { ours: [], baseline: [] }
  const afterExit = { ours: [], baseline: [] }
  for (let run = 0; run < runs; run++) {
    for (const name of rotated(names, run)) {
      const app = await startApp({ ARMADA_FAULT_EXIT: "3" })
      const outcome = await contenders[name](app, baselineDeadlineMillis)
      const reportedAt = now()
      await app.stop()
      const expected = name === "ours" ? "Exited" : "NotReady"
      if (!outcome.startsWith(expected)) throw new Error(`exited/${name}: ${outcome}, expected ${expected}`)
      samples[name].push(reportedAt - app.spawnedAt)
      afterExit[name].push(reportedAt - app.exitedAt())
    }
  }
  const ours = median(samples.ours)
  printLine({
    case: "exited",
    unit: "ms from spawn to the failure",
    runs,
    median: { ours: round(ours), baseline: round(median(samples.baseline)) },
    medianAfterExit: { ours: round(median(afterExit.ours)), baseline: round(median(afterExit.baseline)) },
    baselineDeadlineMillis: baselineDeadlineMillis,
    note: "the Go coordinator's deadline is 60000 ms; capped here",
    target: `ours median <= ${target} ms`,
    met: ours <= target
  })
}

await readyCase("ready", {}, 20)
await readyCase("ready-slow", { ARMADA_FAULT_START_DELAY_MS: "1000" }, undefined)
await exitedCase(1_000)
await runtime.dispose()
