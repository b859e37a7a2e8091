// Bundles an app of the workspace into one ESM file with esbuild. Workspace packages come from
// their sources (as in the tests), so a bundle never depends on a stale dist/. The file is
// rewritten only when its bytes changed, and atomically, so concurrent callers (test workers,
// `pnpm images`) never read half a bundle. esbuild is a dependency of the apps that bundle, not
// of the workspace root, so each caller passes its `buildSync`.
//
// With `split`, what the entry loads with `import()` goes into chunks beside it (`chunks/`), read
// only when a command needs them: Node.js compiles every byte of a file it loads, so a CLI whose
// commands need different halves of its dependencies starts faster when each half is its own file.
// Chunks are named by their content, written before the entry that imports them, and the ones no
// entry of this build imports are removed after it. A chunk that is a CommonJS module answers
// `import()` with its `module.exports` as `default` only (esbuild's split output, unlike its single
// file and unlike Node.js, finds no named exports): each `import()` of one is given them back.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { basename, dirname, extname, join } from "node:path"
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

const chunksFolder = "chunks"

// What `import()` of a CommonJS chunk answers, as Node.js and esbuild's single file answer it.
const commonJsNamespace = "const __armadaCommonJs = (m) => ({ ...m.default, default: m.default });"

const literally = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * The outputs with every `import()` of a CommonJS chunk wrapped in `__armadaCommonJs`: a chunk made
 * for an `import()` whose module is CommonJS exports only `default`.
 */
const withCommonJsNamespaces = (outputFiles, metafile) => {
  const commonJs = Object.entries(metafile.outputs)
    .filter(
      ([, output]) =>
        output.entryPoint !== undefined &&
        metafile.inputs[output.entryPoint]?.format === "cjs" &&
        output.exports.length === 1 &&
        output.exports[0] === "default"
    )
    .map(([path]) => basename(path))
  if (commonJs.length === 0) return outputFiles
  const imports = new RegExp(
    `import\\(("\\./(?:${chunksFolder}/)?(?:${commonJs.map(literally).join("|")})")\\)`,
    "g"
  )
  return outputFiles.map((file) => ({
    path: file.path,
    contents: Buffer.from(file.text.replace(imports, "import($1).then(__armadaCommonJs)"))
  }))
}

/** Writes `content` to `file` unless it holds those bytes already; atomically. */
const writeIfChanged = (file, content, mode) => {
  if (existsSync(file) && Buffer.compare(readFileSync(file), content) === 0) return false
  mkdirSync(dirname(file), { recursive: true })
  const temporary = `${file}.${process.pid}.tmp`
  writeFileSync(temporary, content, { mode })
  renameSync(temporary, file)
  return true
}

/**
 * @param {{
 *   buildSync: typeof import("esbuild").buildSync,
 *   entry: string,
 *   outfile: string,
 *   external?: Array<string>,
 *   mode?: number,
 *   split?: boolean,
 *   minify?: boolean
 * }} options `mode`: the file's permissions when written (e.g. 0o755 for a binary). `split`: put
 *   what the entry loads with `import()` into chunks (see above). `minify`: whitespace and syntax
 *   only, so names in stack traces stay as they are; less for Node.js to read and compile.
 * @returns {{ path: string, changed: boolean }}
 */
export const bundleWorkspace = ({
  buildSync,
  entry,
  outfile,
  external = [],
  mode = 0o644,
  split = false,
  minify = false
}) => {
  const outdir = dirname(outfile)
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
    banner: { js: split ? `${commonJsGlobals} ${commonJsNamespace}` : commonJsGlobals },
    logLevel: "warning",
    ...(minify ? { minifyWhitespace: true, minifySyntax: true } : {}),
    ...(split
      ? {
          splitting: true,
          metafile: true,
          outdir,
          entryNames: basename(outfile, extname(outfile)),
          chunkNames: `${chunksFolder}/[name]-[hash]`
        }
      : { outfile })
  })
  const outputFiles = split ? withCommonJsNamespaces(result.outputFiles, result.metafile) : result.outputFiles
  const main = outputFiles.find((file) => file.path === outfile)
  if (main === undefined) throw new Error(`esbuild wrote no ${outfile}`)
  const chunks = outputFiles.filter((file) => file !== main)
  // Chunks first: an entry on disk only ever imports chunks that are there.
  const changedChunks = chunks.filter((chunk) => writeIfChanged(chunk.path, chunk.contents, 0o644))
  const changed = writeIfChanged(outfile, main.contents, mode) || changedChunks.length > 0
  if (split) {
    const kept = new Set(chunks.map((chunk) => basename(chunk.path)))
    const folder = join(outdir, chunksFolder)
    for (const name of existsSync(folder) ? readdirSync(folder) : []) {
      if (!kept.has(name) && !name.endsWith(".tmp")) rmSync(join(folder, name), { force: true })
    }
  }
  return { path: outfile, changed }
}
