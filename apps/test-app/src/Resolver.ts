/**
 * The resolver role: settles one file that several processors wrote, from every version of it,
 * as `config` says:
 *
 * - `{ "strategy": "join", "separator": "..." }` (the default, separator `""`): the versions'
 *   contents one after another, in the order sent (declared order);
 * - `{ "strategy": "pick", "layer": n }`: the version of the processor at layer `n`;
 * - `"failOn": [globs]`, with either: a path that matches is refused (a 422 naming it), so a test
 *   can fail some files and not others.
 *
 * @since 0.2.0
 */
import type { Protocol } from "@armada/http"
import { Effect, ParseResult, Schema } from "effect"
import * as Glob from "./Glob.js"
import * as Workspace from "./Workspace.js"

/**
 * @since 0.2.0
 * @category schemas
 */
export const Config = Schema.Struct({
  strategy: Schema.optionalWith(Schema.Literal("join", "pick"), {
    exact: true,
    default: () => "join" as const
  }),
  separator: Schema.optionalWith(Schema.String, { exact: true, default: () => "" }),
  layer: Schema.optionalWith(Schema.Int, { exact: true }),
  failOn: Schema.optionalWith(Schema.Array(Schema.String), { exact: true, default: () => [] })
})

/**
 * @since 0.2.0
 * @category models
 */
export type Config = typeof Config.Type

/**
 * A path the resolver was told to refuse (`failOn`): answered with 422.
 *
 * @since 0.2.0
 * @category errors
 */
export class Refused extends Schema.TaggedError<Refused>()("Refused", { path: Schema.String }) {
  override get message(): string {
    return `refusing ${this.path} (config.failOn)`
  }
}

/**
 * The resolved text of the request's file.
 *
 * @since 0.2.0
 * @category constructors
 */
export const run = (
  request: Protocol.ResolveRequest
): Effect.Effect<Protocol.ResolveResponse, Workspace.RequestProblem | Refused> =>
  Effect.gen(function* () {
    const config = yield* Effect.mapError(
      Schema.decodeUnknown(Config)(request.config ?? {}, { onExcessProperty: "error" }),
      (error) =>
        new Workspace.RequestProblem({
          detail: `resolver config: ${ParseResult.TreeFormatter.formatErrorSync(error)}`
        })
    )
    const [first] = request.files
    if (first === undefined) return yield* new Workspace.RequestProblem({ detail: "no files to resolve" })
    const path = first.path
    if (request.files.some((file) => file.path !== path)) {
      return yield* new Workspace.RequestProblem({ detail: "the versions name different paths" })
    }
    if (config.failOn.some((glob) => Glob.matches(glob, path))) return yield* new Refused({ path })
    if (config.strategy === "join") {
      return { path, content: request.files.map((file) => file.content).join(config.separator) }
    }
    const picked = request.files.find((file) => file.origin.layer === config.layer)
    if (picked === undefined) {
      return yield* new Workspace.RequestProblem({
        detail: `no version of ${path} from layer ${config.layer}`
      })
    }
    return { path, content: picked.content }
  })
