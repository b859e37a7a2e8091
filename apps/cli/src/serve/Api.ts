/**
 * The HTTP API of `armada serve`, as an `HttpApi`: every endpoint's path, payload, answers and
 * errors are Schemas, so the server decodes with them, `armada run --server` encodes with them, and
 * the OpenAPI document (`GET /openapi.json`) comes from them.
 *
 * @since 0.3.0
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, Multipart } from "@effect/platform"
import { Option, Schema } from "effect"
import * as Report from "../Report.js"

/**
 * The largest request body (the template archive and the spec together), 64 MiB.
 *
 * @since 0.3.0
 * @category constants
 */
export const maxBodyBytes = 64 * 1024 * 1024

/**
 * The largest spec, 1 MiB.
 *
 * @since 0.3.0
 * @category constants
 */
export const maxSpecBytes = 1024 * 1024

/**
 * A spec that `Spec.parse` refused: each issue with its path, as the CLI prints them.
 *
 * @since 0.3.0
 * @category errors
 */
export class BadSpec extends Schema.TaggedError<BadSpec>()(
  "BadSpec",
  {
    message: Schema.String,
    issues: Schema.Array(Schema.Struct({ path: Schema.String, message: Schema.String }))
  },
  HttpApiSchema.annotations({ status: 400 })
) {}

/**
 * A template archive that is not a gzip'd tar, or has an entry that would land outside its
 * folder (an absolute path, `..`, a link pointing out): nothing of it was kept.
 *
 * @since 0.3.0
 * @category errors
 */
export class BadTemplate extends Schema.TaggedError<BadTemplate>()(
  "BadTemplate",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 400 })
) {}

/**
 * A template path the server does not take: it allows none (no `--allow-template-dir`), or the
 * path lies outside every folder it allows (also through a symbolic link).
 *
 * @since 0.3.0
 * @category errors
 */
export class TemplateNotAllowed extends Schema.TaggedError<TemplateNotAllowed>()(
  "TemplateNotAllowed",
  { path: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 403 })
) {}

/**
 * A request that could not be read as one: a malformed multipart body, or more parts than a run has.
 *
 * @since 0.3.0
 * @category errors
 */
export class BadRequest extends Schema.TaggedError<BadRequest>()(
  "BadRequest",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 400 })
) {}

/**
 * A request over a limit: its body (declared or as it came), the spec, the number of parts.
 *
 * @since 0.3.0
 * @category errors
 */
export class TooLarge extends Schema.TaggedError<TooLarge>()(
  "TooLarge",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 413 })
) {}

/**
 * @since 0.3.0
 * @category errors
 */
export class RunNotFound extends Schema.TaggedError<RunNotFound>()(
  "RunNotFound",
  { id: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {}

/**
 * The run has no output (yet): it is running, or it failed.
 *
 * @since 0.3.0
 * @category errors
 */
export class NoOutput extends Schema.TaggedError<NoOutput>()(
  "NoOutput",
  { id: Schema.String, status: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 409 })
) {}

/**
 * The server is stopping: it takes no new run.
 *
 * @since 0.3.0
 * @category errors
 */
export class ShuttingDown extends Schema.TaggedError<ShuttingDown>()(
  "ShuttingDown",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 503 })
) {}

/**
 * A run's state: `running`, or the outcome of the CLI's `Result` (then `result` is that document).
 *
 * @since 0.3.0
 * @category schemas
 */
export const RunStatus = Schema.Literal("running", ...Report.Outcome.literals)

/**
 * @since 0.3.0
 * @category schemas
 */
export const RunInfo = Schema.Struct({
  id: Schema.String,
  session: Schema.String,
  status: RunStatus,
  /** Which pooled set the run used, once it has one. */
  pool: Schema.optional(Schema.Struct({ key: Schema.String, set: Schema.String, reused: Schema.Boolean })),
  result: Schema.optional(Report.Document)
})

/**
 * @since 0.3.0
 * @category models
 */
export type RunInfo = typeof RunInfo.Type

