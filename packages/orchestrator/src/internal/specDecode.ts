/**
 * From parsed YAML or JSON to a `Spec` ready to run: the schema check, with every problem reported
 * at its path, then what the file may leave out filled in (session id, template id, absolute
 * paths).
 *
 * @internal
 */
import { isAbsolute, resolve } from "node:path"
import { Names } from "@armada/core"
import { Array as Arr, Effect, Either, Random, Record, Schema } from "effect"
import * as Yaml from "yaml"
import { SpecError, type SpecIssue } from "../OrchestratorError.js"
import type { DecodeOptions, Spec } from "../Spec.js"
import * as issues from "./issues.js"
import { SpecFile } from "./specSchema.js"

/** @internal */
export const decode = (input: unknown, options: DecodeOptions): Effect.Effect<Spec, SpecError> =>
  Effect.gen(function* () {
    const decoded = Schema.decodeUnknownEither(SpecFile, { errors: "all", onExcessProperty: "error" })(input)
    if (Either.isLeft(decoded)) return yield* specError(options, issues.fromParseError(decoded.left))
    const file = decoded.right
    const template = isAbsolute(file.template) ? file.template : resolve(options.baseDir, file.template)
    const templateId =
      file.templateId ?? Names.sanitizeId(template.split(/[\\/]/).filter(Boolean).at(-1) ?? "")
    if (templateId === undefined) {
      return yield* specError(options, [
        {
          path: "templateId",
          message: `cannot derive an id from the template directory ${JSON.stringify(template)}; set templateId`
        }
      ])
    }
    const session = file.session ?? (yield* generateSessionId)
    return {
      session,
      template,
      templateId,
      processors: file.processors,
      plugins: file.plugins,
      resolvers: file.resolvers,
      merger: file.merger,
      options: file.options,
      local: Record.map(file.local, (entry) => ({
        command: Arr.map(entry.command, (word) =>
          /^\.\.?\//.test(word) ? resolve(options.baseDir, word) : word
        )
      }))
    }
  })

/** @internal */
export const parse = (
  text: string,
  options: DecodeOptions & { readonly format: "yaml" | "json" }
): Effect.Effect<Spec, SpecError> =>
  Effect.try({
    try: () => (options.format === "json" ? JSON.parse(text) : Yaml.parse(text)) as unknown,
    catch: (error) =>
      specError(options, [
        { path: "", message: `not valid ${options.format.toUpperCase()}: ${describeError(error)}` }
      ])
  }).pipe(Effect.flatMap((input) => decode(input, options)))

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

/** @internal */
export const generateSessionId: Effect.Effect<Names.Id> = Effect.map(
  Effect.all(Array.from({ length: 8 }, (_, i) => Random.nextIntBetween(0, i === 0 ? 26 : alphabet.length))),
  (indices) => Names.Id.make(indices.map((i) => alphabet[i]).join(""))
)

/** A `SpecError` naming the spec file, if there is one, with at least one issue. */
const specError = (options: DecodeOptions, found: ReadonlyArray<SpecIssue>): SpecError =>
  new SpecError({
    ...(options.source === undefined ? {} : { source: options.source }),
    issues: Arr.isNonEmptyReadonlyArray(found) ? found : [{ path: "", message: "invalid spec" }]
  })

const describeError = (error: unknown): string => (error instanceof Error ? error.message : String(error))
