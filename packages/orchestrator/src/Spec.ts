/**
 * The pipeline spec: what to run, on which template, with which options. Written as YAML or JSON,
 * decoded with `Schema`; every problem is reported with its path
 * (`processors[2].image: expected an image reference, got "Not An Image"`).
 *
 * ```yaml
 * template: ./template          # relative to the spec file
 * processors:
 *   - { id: upper, image: acme/upper:1, globs: [{ glob: "**", type: template }], config: { x: 1 } }
 * plugins:
 *   - { id: license, image: acme/license:1 }
 * options: { concurrency: 8, timeouts: { ready: 30s, call: 2m }, limits: { memory: 256m, cpus: 0.5 } }
 * ```
 *
 * @since 0.1.0
 */
import { isAbsolute, resolve } from "node:path"
import { ImageRef, Names } from "@armada/core"
import { Protocol } from "@armada/http"
import { FileSystem } from "@effect/platform"
import { Array as Arr, Duration, Effect, Either, ParseResult, Random, Record, Schema } from "effect"
import * as Yaml from "yaml"
import * as issues from "./internal/issues.js"
import { SpecError } from "./OrchestratorError.js"

const units: Record<string, number> = {
  ms: 1,
  millis: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000
}

const durationMessage =
  'expected a duration: milliseconds, or a number with a unit such as "30s", "2m", "500ms"'

/**
 * A duration: a number of milliseconds, or a string such as `"30s"`, `"2 minutes"`, `"500ms"`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DurationInput = Schema.transformOrFail(
  Schema.Union(Schema.Number, Schema.String),
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (input, _, ast) => {
      const millis = typeof input === "number" ? input : parseDuration(input)
      return millis !== undefined && Number.isFinite(millis) && millis > 0
        ? ParseResult.succeed(Duration.millis(millis))
        : ParseResult.fail(
            new ParseResult.Type(ast, input, `${durationMessage}, got ${JSON.stringify(input)}`)
          )
    },
    encode: (duration) => ParseResult.succeed(Duration.toMillis(duration))
  }
).annotations({ identifier: "DurationInput", description: "a duration" })

const parseDuration = (text: string): number | undefined => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  if (match === null) return undefined
  const unit = match[2]!.toLowerCase()
  const factor = unit === "" ? 1 : units[unit]
  return factor === undefined ? undefined : Number(match[1]) * factor
}

const byteUnits: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3
}

/**
 * A memory size: bytes, or a string such as `"512m"`, `"1g"`, `"256MiB"` (powers of 1024, as
 * `docker run --memory` reads them).
 *
 * @since 0.1.0
 * @category schemas
 */
export const MemorySize = Schema.transformOrFail(Schema.Union(Schema.Number, Schema.String), Schema.Number, {
  strict: true,
  decode: (input, _, ast) => {
    const match = typeof input === "string" ? /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(input) : null
    const factor = match === null ? undefined : byteUnits[match[2]!.toLowerCase()]
    const bytes =
      typeof input === "number" ? input : factor === undefined ? undefined : Number(match![1]) * factor
    return bytes !== undefined && Number.isSafeInteger(Math.floor(bytes)) && bytes >= 6 * 1024 ** 2
      ? ParseResult.succeed(Math.floor(bytes))
      : ParseResult.fail(
          new ParseResult.Type(
            ast,
            input,
            `expected a memory size of at least 6m, such as 268435456 or "256m", got ${JSON.stringify(input)}`
          )
        )
  },
  encode: ParseResult.succeed
}).annotations({ identifier: "MemorySize", description: "a memory size" })

/**
 * @since 0.1.0
 * @category schemas
 */
export const Concurrency = Schema.Union(
  Schema.Int.pipe(Schema.positive()),
  Schema.Literal("cpus")
).annotations({
  identifier: "Concurrency",
  message: (issue) => `expected a positive integer or "cpus", got ${JSON.stringify(issue.actual)}`
})

