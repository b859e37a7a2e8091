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
