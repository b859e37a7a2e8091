/**
 * A spec from a file: read, parsed by its extension, decoded against the file's directory, and
 * its template directory checked.
 *
 * @internal
 */
import { resolve } from "node:path"
import { FileSystem } from "@effect/platform"
import { Effect } from "effect"
import { SpecError } from "../OrchestratorError.js"
import type { Spec } from "../Spec.js"
import { parse } from "./specDecode.js"

/** @internal */
export const load = (file: string): Effect.Effect<Spec, SpecError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const source = resolve(file)
    const specError = (path: string, message: string) =>
      new SpecError({ source, issues: [{ path, message }] })
    const text = yield* fs
      .readFileString(source)
      .pipe(Effect.mapError((error) => specError("", `cannot read the spec file: ${error.message}`)))
    const spec = yield* parse(text, {
      baseDir: resolve(source, ".."),
      source,
      format: source.endsWith(".json") ? "json" : "yaml"
    })
    yield* fs
      .readDirectory(spec.template)
      .pipe(
        Effect.mapError((error) =>
          specError(
            "template",
            `expected a readable directory, got ${JSON.stringify(spec.template)} (${error.message})`
          )
        )
      )
    return spec
  }).pipe(Effect.withSpan("Spec.load", { attributes: { file } }))
