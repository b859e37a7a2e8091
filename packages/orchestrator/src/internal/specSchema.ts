/**
 * The shape of a spec file: the schemas `decode` checks the parsed YAML or JSON against, with
 * their defaults and the messages of their checks.
 *
 * @internal
 */
import { ImageRef, Names } from "@armada/core"
import { Bulk, SecurityProfile } from "@armada/engine"
import { Protocol } from "@armada/http"
import { Duration, Schema } from "effect"
import { DurationInput, MemorySize } from "./units.js"

/** @internal */
export const Concurrency = Schema.Union(
  Schema.Int.pipe(Schema.positive()),
  Schema.Literal("cpus")
).annotations({
  identifier: "Concurrency",
  message: (issue) => `expected a positive integer or "cpus", got ${JSON.stringify(issue.actual)}`
})

/** @internal */
export const Env = Schema.Record({
  key: Schema.String.pipe(
    Schema.pattern(/^[A-Za-z_][A-Za-z0-9_]*$/, {
      message: (issue) => `expected an environment variable name, got ${JSON.stringify(issue.actual)}`
    })
  ),
  value: Schema.String
})

/** @internal */
export const defaultMergerImage: ImageRef.ImageRef = ImageRef.ImageRef.make("armada/test-app:dev")

/** @internal */
export const Processor = Schema.Struct({
  id: Names.Id,
  image: ImageRef.ImageRef,
  config: Schema.optionalWith(Schema.Unknown, { exact: true, default: () => ({}) }),
  globs: Schema.optionalWith(Schema.Array(Protocol.Glob), { exact: true, default: () => [] }),
  env: Schema.optionalWith(Env, { exact: true, default: () => ({}) })
})

/** @internal */
export const Plugin = Schema.Struct({
  id: Names.Id,
  image: ImageRef.ImageRef,
  config: Schema.optionalWith(Schema.Unknown, { exact: true, default: () => ({}) }),
  env: Schema.optionalWith(Env, { exact: true, default: () => ({}) })
})

/** @internal */
export const Resolver = Schema.Struct({
  id: Names.Id,
  image: ImageRef.ImageRef,
  /** Globs of the paths (relative to the merge dir) whose conflicts this resolver settles. */
  files: Schema.Array(
    Schema.String.pipe(Schema.minLength(1, { message: () => "expected a glob, got an empty string" }))
  ).pipe(Schema.filter((globs) => globs.length > 0 || "expected at least one glob")),
  config: Schema.optionalWith(Schema.Unknown, { exact: true, default: () => ({}) }),
  env: Schema.optionalWith(Env, { exact: true, default: () => ({}) })
})

/**
 * Within one list, ids must be unique (container names are made of them).
 */
const uniqueIds = <A extends { readonly id: string }, I, R>(self: Schema.Schema<ReadonlyArray<A>, I, R>) =>
  self.pipe(
    Schema.filter((items) =>
      items.flatMap((item, index) => {
        const first = items.findIndex((other) => other.id === item.id)
        return first === index
          ? []
          : [{ path: [index, "id"], message: `duplicate id ${JSON.stringify(item.id)} (also at [${first}])` }]
      })
    )
  )

/** @internal */
export const Limits = Schema.Struct({
  memory: Schema.optionalWith(MemorySize, { exact: true }),
  // Docker's least is a hundredth of a CPU (below it the nano-CPUs round to 0, which it refuses).
  cpus: Schema.optionalWith(
    Schema.Number.pipe(Schema.greaterThanOrEqualTo(0.01), Schema.lessThanOrEqualTo(1024)),
    {
      exact: true
    }
  ),
  pids: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { exact: true })
})

/** @internal */
export const FilesSetting = Schema.Literal("auto", "merger")

/** @internal */
export const Timeouts = Schema.Struct({
  /** How long a container may take to answer its health check. */
  ready: Schema.optionalWith(DurationInput, { exact: true, default: () => Duration.seconds(60) }),
  /** How long one processor, merger or plugin call may take. */
  call: Schema.optionalWith(DurationInput, { exact: true, default: () => Duration.minutes(5) })
})

/** @internal */
export const Options = Schema.Struct({
  /** At most this many containers started, and processors called, at once. */
  concurrency: Schema.optionalWith(Concurrency, { exact: true, default: () => "cpus" as const }),
  /** The prefix of every name and label. */
  prefix: Schema.optionalWith(Names.Prefix, { exact: true, default: () => Names.defaultPrefix }),
  /** Leave the containers and volumes in place after the run (for debugging; `clean` removes them). */
  keep: Schema.optionalWith(Schema.Boolean, { exact: true, default: () => false }),
  /** When images are pulled: `missing` (default), `always` or `never`. */
  pull: Schema.optionalWith(Bulk.PullPolicy, { exact: true, default: () => "missing" as const }),
  timeouts: Schema.optionalWith(Timeouts, { exact: true, default: () => Timeouts.make({}) }),
  limits: Schema.optionalWith(Limits, { exact: true, default: () => ({}) }),
  /** The capabilities of every container: `default` (Docker's, less what the protocol never needs) or `strict` (none). */
  security: Schema.optionalWith(SecurityProfile.SecurityProfile, {
    exact: true,
    default: () => "default" as const
  }),
  /**
   * How files go into and out of the session's volumes: `auto` (the engine's archive API when it
   * has one, the merger's file endpoints otherwise) or `merger` (always the merger). The
   * `ARMADA_FILES` variable, when set, wins (docs/scale-out.md, 1.1).
   */
  files: Schema.optionalWith(FilesSetting, { exact: true, default: () => "auto" as const })
})

/** @internal */
export const LocalCommand = Schema.Struct({ command: Schema.NonEmptyArray(Schema.String) })

/** @internal */
export const SpecFile = Schema.Struct({
  session: Schema.optionalWith(Names.Id, { exact: true }),
  template: Schema.String.pipe(
    Schema.minLength(1, { message: () => "expected the path of the template directory, got an empty string" })
  ),
  templateId: Schema.optionalWith(Names.Id, { exact: true }),
  processors: Schema.optionalWith(uniqueIds(Schema.Array(Processor)), { exact: true, default: () => [] }),
  plugins: Schema.optionalWith(uniqueIds(Schema.Array(Plugin)), { exact: true, default: () => [] }),
  resolvers: Schema.optionalWith(uniqueIds(Schema.Array(Resolver)), { exact: true, default: () => [] }),
  merger: Schema.optionalWith(
    Schema.Struct({
      image: Schema.optionalWith(ImageRef.ImageRef, { exact: true, default: () => defaultMergerImage }),
      env: Schema.optionalWith(Env, { exact: true, default: () => ({}) })
    }),
    { exact: true, default: () => ({ image: defaultMergerImage, env: {} }) }
  ),
  options: Schema.optionalWith(Options, { exact: true, default: () => Options.make({}) }),
  local: Schema.optionalWith(Schema.Record({ key: ImageRef.ImageRef, value: LocalCommand }), {
    exact: true,
    default: () => ({})
  })
})
