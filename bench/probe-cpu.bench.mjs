// `pnpm bench probe-cpu`: what armada's readiness waits cost in CPU per probe, against the floor of
// the same probes as plain callbacks, side by side in one run, without a Docker engine. A child
// process plays docker-proxy for `--waits` published ports (default 65, as in `pnpm bench
// cold-probes`): until a port's ready time it accepts each connection and closes it at once (the
// app behind it does not listen yet), then it answers `GET /` with 200. The ready times are spread
// evenly over `--spread-ms` (default 20000) after `--first-ms` (default 3000).
//   (a) ours: every wait at once through `ProcessorClient.waitReady` (built @armada/http).
//   (b) floor: the same waits with the same schedule (`nextProbeDelayMillis`, the same 250 ms grid
//       for pauses over a second; not the early end of long pauses when the waits halve, whose
//       wake-ups ours counts) and the same probe (connect, `GET /`, first bytes, close), as
//       node:net callbacks and timers, with no Effect around them.
// CPU is this process's own (user + sys, `process.cpuUsage`) over the waits, per probe and per
// wait; the emulator's is not counted. Contenders alternate which goes first, after a warm-up round
// of each. Options: --runs N (default 3, at least 1), --waits, --spread-ms, --first-ms.
import { spawn } from "node:child_process"
import * as Net from "node:net"
import { createInterface } from "node:readline"
import { ProcessorClient, layer as processorClientLayer } from "@armada/http"
import { Effect, Layer } from "effect"
// Internal, for the floor's schedule only: the bench compares the probe loops, not the schedules.
import { nextProbeDelayMillis } from "../packages/http/dist/internal/readiness.js"
import {
  loadLayerUndici,
  machine,
  median,
  numberFlag,
  printLine,
  ratio,
  rotated,
  round,
  runsFlag
} from "./lib.mjs"

const runs = runsFlag(3, 1)
const waits = numberFlag("waits", 65)
const spreadMillis = numberFlag("spread-ms", 20_000)
const firstMillis = numberFlag("first-ms", 3_000)
const layerUndici = await loadLayerUndici()

/** The emulator's code, run with `node -e`: one listener per port, each ready at its own time. */
const emulator = `
const net = require("node:net")
const [n, spread, first] = process.argv.slice(1).map(Number)
const started = Date.now()
const ports = []
let listening = 0
for (let i = 0; i < n; i++) {
  const readyAt = started + first + Math.round((spread * i) / n)
  const server = net.createServer((socket) => {
    socket.on("error", () => {})
    if (Date.now() < readyAt) return socket.destroy()
    socket.once("data", () => socket.end("HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n"))
  })
  server.listen(0, "127.0.0.1", () => {
    ports[i] = server.address().port
    if (++listening === n) console.log(JSON.stringify(ports))
  })
}
`

/** Starts the emulator; its ports once every one listens, and a way to stop it. */
const startEmulator = async () => {
  const child = spawn(
    process.execPath,
    ["-e", emulator, String(waits), String(spreadMillis), String(firstMillis)],
    { stdio: ["ignore", "pipe", "inherit"] }
  )
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve)
    child.once("exit", (code) => reject(new Error(`the emulator exited (${code}) before listening`)))
  })
  return { ports: JSON.parse(line), stop: () => child.kill() }
}

/** CPU of this process in ms while `run` resolves with the number of probes sent. */
const measured = async (name, run) => {
  const { ports, stop } = await startEmulator()
  try {
    const before = process.cpuUsage()
    const started = Date.now()
    const probes = await run(ports)
    const used = process.cpuUsage(before)
    const cpuMillis = (used.user + used.system) / 1000
    return { name, probes, cpuMillis, wallMillis: Date.now() - started }
  } finally {
    stop()
  }
}

const ours = (ports) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const client = yield* ProcessorClient
      const ready = yield* Effect.forEach(
        ports,
        (port, i) =>
          client.waitReady({ name: `c${i}`, url: `http://127.0.0.1:${port}` }, { deadline: "5 minutes" }),
        { concurrency: "unbounded" }
      )
      return ready.reduce((sum, r) => sum + r.attempts, 0)
    }).pipe(Effect.provide(processorClientLayer.pipe(Layer.provide(layerUndici))))
  )

const floor = async (ports) => {
  let waiting = ports.length
  let probes = 0
  const request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
  await Promise.all(
    ports.map(
      (port) =>
        new Promise((done) => {
          const started = Date.now()
          const probe = () => {
            probes++
            let settled = false
            const socket = Net.connect({ host: "127.0.0.1", port, noDelay: true })
            const settle = (ok) => {
              if (settled) return
              settled = true
              socket.destroy()
              if (ok) {
                waiting--
                return done()
              }
              const now = Date.now()
              const delay = nextProbeDelayMillis(now - started, waiting)
              const due = delay > 1000 ? Math.ceil((now + delay) / 250) * 250 : now + delay
              setTimeout(probe, due - now)
            }
            socket.on("connect", () => socket.write(request))
            socket.on("data", (chunk) => settle(chunk.toString("latin1").startsWith("HTTP/1.1 200")))
            socket.on("error", () => settle(false))
            socket.on("close", () => settle(false))
          }
          probe()
        })
    )
  )
  return probes
}

const contenders = [
  ["ours", ours],
  ["floor", floor]
]
const results = { ours: [], floor: [] }
// Round -1 warms both up (the first waits of a process compile their code) and is not counted.
for (let run = -1; run < runs; run++) {
  for (const [name, wait] of rotated(contenders, run)) {
    const result = await measured(name, wait)
    if (run >= 0) results[name].push(result)
    printLine({ run, ...result, cpuPerProbeMillis: round(result.cpuMillis / result.probes, 3) })
  }
}

const summary = (name) => {
  const perProbe = median(results[name].map((r) => r.cpuMillis / r.probes))
  const perWait = median(results[name].map((r) => r.cpuMillis / waits))
  const probesPerWait = median(results[name].map((r) => r.probes / waits))
  return { perProbe, perWait, probesPerWait }
}
const [o, f] = [summary("ours"), summary("floor")]
printLine({
  bench: "probe-cpu",
  machine: machine(),
  waits,
  runs,
  ours: {
    cpuPerProbeMillis: round(o.perProbe, 3),
    cpuPerWaitMillis: round(o.perWait, 2),
    probesPerWait: round(o.probesPerWait)
  },
  floor: {
    cpuPerProbeMillis: round(f.perProbe, 3),
    cpuPerWaitMillis: round(f.perWait, 2),
    probesPerWait: round(f.probesPerWait)
  },
  perProbeRatio: ratio(o.perProbe, f.perProbe)
})
