/**
 * Tests import workspace packages by name; these aliases point them at the sources so a test run
 * never depends on a stale `dist/`. The bundles use the same map (scripts/bundle-workspace.mjs).
 */
export { workspaceAliases as armadaAliases } from "./scripts/workspace-aliases.mjs"

/**
 * The packages' limits per test and per hook. Vitest's default of 5 s is too short for a test that
 * starts a process, a server or a container on a busy 2-core machine; a test about a timeout uses
 * `TestClock` or a short timeout of its own, never these.
 */
export const busyMachineTimeouts = { testTimeout: 60_000, hookTimeout: 120_000 } as const
