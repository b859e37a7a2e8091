// Bundles an app of the workspace into one ESM file with esbuild. Workspace packages come from
// their sources (as in the tests), so a bundle never depends on a stale dist/. The file is
// rewritten only when its bytes changed, and atomically, so concurrent callers (test workers,
// `pnpm images`) never read half a bundle. esbuild is a dependency of the apps that bundle, not
// of the workspace root, so each caller passes its `buildSync`.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { workspaceAliases } from "./workspace-aliases.mjs"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")

// CommonJS dependencies bundled into ESM still use require, __filename and __dirname.
const commonJsGlobals = [
  'import { createRequire as __armadaRequire } from "node:module";',
  'import { fileURLToPath as __armadaPath } from "node:url";',
  "const require = __armadaRequire(import.meta.url);",
  "const __filename = __armadaPath(import.meta.url);",
  'const __dirname = __armadaPath(new URL(".", import.meta.url));'
].join(" ")

/**
 * @param {{
 *   buildSync: typeof import("esbuild").buildSync,
 *   entry: string,
 *   outfile: string,
 *   external?: Array<string>,
 *   mode?: number
 * }} options `mode`: the file's permissions when written (e.g. 0o755 for a binary).
 * @returns {{ path: string, changed: boolean }}
 */
export const bundleWorkspace = ({ buildSync, entry, outfile, external = [], mode = 0o644 }) => {
  const result = buildSync({
    entryPoints: [entry],
    // Paths in the bundle's comments are relative to this: the root, so the bytes (and the
    // image's content hash) do not depend on the caller's working directory.
    absWorkingDir: root,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    write: false,
    legalComments: "none",
    alias: workspaceAliases,
    external,
    banner: { js: commonJsGlobals },
    logLevel: "warning"
  })
  const content = result.outputFiles[0].contents
  if (existsSync(outfile) && Buffer.compare(readFileSync(outfile), content) === 0) {
    return { path: outfile, changed: false }
  }
  mkdirSync(dirname(outfile), { recursive: true })
  const temporary = `${outfile}.${process.pid}.tmp`
  writeFileSync(temporary, content, { mode })
  renameSync(temporary, outfile)
  return { path: outfile, changed: true }
}
