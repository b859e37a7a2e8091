// `pnpm bench parallel`: Parallel.forEachCollect against p-map (stopOnError: false), p-limit +
// Promise.allSettled and the bare idiom it is made of (Effect.forEach + Effect.either, no Outcome),
// side by side in one run. Prints one JSON line per case with the median of every contender, the
// ratio ours/other, and the machine's load average before and after the case; the one target
// compares with p-map. Options: --runs N (default 7, at least 5).
//   (a) 100,000 no-op items of which 10% fail, concurrency 16: wall time, no target
//   (b) 2,000 items that each wait 1 ms, concurrency 16: wall time, ours/p-map <= 1.10
//   (c) 1,000,000 no-op items, concurrency 16: peak RSS, each run in its own child process, no target
// The contenders' order rotates from run to run so none always runs first (or right after the
// same neighbour, on its garbage); (a) and (b) start with unmeasured warm-up runs of each contender, so that every one is
// measured JIT-compiled rather than in its first, interpreted passes.
import { execFileSync } from "node:child_process"
import { availableParallelism, cpus, loadavg, totalmem } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { median, printLine, ratio, rotated, round, runsFlag } from "./lib.mjs"
import { contenders, expectedFailures } from "./parallel-contenders.mjs"

const here = dirname(fileURLToPath(import.meta.url))
const warmups = 3
const runs = runsFlag(7, 5)

const names = Object.keys(contenders)
// The order rotates among ours and the peers; the bare idiom, shown only for comparison, runs last
// in every round, so the garbage it leaves falls on each of the others in turn.
const rotating = names.filter((n) => n !== "effectForEach")
const order = (run) => [...rotated(rotating, run), "effectForEach"]

/** The 1-minute load average, which says how much the machine was shared during a case. */
const load = () => round(loadavg()[0], 2)

/** `target`: the most ours/p-map may be, or `undefined` for a figure reported without one. */
const report = (label, unit, samples, loadBefore, target) => {
  const medians = Object.fromEntries(names.map((n) => [n, median(samples[n])]))
  const line = {
    case: label,
    unit,
    runs,
    median: Object.fromEntries(names.map((n) => [n, round(medians[n], unit === "ms" ? 2 : 0)])),
    ratio: Object.fromEntries(
      names
        .filter((n) => n !== "ours")
        .map((n) => [`oursTo${n[0].toUpperCase()}${n.slice(1)}`, ratio(medians.ours, medians[n])])
    ),
    load1: [loadBefore, load()],
    ...(target === undefined
      ? {}
      : { target: `ours/pMap <= ${target}`, met: medians.ours / medians.pMap <= target })
  }
  printLine(line)
}

const timeCase = async (label, count, kind, target) => {
  const loadBefore = load()
  const items = Array.from({ length: count }, (_, i) => i)
  const once = async (name) => {
    const start = performance.now()
    const failed = await contenders[name](items, 16, kind)
    const elapsed = performance.now() - start
    if (failed !== expectedFailures(count, kind)) throw new Error(`${name}: ${failed} items failed`)
    return elapsed
  }
  for (let run = 0; run < warmups; run++) for (const name of order(run)) await once(name)
  const samples = Object.fromEntries(names.map((n) => [n, []]))
  for (let run = 0; run < runs; run++) {
    for (const name of order(run)) samples[name].push(await once(name))
  }
  report(label, "ms", samples, loadBefore, target)
}

const rssCase = (label, count) => {
  const loadBefore = load()
  const samples = Object.fromEntries(names.map((n) => [n, []]))
  for (let run = 0; run < runs; run++) {
    for (const name of order(run)) {
      const out = execFileSync(
        process.execPath,
        [join(here, "parallel-rss.mjs"), name, String(count), "16"],
        {
          encoding: "utf8"
        }
      )
      samples[name].push(JSON.parse(out).maxRssBytes / 2 ** 20)
    }
  }
  report(label, "MiB", samples, loadBefore)
}

console.error(
  `# ${cpus()[0]?.model ?? "cpu"} x${availableParallelism()}, ${round(totalmem() / 2 ** 30, 1)} GiB, Node.js ${process.version}`
)
await timeCase("a: 100,000 no-op items, 10% fail, concurrency 16", 100_000, "tenPercentFail")
await timeCase("b: 2,000 items waiting 1 ms each, concurrency 16", 2_000, "wait1ms", 1.1)
rssCase("c: peak RSS, 1,000,000 no-op items, concurrency 16, one child process per run", 1_000_000)
