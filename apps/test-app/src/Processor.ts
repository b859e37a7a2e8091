/**
 * The processor role: for each glob of the request, the files below `readDir` (and its `root`)
 * that match it and no `exclude` are written to `writeDir` at their path relative to the root:
 * `"template"` files with `{{name}}` filled from `config.vars`, `"copy"` files byte for byte.
 * Symbolic links are copied as links, never followed. Later globs overwrite earlier ones.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs/promises"
import { join } from "node:path"
import type { Protocol } from "@armada/http"
import { Effect } from "effect"
import * as Glob from "./Glob.js"
import * as Workspace from "./Workspace.js"

/**
 * The name of the probe file of `ARMADA_FAULT_WRITE_TEMPLATE`.
 *
 * @since 0.1.0
 * @category constants
 */
export const writeProbe = ".armada-write-probe"

/**
 * The variables of `config.vars`, as text.
 *
 * @since 0.1.0
 * @category getters
 */
export const vars = (config: unknown): Record<string, string> => {
  const raw =
    typeof config === "object" && config !== null ? (config as { readonly vars?: unknown }).vars : undefined
  if (typeof raw !== "object" || raw === null) return {}
  return Object.fromEntries(
    Object.entries(raw).map(([key, value]) => [
      key,
      typeof value === "string" ? value : JSON.stringify(value)
    ])
  )
}

/**
 * `{{ name }}` replaced by `vars[name]`; unknown names are left as they are.
 *
 * @since 0.1.0
 * @category combinators
 */
export const render = (text: string, values: Readonly<Record<string, string>>): string =>
  text.replace(/\{\{\s*([\w.-]+)\s*\}\}/g, (whole, name: string) =>
    Object.hasOwn(values, name) ? values[name]! : whole
  )

/**
 * @since 0.1.0
 * @category models
 */
export interface Written {
  readonly files: number
}

/**
 * Runs one processor request on the host paths of `workspace`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (
  workspace: Workspace.Workspace,
  request: Protocol.ProcessRequest,
  options: {
    /** Render as CyanPrint's Node SDK does: copy the file (with its mode), then write over the copy. */
    readonly copyThenRender?: boolean | undefined
  } = {}
): Effect.Effect<Written, Workspace.FileError | Workspace.RequestProblem> =>
  Effect.gen(function* () {
    const readDir = workspace.resolve(request.readDir)
    const writeDir = workspace.resolve(request.writeDir)
    const values = vars(request.config)
    yield* Workspace.attempt("create directory", request.writeDir, () =>
      fs.mkdir(writeDir, { recursive: true })
    )
    let files = 0
    for (const glob of request.globs) {
      const base =
        glob.root == null || glob.root === "" ? readDir : yield* Workspace.within(readDir, glob.root)
      const include = Glob.compile(glob.glob)
      const excludes = glob.exclude.map(Glob.compile)
      const entries = yield* Workspace.walk(base)
      for (const entry of entries) {
        if (
          entry.kind === "directory" ||
          !include(entry.path) ||
          excludes.some((exclude) => exclude(entry.path))
        ) {
          continue
        }
        const source = join(base, entry.path)
        const target = yield* Workspace.prepareTarget(writeDir, entry.path)
        if (entry.kind === "file" && glob.type === "template") {
          const text = yield* Workspace.attempt("read", source, () => fs.readFile(source, "utf8"))
          if (options.copyThenRender === true) yield* Workspace.copyEntry(source, target, "file")
          yield* Workspace.attempt("write", target, () => fs.writeFile(target, render(text, values)))
        } else {
          yield* Workspace.copyEntry(source, target, entry.kind)
        }
        files++
      }
    }
    return { files }
  })

/**
 * The `ARMADA_FAULT_WRITE_TEMPLATE` probe: tries to write into `readDir`. When that fails (as it
 * must on a read-only template mount) the error code goes into `<writeDir>/.armada-write-probe`
 * and the answer is `undefined`; when it succeeds the probe is removed again and the answer is
 * the complaint to send back with status 500.
 *
 * @since 0.1.0
 * @category constructors
 */
export const probeTemplateWrite = (
  workspace: Workspace.Workspace,
  request: Protocol.ProcessRequest
): Effect.Effect<string | undefined, Workspace.FileError> =>
  Effect.gen(function* () {
    const inTemplate = join(workspace.resolve(request.readDir), writeProbe)
    const written = yield* Effect.either(
      Workspace.attempt("write", inTemplate, () => fs.writeFile(inTemplate, "probe"))
    )
    if (written._tag === "Right") {
      yield* Effect.promise(() => fs.rm(inTemplate, { force: true }))
      return "template volume is writable"
    }
    const writeDir = workspace.resolve(request.writeDir)
    yield* Workspace.attempt("create directory", request.writeDir, () =>
      fs.mkdir(writeDir, { recursive: true })
    )
    yield* Workspace.attempt("write", request.writeDir, () =>
      fs.writeFile(join(writeDir, writeProbe), written.left.code)
    )
    return undefined
  })
