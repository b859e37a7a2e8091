/**
 * Whether the tests that need a real Docker engine can run here. In CI (CI=true) an engine is
 * required and its absence fails the run; elsewhere those tests are skipped, loudly.
 *
 * @since 0.1.0
 */
import { execFileSync } from "node:child_process"

/**
 * @since 0.1.0
 * @category models
 */
export type EngineStatus = { readonly reachable: true } | { readonly reachable: false; readonly why: string }

let cached: EngineStatus | undefined

/**
 * Asks `docker info` once per process. A busy engine can take seconds to answer; one that has not
 * answered in 30 s counts as unreachable.
 *
 * @since 0.1.0
 * @category getters
 */
export const engineStatus = (): EngineStatus => {
  if (cached !== undefined) return cached
  try {
    execFileSync("docker", ["info", "--format", "{{.ServerVersion}}"], { stdio: "pipe", timeout: 30_000 })
    cached = { reachable: true }
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim()
    cached = { reachable: false, why: stderr || String(error) }
  }
  return cached
}

/**
 * @since 0.1.0
 * @category getters
 */
export const isCI = (): boolean => process.env.CI === "true" || process.env.CI === "1"

/**
 * True when Docker tests must be skipped: no engine, and not in CI. Throws in CI when no engine
 * answers, since there a skipped test would hide a broken setup. Prints a warning when skipping.
 *
 * @since 0.1.0
 * @category getters
 */
export const skipWithoutEngine = (suite: string): boolean => {
  const status = engineStatus()
  if (status.reachable) return false
  if (isCI()) throw new Error(`${suite}: CI=true but no Docker engine answers: ${status.why}`)
  process.stderr.write(
    `\n!!! SKIPPING ${suite}: no Docker engine reachable (${status.why}).\n!!! Start one (dockerd) to run these tests; CI always runs them.\n\n`
  )
  return true
}
