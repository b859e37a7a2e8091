// `pnpm bench docker`: the ContainerEngine service against the docker CLI, side by side in one run on
// the real engine (build first: `cd packages/docker && pnpm tsc -b && cd ../testkit && pnpm tsc -b`).
//   create+start: 16 containers of the local fixture image at concurrency 8, through
//                 Bulk.createAndStartAll, against `docker run -d` under `xargs -P 8`;
//   remove:       the same 16 through Bulk.removeContainers, against one `docker rm -f` naming
//                 all 16. The CLI removes the containers it is given in parallel (up to 50 at a
//                 time), so the service removes them all at once too (--remove-concurrency).
// Both sides ask for the same containers (labels, no-new-privileges, every capability dropped,
// bridge network, the fixture's server as the process). The service runs in this process with
// one layer for all runs, as the orchestrator does; the CLI pays a process per command, which is
// the point of comparing. Runs alternate which side goes first, after one unmeasured warm-up
// round each. Prints one JSON line per case: medians (ms), the ratio ours/CLI, and the target.
// Options: --runs N (default 5, at least 5), --count N (default 16), --concurrency N (default 8),
// --remove-concurrency N (default: --count).
// Everything created carries `armada.bench=docker-<run id>` and is removed; the run fails if any
// remains.
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { DockerEngineLive } from "@armada/docker"
import { Bulk } from "@armada/engine"
import { ManagedRuntime } from "effect"
import { ensureFixtureImage } from "../packages/testkit/dist/ConformanceFixture.js"
import { machine, median, numberFlag, printLine, ratio, rotated, round, runsFlag, timeShell } from "./lib.mjs"

const runs = runsFlag(5, 5)
const count = numberFlag("count", 16)
const concurrency = numberFlag("concurrency", 8)
const removeConcurrency = numberFlag("remove-concurrency", count)

const runId = randomBytes(4).toString("hex")
const benchLabel = `docker-${runId}`
const labels = { "armada.managed": "true", "armada.bench": benchLabel }
const image = ensureFixtureImage()

const namesFor = (side, round) =>
  Array.from({ length: count }, (_, i) => `armada-bench-${runId}-${side}-${round}-${i}`)

const runtime = ManagedRuntime.make(DockerEngineLive.layerConfig())

const ours = {
  start: async (names) => {
    const specs = names.map((name) => ({ name, image, labels, env: { ARMADA_LISTEN_PORT: "8080" } }))
    const begin = performance.now()
    const outcome = await runtime.runPromise(Bulk.createAndStartAll(specs, { concurrency }))
    const elapsed = performance.now() - begin
    if (outcome.failures.length > 0)
      throw new Error(`ours: ${outcome.failures.length} containers failed to start`)
    return elapsed
  },
  remove: async (names) => {
    const begin = performance.now()
    const outcome = await runtime.runPromise(Bulk.removeContainers(names, { concurrency: removeConcurrency }))
    const elapsed = performance.now() - begin
    if (outcome.failures.length > 0 || outcome.successes.some((s) => s.value !== "removed")) {
      throw new Error("ours: not every container was removed")
    }
    return elapsed
  }
}

const labelFlags = Object.entries(labels)
  .map(([key, value]) => `--label ${key}=${value}`)
  .join(" ")
const cli = {
  start: (names) =>
    timeShell(
      `printf '%s\\n' ${names.join(" ")} | xargs -P ${concurrency} -I NAME docker run -d --name NAME ${labelFlags} ` +
        `--cap-drop ALL --security-opt no-new-privileges --network bridge -e ARMADA_LISTEN_PORT=8080 ${image}`
    ),
  remove: (names) => timeShell(`docker rm -f ${names.join(" ")}`)
}

const leftovers = () =>
  execFileSync("docker", ["ps", "-aq", "--filter", `label=armada.bench=${benchLabel}`], { encoding: "utf8" })
    .split("\n")
    .filter((id) => id.length > 0)

const samples = { start: { ours: [], cli: [] }, remove: { ours: [], cli: [] } }
const contenders = { ours, cli }
try {
  for (let round = -1; round < runs; round++) {
    for (const side of rotated(["ours", "cli"], round)) {
      const names = namesFor(side, round)
      const started = await contenders[side].start(names)
      const removed = await contenders[side].remove(names)
      if (round >= 0) {
        samples.start[side].push(started)
        samples.remove[side].push(removed)
      }
    }
  }
} finally {
  const left = leftovers()
  if (left.length > 0) execFileSync("docker", ["rm", "-f", ...left], { stdio: "ignore" })
  await runtime.dispose()
}
if (leftovers().length > 0) throw new Error("containers labelled by this run remain")

const engineVersion = execFileSync("docker", ["version", "--format", "{{.Server.Version}}"], {
  encoding: "utf8"
}).trim()
for (const [label, key] of [
  [`create+start ${count} (concurrency ${concurrency})`, "start"],
  [`remove ${count} (concurrency ${removeConcurrency})`, "remove"]
]) {
  const medianOurs = median(samples[key].ours)
  const medianCli = median(samples[key].cli)
  printLine({
    case: label,
    unit: "ms",
    runs,
    median: { ours: round(medianOurs), cli: round(medianCli) },
    samples: { ours: samples[key].ours.map((ms) => round(ms)), cli: samples[key].cli.map((ms) => round(ms)) },
    ratio: ratio(medianOurs, medianCli),
    // The two sides of a round run back to back, so this one is less swayed by load drifting
    // over the whole run (informative; the target is on the ratio of the medians).
    pairedRatioMedian: round(median(samples[key].ours.map((ours, run) => ours / samples[key].cli[run])), 3),
    target: "ours/cli <= 1.1",
    met: medianOurs / medianCli <= 1.1,
    machine: { ...machine(), engine: engineVersion }
  })
}
