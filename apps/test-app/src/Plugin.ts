/**
 * The plugin role: edits `directory` in place as `config` says, so tests can see the order in
 * which plugins ran (plugin 2 sees plugin 1's work). `config` is an object whose keys are steps,
 * applied in the order they are written:
 *
 * - `prependLine: { glob, text }` puts `text` as a new first line of every matching file;
 * - `appendLine: { glob, text }` adds `text` as a new last line of every matching file;
 * - `rename: { from, to }` moves a file or directory;
 * - `writeFile: { path, content }` creates or replaces a file;
 * - `remove: { glob }` deletes every matching file;
 * - `copyFromTemplate: { path, to }` copies a file of the template (`/workspace/cyanprint`, which
 *   armada mounts read-only in plugins as CyanPrint's coordinator does) to `to` (default `path`).
 *
 * Paths and globs are relative to `directory`; nothing outside it is touched, and symbolic links
 * are neither edited nor followed. An unknown step is a 400.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs/promises"
import { join } from "node:path"
import { Protocol } from "@armada/http"
import { Effect, ParseResult, Schema } from "effect"
import * as Glob from "./Glob.js"
import * as Workspace from "./Workspace.js"

const LineEdit = Schema.Struct({ glob: Schema.String, text: Schema.String })

/**
 * @since 0.1.0
 * @category schemas
 */
export const Step = Schema.Union(
  Schema.Struct({ prependLine: LineEdit }),
  Schema.Struct({ appendLine: LineEdit }),
  Schema.Struct({ rename: Schema.Struct({ from: Schema.String, to: Schema.String }) }),
  Schema.Struct({ writeFile: Schema.Struct({ path: Schema.String, content: Schema.String }) }),
  Schema.Struct({ remove: Schema.Struct({ glob: Schema.String }) }),
  Schema.Struct({
    copyFromTemplate: Schema.Struct({ path: Schema.String, to: Schema.optional(Schema.String) })
  })
)

/**
 * @since 0.1.0
 * @category models
 */
export type Step = typeof Step.Type

/**
 * The steps of a plugin `config`, in the order its keys are written.
 *
 * @since 0.1.0
 * @category constructors
 */
export const steps = (config: unknown): Effect.Effect<Array<Step>, Workspace.RequestProblem> => {
  if (config === null || config === undefined) return Effect.succeed([])
  if (typeof config !== "object" || Array.isArray(config)) {
    return Effect.fail(
      new Workspace.RequestProblem({ detail: "the plugin config must be an object of steps" })
    )
  }
  return Effect.forEach(Object.entries(config), ([key, value]) =>
    Effect.mapError(
      Schema.decodeUnknown(Step)({ [key]: value }, { onExcessProperty: "error" }),
      (error) =>
        new Workspace.RequestProblem({
          detail: `plugin step ${JSON.stringify(key)}: ${ParseResult.TreeFormatter.formatErrorSync(error)}`
        })
    )
  )
}

const editFiles = (
  dir: string,
  glob: string,
  edit: (content: string) => string
): Effect.Effect<number, Workspace.FileError> =>
  Effect.gen(function* () {
    const matches = Glob.compile(glob)
    let edited = 0
    for (const entry of yield* Workspace.walk(dir)) {
      if (entry.kind !== "file" || !matches(entry.path)) continue
      const path = join(dir, entry.path)
      const content = yield* Workspace.attempt("read", path, () => fs.readFile(path, "utf8"))
      yield* Workspace.attempt("write", path, () => fs.writeFile(path, edit(content)))
      edited++
    }
    return edited
  })

const apply = (
  dir: string,
  templateDir: string,
  step: Step
): Effect.Effect<void, Workspace.FileError | Workspace.RequestProblem> => {
  if ("prependLine" in step) {
    const { glob, text } = step.prependLine
    return Effect.asVoid(editFiles(dir, glob, (content) => `${text}\n${content}`))
  }
  if ("appendLine" in step) {
    const { glob, text } = step.appendLine
    return Effect.asVoid(
      editFiles(
        dir,
        glob,
        (content) => `${content}${content === "" || content.endsWith("\n") ? "" : "\n"}${text}\n`
      )
    )
  }
  if ("rename" in step) {
    const { from, to } = step.rename
    return Effect.gen(function* () {
      const source = yield* Workspace.noLinkOnTheWay(dir, from)
      if (!(yield* Workspace.exists(source))) {
        return yield* new Workspace.RequestProblem({
          detail: `rename: ${JSON.stringify(from)} does not exist`
        })
      }
      const target = yield* Workspace.prepareTarget(dir, to)
      yield* Workspace.attempt("rename", source, () => fs.rename(source, target))
    })
  }
  if ("copyFromTemplate" in step) {
    const { path, to } = step.copyFromTemplate
    return Effect.gen(function* () {
      const source = yield* Workspace.noLinkOnTheWay(templateDir, path)
      const stat = yield* Effect.promise(() => fs.lstat(source).catch(() => undefined))
      if (!stat?.isFile()) {
        return yield* new Workspace.RequestProblem({
          detail: `copyFromTemplate: ${JSON.stringify(path)} is not a file of the template`
        })
      }
      const target = yield* Workspace.prepareTarget(dir, to ?? path)
      yield* Workspace.copyEntry(source, target, "file")
    })
  }
  if ("writeFile" in step) {
    const { content, path } = step.writeFile
    return Effect.flatMap(Workspace.prepareTarget(dir, path), (target) =>
      Workspace.attempt("write", target, () => fs.writeFile(target, content))
    )
  }
  const matches = Glob.compile(step.remove.glob)
  return Effect.flatMap(Workspace.walk(dir), (entries) =>
    Effect.forEach(
      entries.filter((entry) => entry.kind !== "directory" && matches(entry.path)),
      (entry) => Workspace.attempt("remove", entry.path, () => fs.rm(join(dir, entry.path), { force: true })),
      { discard: true }
    )
  )
}

/**
 * Runs one plugin request on the host paths of `workspace`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (
  workspace: Workspace.Workspace,
  request: Protocol.PlugRequest
): Effect.Effect<void, Workspace.FileError | Workspace.RequestProblem> =>
  Effect.gen(function* () {
    const dir = workspace.resolve(request.directory)
    const stat = yield* Effect.promise(() => fs.stat(dir).catch(() => undefined))
    if (!stat?.isDirectory()) {
      return yield* new Workspace.RequestProblem({
        detail: `directory ${JSON.stringify(request.directory)} does not exist`
      })
    }
    const templateDir = workspace.resolve(Protocol.templateDir)
    for (const step of yield* steps(request.config)) yield* apply(dir, templateDir, step)
  })
