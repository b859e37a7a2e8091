/**
 * Tests import workspace packages by name; these aliases point them at the sources so a test run
 * never depends on a stale `dist/`. The bundles use the same map (scripts/bundle-workspace.mjs).
 */
export { workspaceAliases as armadaAliases } from "./scripts/workspace-aliases.mjs"
