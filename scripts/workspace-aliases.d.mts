/** A workspace manifest's fields that armada's scripts and tests read. */
export interface Manifest {
  readonly name: string
  readonly dependencies?: Record<string, string>
  readonly devDependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly pnpm?: Record<string, unknown>
}
/** Every package and app of the workspace: its group, its folder and its `package.json`. */
export declare const workspacePackages: ReadonlyArray<{
  readonly group: "packages" | "apps"
  readonly dir: string
  readonly manifest: Manifest
}>
/** Each workspace package and app by name → its `src/index.ts`. */
export declare const workspaceAliases: Record<string, string>