/**
 * Environment variables of a container: names to string values.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Env = Schema.Record({
  key: Schema.String.pipe(
    Schema.pattern(/^[A-Za-z_][A-Za-z0-9_]*$/, {
      message: (issue) => `expected an environment variable name, got ${JSON.stringify(issue.actual)}`
    })
  ),
  value: Schema.String
})

/**
 * The image armada's own merger runs by default: the reference test app.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMergerImage: ImageRef.ImageRef = ImageRef.ImageRef.make("armada/test-app:dev")

/**
 * @since 0.1.0
 * @category schemas
 */
export const Processor = Schema.Struct({
  id: Names.Id,
  image: ImageRef.ImageRef,
  config: Schema.optionalWith(Schema.Unknown, { exact: true, default: () => ({}) }),
  globs: Schema.optionalWith(Schema.Array(Protocol.Glob), { exact: true, default: () => [] }),
  env: Schema.optionalWith(Env, { exact: true, default: () => ({}) })
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Processor extends Schema.Schema.Type<typeof Processor> {}

/**
 * @since 0.1.0
 * @category schemas
 */
export const Plugin = Schema.Struct({
  id: Names.Id,
  image: ImageRef.ImageRef,
  config: Schema.optionalWith(Schema.Unknown, { exact: true, default: () => ({}) }),
  env: Schema.optionalWith(Env, { exact: true, default: () => ({}) })
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Plugin extends Schema.Schema.Type<typeof Plugin> {}

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

/**
 * Per-container resource limits: `memory` (bytes or `"256m"`), `cpus` (a fraction of a CPU, as
 * `docker run --cpus`), `pids` (the most processes).
 *
 * @since 0.1.0
 * @category schemas
 */
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

/**
 * @since 0.1.0
 * @category models
 */
export interface Limits extends Schema.Schema.Type<typeof Limits> {}

/**
 * @since 0.1.0
 * @category schemas
 */
export const Timeouts = Schema.Struct({
  /** How long a container may take to answer its health check. */
  ready: Schema.optionalWith(DurationInput, { exact: true, default: () => Duration.seconds(60) }),
  /** How long one processor, merger or plugin call may take. */
  call: Schema.optionalWith(DurationInput, { exact: true, default: () => Duration.minutes(5) })
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const Options = Schema.Struct({
  /** At most this many containers started, and processors called, at once. */
  concurrency: Schema.optionalWith(Concurrency, { exact: true, default: () => "cpus" as const }),
  /** The prefix of every name and label. */
  prefix: Schema.optionalWith(Names.Prefix, { exact: true, default: () => Names.defaultPrefix }),
  /** Leave the containers and volumes in place after the run (for debugging; `clean` removes them). */
  keep: Schema.optionalWith(Schema.Boolean, { exact: true, default: () => false }),
  timeouts: Schema.optionalWith(Timeouts, { exact: true, default: () => Timeouts.make({}) }),
  limits: Schema.optionalWith(Limits, { exact: true, default: () => ({}) })
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends Schema.Schema.Type<typeof Options> {}

/**
 * For the no-Docker engine: the command that stands in for an image. Words that start with `./`
 * or `../` are paths relative to the spec's directory; `decode` makes them absolute.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LocalCommand = Schema.Struct({ command: Schema.NonEmptyArray(Schema.String) })

/**
 * The spec as written in a file. `session` and `templateId` may be left out; `decode` fills them.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SpecFile = Schema.Struct({
  session: Schema.optionalWith(Names.Id, { exact: true }),
  template: Schema.String.pipe(
    Schema.minLength(1, { message: () => "expected the path of the template directory, got an empty string" })
  ),
  templateId: Schema.optionalWith(Names.Id, { exact: true }),
  processors: Schema.optionalWith(uniqueIds(Schema.Array(Processor)), { exact: true, default: () => [] }),
  plugins: Schema.optionalWith(uniqueIds(Schema.Array(Plugin)), { exact: true, default: () => [] }),
  merger: Schema.optionalWith(
    Schema.Struct({
      image: Schema.optionalWith(ImageRef.ImageRef, { exact: true, default: () => defaultMergerImage })
    }),
    { exact: true, default: () => ({ image: defaultMergerImage }) }
  ),
  options: Schema.optionalWith(Options, { exact: true, default: () => Options.make({}) }),
  local: Schema.optionalWith(Schema.Record({ key: ImageRef.ImageRef, value: LocalCommand }), {
    exact: true,
    default: () => ({})
  })
})

/**
 * A decoded spec, ready to run: the session id chosen, the template an absolute path, its id
 * known, and every option defaulted.
 *
 * @since 0.1.0
 * @category models
 */
export interface Spec {
  readonly session: Names.Id
  /** An absolute path. */
  readonly template: string
  readonly templateId: Names.Id
  readonly processors: ReadonlyArray<Processor>
  readonly plugins: ReadonlyArray<Plugin>
  readonly merger: { readonly image: ImageRef.ImageRef }
  readonly options: Options
  /** The catalog of the no-Docker engine: image → command. Carried through untouched. */
  readonly local: Readonly<Record<string, typeof LocalCommand.Type>>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface DecodeOptions {
  /** Relative paths (the template, `./` words of local commands) are resolved against this directory (the spec file's). */
  readonly baseDir: string
  /** Named in errors: the spec file. */
  readonly source?: string | undefined
}

/**
 * Decodes a spec from parsed YAML or JSON (or an object built in code). Every problem is listed
 * in the `SpecError`. A missing session id is generated (8 random lower-case letters and
 * digits); a missing `templateId` comes from the template directory's name.
 *
 * @since 0.1.0
 * @category constructors
 */
export const decode = (input: unknown, options: DecodeOptions): Effect.Effect<Spec, SpecError> =>
  Effect.gen(function* () {
    const fail = (found: ReadonlyArray<{ readonly path: string; readonly message: string }>) =>
      new SpecError({
        ...(options.source === undefined ? {} : { source: options.source }),
        issues: Arr.isNonEmptyReadonlyArray(found) ? found : [{ path: "", message: "invalid spec" }]
      })
    const decoded = Schema.decodeUnknownEither(SpecFile, { errors: "all", onExcessProperty: "error" })(input)
    if (Either.isLeft(decoded)) return yield* fail(issues.fromParseError(decoded.left))
    const file = decoded.right
    const template = isAbsolute(file.template) ? file.template : resolve(options.baseDir, file.template)
    const templateId =
      file.templateId ?? Names.sanitizeId(template.split(/[\\/]/).filter(Boolean).at(-1) ?? "")
    if (templateId === undefined) {
      return yield* fail([
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
      merger: file.merger,
      options: file.options,
      local: Record.map(file.local, (entry) => ({
        command: Arr.map(entry.command, (word) =>
          /^\.\.?\//.test(word) ? resolve(options.baseDir, word) : word
        )
      }))
    }
  })

/**
 * Parses YAML or JSON text, then decodes it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parse = (
  text: string,
  options: DecodeOptions & { readonly format: "yaml" | "json" }
): Effect.Effect<Spec, SpecError> =>
  Effect.try({
    try: () => (options.format === "json" ? JSON.parse(text) : Yaml.parse(text)) as unknown,
    catch: (error) =>
      new SpecError({
        ...(options.source === undefined ? {} : { source: options.source }),
        issues: [{ path: "", message: `not valid ${options.format.toUpperCase()}: ${describeError(error)}` }]
      })
  }).pipe(Effect.flatMap((input) => decode(input, options)))

/**
 * Reads a spec file (`.json` as JSON, anything else as YAML), decodes it with relative paths
 * resolved against the file's directory, and checks that the template directory exists.
 *
 * @since 0.1.0
 * @category constructors
 */
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

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

/**
 * A fresh session id: a letter, then 7 letters or digits.
 *
 * @since 0.1.0
 * @category constructors
 */
export const generateSessionId: Effect.Effect<Names.Id> = Effect.map(
  Effect.all(Array.from({ length: 8 }, (_, i) => Random.nextIntBetween(0, i === 0 ? 26 : alphabet.length))),
  (indices) => Names.Id.make(indices.map((i) => alphabet[i]).join(""))
)

const describeError = (error: unknown): string => (error instanceof Error ? error.message : String(error))
