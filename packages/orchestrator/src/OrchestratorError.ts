/**
 * The typed errors of the orchestrator. A stage that fails says which stage it was and carries
 * every item's failure, each naming the item, its image and the typed cause it failed with
 * (an engine or archive error, a container that was never ready or exited, a bad answer, a
 * timeout...).
 * They are `Schema.TaggedError`s, so the CLI can print them as JSON without losing anything.
 *
 * @since 0.1.0
 */
import { ContainerEngineError } from "@armada/engine"
import { ProcessorError, Protocol } from "@armada/http"
import { Schema } from "effect"

/**
 * A problem in a pipeline spec: where (`processors[2].image`) and what was expected.
 *
 * @since 0.1.0
 * @category models
 */
export const SpecIssue = Schema.Struct({ path: Schema.String, message: Schema.String })

/**
 * @since 0.1.0
 * @category models
 */
export type SpecIssue = typeof SpecIssue.Type

/**
 * The spec could not be read or decoded; every problem found is listed.
 *
 * @since 0.1.0
 * @category errors
 */
export class SpecError extends Schema.TaggedError<SpecError>("@armada/orchestrator/SpecError")("SpecError", {
  /** The spec file, when the spec came from one. */
  source: Schema.optionalWith(Schema.String, { exact: true }),
  issues: Schema.NonEmptyArray(SpecIssue)
}) {
  override get message(): string {
    const where = this.source === undefined ? "" : `${this.source}: `
    return `${where}invalid pipeline spec:\n${this.issues.map((issue) => `  ${formatIssue(issue)}`).join("\n")}`
  }
}

/**
 * `path: message`, or the message alone for a problem with the spec as a whole.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatIssue = (issue: SpecIssue): string =>
  issue.path === "" ? issue.message : `${issue.path}: ${issue.message}`

/**
 * Something that should not happen (a thrown exception, a bug), kept with the item it hit rather
 * than crashing the whole stage.
 *
 * @since 0.1.0
 * @category errors
 */
export class Defect extends Schema.TaggedError<Defect>("@armada/orchestrator/Defect")("Defect", {
  defect: Schema.Defect
}) {
  override get message(): string {
    const defect = this.defect
    return `unexpected failure: ${defect instanceof Error ? defect.message : String(defect)}`
  }
}

/**
 * A file two or more processors wrote is matched by the `files` globs of more than one resolver:
 * armada does not guess which one settles it.
 *
 * @since 0.2.0
 * @category errors
 */
export class AmbiguousResolvers extends Schema.TaggedError<AmbiguousResolvers>(
  "@armada/orchestrator/AmbiguousResolvers"
)("AmbiguousResolvers", {
  path: Schema.String,
  resolvers: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `${this.path} is matched by ${this.resolvers.length} resolvers (${this.resolvers.join(", ")}); exactly one may settle a conflicting file`
  }
}

/**
 * Files moved through the merger (`PUT`/`GET /files`, used when the engine has no archive API or
 * `ARMADA_FILES=merger` asks for it) were refused: `container` is the merger's name, `path` the
 * directory or file inside it, `reason` and `entry` what the merger named (an archive entry for
 * `UnsafeEntry`, the path itself otherwise), `status` its HTTP status (413 for `TooLarge`).
 *
 * @since 0.3.0
 * @category errors
 */
export class FileTransferFailed extends Schema.TaggedError<FileTransferFailed>(
  "@armada/orchestrator/FileTransferFailed"
)("FileTransferFailed", {
  container: Schema.String,
  direction: Schema.Literal("in", "out"),
  path: Schema.String,
  status: Schema.Number,
  reason: Protocol.FilesFailureReason,
  entry: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    const where = this.direction === "in" ? `into ${this.path}` : `out of ${this.path}`
    const entry = this.entry === this.path ? "" : ` at ${this.entry}`
    return `${this.container} refused files ${where} (HTTP ${this.status}, ${this.reason}${entry}): ${this.detail}`
  }
}

/**
 * @since 0.1.0
 * @category schemas
 */
export interface CauseSchema
  extends Schema.Union<
    [
      typeof ContainerEngineError.ContainerEngineError,
      typeof ContainerEngineError.ArchiveError,
      typeof ProcessorError.ProcessorError,
      typeof AmbiguousResolvers,
      typeof FileTransferFailed,
      typeof Defect
    ]
  > {}

/**
 * Why one item failed, still typed.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Cause: CauseSchema = Schema.Union(
  ContainerEngineError.ContainerEngineError,
  ContainerEngineError.ArchiveError,
  ProcessorError.ProcessorError,
  AmbiguousResolvers,
  FileTransferFailed,
  Defect
)

/**
 * @since 0.1.0
 * @category models
 */
export type Cause = typeof Cause.Type

/**
 * The stages of a run, in order.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Stage = Schema.Literal("warm", "start", "process", "merge", "plug", "export", "clean")

/**
 * @since 0.1.0
 * @category models
 */
export type Stage = typeof Stage.Type

/**
 * What an item of a stage is: a pipeline role, one of the session's shared resources, or a
 * conflicting `file` of the merge (its id is the path).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ItemKind = Schema.Literal(
  "processor",
  "plugin",
  "merger",
  "resolver",
  "template",
  "volume",
  "network",
  "file"
)

/**
 * @since 0.1.0
 * @category models
 */
export type ItemKind = typeof ItemKind.Type

/**
 * One item's failure: the stage, the item (its kind and id: a processor, plugin or resolver id,
 * `merger`, a volume or network name, or a conflicting file's path), the image it runs when it has
 * one, and the typed cause.
 *
 * @since 0.1.0
 * @category models
 */
export class ItemFailure extends Schema.Class<ItemFailure>("@armada/orchestrator/ItemFailure")({
  stage: Stage,
  kind: ItemKind,
  id: Schema.String,
  image: Schema.optionalWith(Schema.String, { exact: true }),
  cause: Cause
}) {
  /**
   * `process p3 (acme/p:1): <the cause's message>`
   */
  get message(): string {
    const image = this.image === undefined ? "" : ` (${this.image})`
    return `${this.stage} ${this.kind} ${this.id}${image}: ${this.cause.message}`
  }
}

/**
 * A stage failed. `failures` holds every item that failed, in declared order; `skipped` names
 * the items the stage did not run because of them (plugins after the first failing one).
 *
 * @since 0.1.0
 * @category errors
 */
export class StageFailed extends Schema.TaggedError<StageFailed>("@armada/orchestrator/StageFailed")(
  "StageFailed",
  {
    session: Schema.String,
    stage: Stage,
    failures: Schema.NonEmptyArray(ItemFailure),
    skipped: Schema.Array(Schema.String)
  }
) {
  override get message(): string {
    const count = this.failures.length === 1 ? "1 failure" : `${this.failures.length} failures`
    const skipped = this.skipped.length === 0 ? "" : `\n  skipped: ${this.skipped.join(", ")}`
    return `session ${this.session}: stage ${this.stage} failed (${count}):\n${this.failures
      .map((failure) => `  ${failure.message}`)
      .join("\n")}${skipped}`
  }
}
