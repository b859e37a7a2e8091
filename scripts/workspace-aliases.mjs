// Each workspace package and app by name → its `src/index.ts`: the tests' aliases
// (vitest.shared.ts) and the bundles' (bundle-workspace.mjs), so neither depends on a stale dist/.
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")

/** @type {Record<string, string>} */
export const workspaceAliases = Object.fromEntries(
  ["packages", "apps"].flatMap((group) =>
    readdirSync(join(root, group)).flatMap((dir) => {
      const manifest = join(root, group, dir, "package.json")
      const entry = join(root, group, dir, "src", "index.ts")
      if (!existsSync(manifest) || !existsSync(entry)) return []
      const { name } = JSON.parse(readFileSync(manifest, "utf8"))
      return [[name, entry]]
    })
  )
)
