// The workspace's packages and apps, and each by name → its `src/index.ts`: the tests' aliases
// (vitest.shared.ts) and the bundles' (bundle-workspace.mjs), so neither depends on a stale dist/.
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")

/** @type {ReadonlyArray<{ group: "packages" | "apps", dir: string, manifest: { name: string } & Record<string, unknown> }>} */
export const workspacePackages = ["packages", "apps"].flatMap((group) =>
  readdirSync(join(root, group)).flatMap((name) => {
    const dir = join(root, group, name)
    const manifest = join(dir, "package.json")
    return existsSync(manifest) ? [{ group, dir, manifest: JSON.parse(readFileSync(manifest, "utf8")) }] : []
  })
)

/** @type {Record<string, string>} */
export const workspaceAliases = Object.fromEntries(
  workspacePackages.flatMap(({ dir, manifest }) => {
    const entry = join(dir, "src", "index.ts")
    return existsSync(entry) ? [[manifest.name, entry]] : []
  })
)
