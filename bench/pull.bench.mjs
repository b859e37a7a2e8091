// `pnpm bench pull`: image pulls from a registry on 127.0.0.1, armada against `docker pull`, side
// by side in one run on the real engine. The bench starts its own registry (Debian's
// docker-registry, through @armada/testkit's Registry), builds N images FROM scratch with one
// layer of random bytes each (so no two share a layer), pushes them, and removes the local copies.
// Each round then pulls all N, with every image removed before the round so each pull goes over
// the wire:
//   ours: Bulk.pullAll over the live engine (the orchestrator's warm stage: is it present? else
//         pull, streaming the progress), at concurrency C, one layer for all rounds;
//   cli:  `docker pull -q` of the same N under `xargs -P C`;
//   sequential: `docker pull -q` of the same N one after another (`xargs -P 1`), what parallel
//         pulls save.
// One unmeasured warm-up round each, then the order rotates. Prints one JSON line: medians (ms),
// the ratio ours/cli, the target (ours/cli <= 1.1), sequential/ours, and the load average.
// Options: --runs N (default 7, at least 5), --count N (default 8), --concurrency C (default 4),
// --mib M (size of each image's layer, default 4). Build first: `pnpm build`.
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { loadavg } from "node:os"
import { DockerEngineLive } from "@armada/docker"
import { Bulk } from "@armada/engine"
import { Effect, Exit, ManagedRuntime, Scope } from "effect"
import * as Registry from "../packages/testkit/dist/Registry.js"
import { machine, median, numberFlag, printLine, ratio, rotated, round, runsFlag, timeShell } from "./lib.mjs"

const runs = runsFlag(7, 5)
const count = numberFlag("count", 8)
const concurrency = numberFlag("concurrency", 4)
const mib = numberFlag("mib", 4)

const runId = randomBytes(4).toString("hex")
const docker = (args) => execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })

const scope = Effect.runSync(Scope.make())
const runtime = ManagedRuntime.make(DockerEngineLive.layerConfig())
const local = Array.from({ length: count }, (_, i) => `armada-bench/pull-${runId}-${i}:v1`)
let refs = []

/** Removes the pulled images, so the next round pulls them over the wire again. */
const removePulled = () => {
  const present = refs.filter((ref) => docker(["images", "-q", ref]).trim() !== "")
  if (present.length > 0) docker(["rmi", ...present])
}

/** `docker pull -q` of every image, `parallel` at a time. */
const dockerPulls = (parallel) =>
  timeShell(`printf '%s\\n' ${refs.join(" ")} | xargs -P ${parallel} -n 1 docker pull -q`)

const contenders = {
  ours: async () => {
    const begin = performance.now()
    const outcome = await runtime.runPromise(Bulk.pullAll(refs, { concurrency }))
    const elapsed = performance.now() - begin
    if (outcome.failures.length > 0 || outcome.successes.some((s) => s.value !== "pulled")) {
      throw new Error(
        `ours: ${outcome.failures.length} pulls failed: ${outcome.failures.map((f) => String(f.cause)).join("; ")}`
      )
    }
    return elapsed
  },
  cli: () => dockerPulls(concurrency),
  sequential: () => dockerPulls(1)
}

const samples = { ours: [], cli: [], sequential: [] }
let loadAtStart = []
try {
  const registry = await Effect.runPromise(Scope.extend(Registry.start(), scope))
  await Effect.runPromise(
    Effect.forEach(local, (tag) => Registry.buildImage({ tag, bytes: mib * 2 ** 20 }), { concurrency: 2 })
  )
  const pushed = await Effect.runPromise(
    Registry.push(
      registry,
      local.map((image, i) => ({ image, name: `bench/pull-${i}:v1` }))
    )
  )
  await Effect.runPromise(Registry.removeLocal(local))
  refs = pushed.map((p) => p.tag)
  loadAtStart = loadavg().map((x) => round(x))
  for (let run = -1; run < runs; run++) {
    for (const side of rotated(Object.keys(contenders), run)) {
      removePulled()
      const elapsed = await contenders[side]()
      if (run >= 0) samples[side].push(elapsed)
    }
  }
} finally {
  removePulled()
  await Effect.runPromise(Registry.removeLocal(local))
  await runtime.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
}

const engineVersion = docker(["version", "--format", "{{.Server.Version}}"]).trim()
const medianOurs = median(samples.ours)
const medianCli = median(samples.cli)
const medianSequential = median(samples.sequential)
printLine({
  case: `pull ${count} images of ${mib} MiB (one layer each) from a registry on 127.0.0.1, concurrency ${concurrency}`,
  unit: "ms",
  runs,
  median: { ours: round(medianOurs), cli: round(medianCli), sequential: round(medianSequential) },
  samples: {
    ours: samples.ours.map((x) => round(x)),
    cli: samples.cli.map((x) => round(x)),
    sequential: samples.sequential.map((x) => round(x))
  },
  ratio: ratio(medianOurs, medianCli),
  sequentialOverOurs: ratio(medianSequential, medianOurs),
  pairedRatioMedian: round(median(samples.ours.map((ours, run) => ours / samples.cli[run])), 3),
  target: "ours/cli <= 1.1",
  met: medianOurs / medianCli <= 1.1,
  machine: { ...machine(), engine: engineVersion },
  // The 1, 5 and 15 minute load averages when the measured rounds began and when they ended.
  loadAverage: { start: loadAtStart, end: loadavg().map((x) => round(x)) }
})
