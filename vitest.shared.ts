import { existsSync, readdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = dirname(fileURLToPath(import.meta.url))

/**
 * Tests import workspace packages by name; these aliases point them at the sources so a test run
 * never depends on a stale `dist/`.
 */
export const armadaAliases: Record<string, string> = Object.fromEntries(
  ["packages", "apps"].flatMap((group) =>
    readdirSync(join(root, group)).flatMap((dir) => {
      const manifest = join(root, group, dir, "package.json")
      const entry = join(root, group, dir, "src", "index.ts")
      if (!existsSync(manifest) || !existsSync(entry)) return []
      const { name } = JSON.parse(readFileSync(manifest, "utf8")) as { name: string }
      return [[name, entry] as const]
    })
  )
)