/**
 * @since 0.3.0
 * @category schemas
 */
export const SetInfo = Schema.Struct({
  key: Schema.String,
  id: Schema.String,
  templateId: Schema.String,
  images: Schema.Array(Schema.String),
  status: Schema.Literal("idle", "busy"),
  uses: Schema.Number,
  containers: Schema.Number,
  createdAt: Schema.String,
  lastUsed: Schema.String
})

/**
 * @since 0.3.0
 * @category schemas
 */
export const Pools = Schema.Struct({
  maxSets: Schema.Number,
  sets: Schema.Array(SetInfo),
  stats: Schema.Struct({
    hits: Schema.Number,
    misses: Schema.Number,
    replaced: Schema.Number,
    discarded: Schema.Number,
    expired: Schema.Number,
    live: Schema.Number
  })
})

/**
 * `POST /runs`, multipart: `spec` (the spec file's text), `format` (`yaml` or `json`), and either
 * `template` (the template folder as a `.tar.gz`) or `templatePath` (the template folder's absolute
 * path on the server's machine, taken when the server allows it: `--allow-template-dir`).
 *
 * @since 0.3.0
 * @category schemas
 */
export const NewRun = HttpApiSchema.Multipart(
  Schema.Struct({
    spec: Schema.String,
    format: Schema.Literal("yaml", "json"),
    template: Schema.optional(Multipart.SingleFileSchema),
    templatePath: Schema.optional(Schema.String)
  }),
  {
    maxParts: Option.some(3),
    maxFieldSize: maxSpecBytes,
    maxFileSize: Option.some(maxBodyBytes),
    maxTotalSize: Option.some(maxBodyBytes)
  }
)

const idPath = Schema.Struct({ id: Schema.String })

/**
 * @since 0.3.0
 * @category api
 */
export const Runs = HttpApiGroup.make("runs")
  .add(
    HttpApiEndpoint.post("create", "/runs")
      .setPayload(NewRun)
      .addSuccess(RunInfo, { status: 201 })
      .addError(BadSpec)
      .addError(BadTemplate)
      .addError(TemplateNotAllowed)
      .addError(BadRequest)
      .addError(TooLarge)
      .addError(ShuttingDown)
  )
  .add(HttpApiEndpoint.get("get", "/runs/:id").setPath(idPath).addSuccess(RunInfo).addError(RunNotFound))
  .add(
    HttpApiEndpoint.get("events", "/runs/:id/events")
      .setPath(idPath)
      .addSuccess(HttpApiSchema.Text({ contentType: "application/x-ndjson" }))
      .addError(RunNotFound)
  )
  .add(
    HttpApiEndpoint.get("output", "/runs/:id/output")
      .setPath(idPath)
      .addSuccess(HttpApiSchema.Uint8Array({ contentType: "application/gzip" }))
      .addError(RunNotFound)
      .addError(NoOutput)
  )
  .add(HttpApiEndpoint.del("delete", "/runs/:id").setPath(idPath).addSuccess(RunInfo).addError(RunNotFound))

/**
 * @since 0.3.0
 * @category api
 */
export const PoolsGroup = HttpApiGroup.make("pools")
  .add(HttpApiEndpoint.get("list", "/pools").addSuccess(Pools))
  .add(
    HttpApiEndpoint.del("remove", "/pools/:key")
      .setPath(Schema.Struct({ key: Schema.String }))
      .addSuccess(Schema.Struct({ removed: Schema.Number }))
  )

/**
 * @since 0.3.0
 * @category api
 */
export const Service = HttpApiGroup.make("service")
  .add(HttpApiEndpoint.get("health", "/healthz").addSuccess(Schema.Struct({ status: Schema.Literal("ok") })))
  .add(
    HttpApiEndpoint.get("metrics", "/metrics").addSuccess(
      HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4" })
    )
  )

/**
 * @since 0.3.0
 * @category api
 */
export const Api = HttpApi.make("armada").add(Runs).add(PoolsGroup).add(Service)
