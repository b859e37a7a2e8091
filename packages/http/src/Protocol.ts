/**
 * The payloads of the container protocol (PROTOCOL.md), as `Schema`s shared by the client and the
 * reference test app.
 *
 * @since 0.1.0
 */
import { posix } from "node:path"
import { Option, Schema } from "effect"

/**
 * The ports each role listens on.
 *
 * @since 0.1.0
 * @category constants
 */
export const ports = { processor: 5551, plugin: 5552, merger: 9000, resolver: 5553 } as const

/**
 * Where the template volume is mounted.
 *
 * @since 0.1.0
 * @category constants
 */
export const templateDir = "/workspace/cyanprint"

/**
 * Where the session volume is mounted; every output dir must lie below it.
 *
 * @since 0.1.0
 * @category constants
 */
export const areaDir = "/workspace/area"

/**
 * The normalised form of `path` (`..` and `.` resolved, POSIX rules) when it lies strictly below
 * `areaDir`; `None` for anything else: relative paths, `/workspace/area` itself, or paths that
 * climb out of it (`/workspace/area/x/../../etc`).
 *
 * @since 0.1.0
 * @category validation
 */
export const insideArea = (path: string): Option.Option<string> => {
  if (!posix.isAbsolute(path)) return Option.none()
  const normalised = posix.normalize(path).replace(/\/+$/, "")
  return normalised.startsWith(`${areaDir}/`) ? Option.some(normalised) : Option.none()
}

/**
 * @since 0.1.0
 * @category schemas
 */
export const GlobType = Schema.Literal("template", "copy")

/**
 * @since 0.1.0
 * @category schemas
 */
export class Glob extends Schema.Class<Glob>("Glob")({
  root: Schema.optional(Schema.NullOr(Schema.String)),
  glob: Schema.String,
  exclude: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  type: GlobType
}) {}

/**
 * @since 0.1.0
 * @category schemas
 */
export const JsonConfig = Schema.Unknown

/**
 * @since 0.1.0
 * @category schemas
 */
export class ProcessRequest extends Schema.Class<ProcessRequest>("ProcessRequest")({
  readDir: Schema.String,
  writeDir: Schema.String,
  globs: Schema.Array(Glob),
  config: JsonConfig
}) {}

/**
 * @since 0.1.0
 * @category schemas
 */
export class ProcessResponse extends Schema.Class<ProcessResponse>("ProcessResponse")({
  outputDir: Schema.String
}) {}

/**
 * @since 0.1.0
 * @category schemas
 */
export class PlugRequest extends Schema.Class<PlugRequest>("PlugRequest")({
  directory: Schema.String,
  config: JsonConfig
}) {}

/**
 * Plugins may answer with an empty body; then `outputDir` is absent.
 *
 * @since 0.1.0
 * @category schemas
 */
export class PlugResponse extends Schema.Class<PlugResponse>("PlugResponse")({
  outputDir: Schema.optional(Schema.String)
}) {}

/**
 * @since 0.1.0
 * @category schemas
 */
export class MergeRequest extends Schema.Class<MergeRequest>("MergeRequest")({
  fromDirs: Schema.Array(Schema.String),
  toDir: Schema.String
}) {}

/**
 * @since 0.1.0
 * @category schemas
 */
export class MergeResponse extends Schema.Class<MergeResponse>("MergeResponse")({
  status: Schema.Literal("ok"),
  files: Schema.Number,
  conflicts: Schema.Array(Schema.String)
}) {}

/**
 * Where one version of a conflicting file came from: the processor that wrote it (`template`, its
 * id) and its place in declared order (`layer`, 0 = first).
 *
 * @since 0.2.0
 * @category schemas
 */
export class FileOrigin extends Schema.Class<FileOrigin>("FileOrigin")({
  template: Schema.String,
  layer: Schema.Number
}) {}

/**
 * One version of a conflicting file: its path relative to the merge dir, its text, its origin.
 *
 * @since 0.2.0
 * @category schemas
 */
export class FileVersion extends Schema.Class<FileVersion>("FileVersion")({
  path: Schema.String,
  content: Schema.String,
  origin: FileOrigin
}) {}

/**
 * A resolver's work: every version of ONE file that two or more processors wrote, in declared
 * order, and the resolver's `config` from the spec.
 *
 * @since 0.2.0
 * @category schemas
 */
export class ResolveRequest extends Schema.Class<ResolveRequest>("ResolveRequest")({
  config: JsonConfig,
  files: Schema.Array(FileVersion)
}) {}

/**
 * The resolved file: the same `path` as the versions, and its text.
 *
 * @since 0.2.0
 * @category schemas
 */
export class ResolveResponse extends Schema.Class<ResolveResponse>("ResolveResponse")({
  path: Schema.String,
  content: Schema.String
}) {}

/**
 * The merger's file endpoints (docs/protocol.md, "Files through the merger"): `PUT` with a tar body
 * extracts it into the directory `?dir=`; `GET ?path=` answers that path as a tar, its entries
 * under the path's base name as Docker's archive API gives them.
 *
 * @since 0.3.0
 * @category constants
 */
export const filesPath = "/files"

/**
 * The most bytes the merger takes in one `PUT /files` body (an uncompressed tar, so it also bounds
 * what is unpacked) and gives in one `GET /files` answer, unless it is told otherwise.
 *
 * @since 0.3.0
 * @category constants
 */
export const defaultMaxFileBytes = 512 * 1024 * 1024

/**
 * Where the merger's file endpoints may read and write: the template dir and what lies below it,
 * and anything strictly below the session area; `None` for anything else.
 *
 * @since 0.3.0
 * @category validation
 */
export const fileRoot = (path: string): Option.Option<string> => {
  if (!posix.isAbsolute(path)) return Option.none()
  const normalised = posix.normalize(path).replace(/(.)\/+$/, "$1")
  return normalised === templateDir || normalised.startsWith(`${templateDir}/`)
    ? Option.some(normalised)
    : normalised === areaDir
      ? Option.some(normalised)
      : insideArea(normalised)
}

/**
 * The answer to a `PUT /files`: what was extracted.
 *
 * @since 0.3.0
 * @category schemas
 */
export class FilesPutResponse extends Schema.Class<FilesPutResponse>("FilesPutResponse")({
  files: Schema.Number,
  directories: Schema.Number,
  symlinks: Schema.Number
}) {}

/**
 * Why a file endpoint refused: `UnsafeEntry` (an entry would land outside its directory),
 * `Malformed` (no tar), `Io` (a file operation failed), `TooLarge` (over the bound: status 413),
 * `NotFound` (404), `Forbidden` (a directory outside `fileRoot`: 403).
 *
 * @since 0.3.0
 * @category schemas
 */
export const FilesFailureReason = Schema.Literal(
  "UnsafeEntry",
  "Malformed",
  "Io",
  "TooLarge",
  "NotFound",
  "Forbidden"
)

/**
 * The body of a refusal by a file endpoint: the reason, the path it is about and what was wrong.
 *
 * @since 0.3.0
 * @category schemas
 */
export class FilesFailure extends Schema.Class<FilesFailure>("FilesFailure")({
  reason: FilesFailureReason,
  path: Schema.String,
  detail: Schema.String
}) {}
