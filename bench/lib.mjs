// What the bench files share: options, medians, ratios, rotating order, JSON lines, machine facts
// and the Node HTTP client.
import { execFileSync, spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { availableParallelism, totalmem } from "node:os"
import { dirname, join, relative } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")

/** The number after `--name` on the command line, else `fallback`. */
export const numberFlag = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? fallback : Number(process.argv[at + 1])
}

/** `--runs N` (default `fallback`); throws unless an integer of at least `min`. */
export const runsFlag = (fallback, min) => {
  const runs = numberFlag("runs", fallback)
  if (!Number.isInteger(runs) || runs < min)
    throw new Error(`--runs: expected an integer >= ${min}, got ${runs}`)
  return runs
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

export const round = (x, digits = 1) => Number(x.toFixed(digits))

/** Whole milliseconds. */
export const whole = (x) => round(x, 0)

/** `a / b` to `digits` decimals. */
export const ratio = (a, b, digits = 3) => round(a / b, digits)

/**
 * `items` in the order of round `run`: each round starts one further along, so none always runs
 * first (or right after the same neighbour, on its garbage). Negative rounds (warm-ups) too.
 */
export const rotated = (items, run) =>
  items.map((_, i) => items[(((i + run) % items.length) + items.length) % items.length])

/** Prints one result as a JSON line. */
export const printLine = (value) => console.log(JSON.stringify(value))

export const machine = () => ({
  cpus: availableParallelism(),
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version
})

/**
 * `NodeHttpClient.layerUndici`. The bench has no platform-node of its own, so it comes from the
 * test app's dependencies; its ESM entry, so that it shares `effect` and `@effect/platform` with
 * @armada/http.
 */
export const loadLayerUndici = async () => {
  const platformNode = dirname(
    createRequire(join(root, "apps", "test-app", "package.json")).resolve(
      "@effect/platform-node/package.json"
    )
  )
  const { layerUndici } = await import(
    pathToFileURL(join(platformNode, "dist", "esm", "NodeHttpClient.js")).href
  )
  return layerUndici
}

/** Runs `sh -c script`, resolving with the wall time in ms; rejects on a non-zero exit. */
export const timeShell = (script) =>
  new Promise((resolve, reject) => {
    const start = performance.now()
    const child = spawn("sh", ["-c", script], { stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    child.stderr.on("data", (chunk) => {
      stderr += chunk
    })
    child.on("error", reject)
    child.on("exit", (code) => {
      const elapsed = performance.now() - start
      code === 0 ? resolve(elapsed) : reject(new Error(`${script.slice(0, 80)}… exited ${code}: ${stderr}`))
    })
  })

/** Every file below `dir`, relative to it, sorted. */
const filesOf = (dir) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort()

/** Throws unless `dir` holds exactly the files of `want`, byte for byte; `who` names the run. */
export const checkSameFiles = (dir, want, who) => {
  const expected = filesOf(want)
  const got = filesOf(dir)
  if (JSON.stringify(got) !== JSON.stringify(expected)) {
    throw new Error(`${who}: files ${JSON.stringify(got)} instead of ${JSON.stringify(expected)}`)
  }
  for (const file of expected) {
    if (!readFileSync(join(dir, file)).equals(readFileSync(join(want, file)))) {
      throw new Error(`${who}: ${file} differs from ${join(want, file)}`)
    }
  }
}

/** The ids of the engine's `kind`s (container, volume, network) that carry `label`. */
export const labelled = (kind, label) =>
  execFileSync(
    "docker",
    [kind, "ls", ...(kind === "container" ? ["-a"] : []), "-q", "--filter", `label=${label}`],
    { encoding: "utf8" }
  )
    .split("\n")
    .filter(Boolean)
