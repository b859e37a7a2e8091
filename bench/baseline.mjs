// The coordinator baseline (bench/baseline-pipeline.sh: the pipeline with the docker CLI and curl,
// the way the Go coordinator armada replaces does it), for the benches that put armada beside it:
// the plan the script reads, written from a parsed spec, and one timed run of it.
import { execFileSync } from "node:child_process"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const script = join(dirname(fileURLToPath(import.meta.url)), "baseline-pipeline.sh")

/**
 * Writes into `plan` what baseline-pipeline.sh reads to run `spec` (a parsed `Spec`) with `image`
 * under `prefix`: the same items, env and requests as armada sends.
 */
export const writePlan = (plan, spec, image, prefix) => {
  for (const dir of ["env", "process", "plug"]) mkdirSync(join(plan, dir), { recursive: true })
  writeFileSync(join(plan, "image"), image)
  writeFileSync(join(plan, "prefix"), prefix)
  writeFileSync(join(plan, "template"), spec.template)
  writeFileSync(join(plan, "processors"), `${spec.processors.map((p) => p.id).join("\n")}\n`)
  writeFileSync(join(plan, "plugins"), `${spec.plugins.map((p) => p.id).join("\n")}\n`)
  for (const item of [...spec.processors, ...spec.plugins]) {
    const env = Object.entries(item.env).map(([key, value]) => `${key}=${value}`)
    if (env.length > 0) writeFileSync(join(plan, "env", item.id), `${env.join("\n")}\n`)
  }
  for (const p of spec.processors) {
    const request = {
      readDir: "/workspace/cyanprint",
      writeDir: "__WRITE_DIR__",
      globs: p.globs,
      config: p.config
    }
    writeFileSync(join(plan, "process", `${p.id}.json`), JSON.stringify(request))
  }
  for (const p of spec.plugins) {
    writeFileSync(
      join(plan, "plug", `${p.id}.json`),
      JSON.stringify({ directory: "__DIRECTORY__", config: p.config })
    )
  }
}

/**
 * Runs the baseline of `plan` as session `session` into `output`; `phasesFile` receives its marks.
 * Returns the wall time in ms and each phase's duration (a phase lasts until the next begins).
 */
export const runBaseline = (plan, session, output, phasesFile) => {
  writeFileSync(join(plan, "session"), session)
  const started = performance.now()
  execFileSync("bash", [script, plan, output], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, BASELINE_PHASES: phasesFile }
  })
  const millis = performance.now() - started
  const marks = readFileSync(phasesFile, "utf8")
    .trim()
    .split("\n")
    .map((line) => line.split(" "))
  const durations = Object.fromEntries(
    marks.slice(0, -1).map(([phase, at], i) => [phase, Number(marks[i + 1][1]) - Number(at)])
  )
  return { millis, durations }
}
