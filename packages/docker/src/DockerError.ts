/**
 * The typed errors of the `DockerEngine` service. Each names the resource it is about and says
 * what to do; no raw SDK error escapes the service.
 *
 * @since 0.1.0
 */
import { InputError } from "@armada/core"

export type { InputError }

import { Schema } from "effect"

/**
 * @since 0.1.0
 * @category errors
 */
export class EngineUnreachable extends Schema.TaggedError<EngineUnreachable>(
  "@armada/docker/EngineUnreachable"
)("EngineUnreachable", { address: Schema.String, detail: Schema.String }) {
  override get message(): string {
    return `cannot reach the Docker engine at ${this.address} (${this.detail}); start one (e.g. \`dockerd\` or Docker Desktop) or point DOCKER_HOST at a running engine`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class ImageNotFound extends Schema.TaggedError<ImageNotFound>("@armada/docker/ImageNotFound")(
  "ImageNotFound",
  { image: Schema.String, detail: Schema.optional(Schema.String) }
) {
  override get message(): string {
    return `image ${this.image} is not present${this.detail === undefined ? "" : ` (${this.detail})`}; build or pull it first`
  }
}

/**
 * A pull that could not complete: no registry reachable, unknown image, or an error reported in
 * the middle of the progress stream.
 *
 * @since 0.1.0
 * @category errors
 */
export class PullFailed extends Schema.TaggedError<PullFailed>("@armada/docker/PullFailed")("PullFailed", {
  image: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `pulling ${this.image} failed: ${this.detail}`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class ContainerNotFound extends Schema.TaggedError<ContainerNotFound>(
  "@armada/docker/ContainerNotFound"
)("ContainerNotFound", { container: Schema.String }) {
  override get message(): string {
    return `container ${this.container} does not exist`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class VolumeNotFound extends Schema.TaggedError<VolumeNotFound>("@armada/docker/VolumeNotFound")(
  "VolumeNotFound",
  { volume: Schema.String }
) {
  override get message(): string {
    return `volume ${this.volume} does not exist`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class NetworkNotFound extends Schema.TaggedError<NetworkNotFound>("@armada/docker/NetworkNotFound")(
  "NetworkNotFound",
  { network: Schema.String }
) {
  override get message(): string {
    return `network ${this.network} does not exist`
  }
}

/**
 * A 409 from the engine: the name is already taken.
 *
 * @since 0.1.0
 * @category errors
 */
export class NameConflict extends Schema.TaggedError<NameConflict>("@armada/docker/NameConflict")(
  "NameConflict",
  {
    kind: Schema.Literal("container", "volume", "network"),
    name: Schema.String
  }
) {
  override get message(): string {
    return `a ${this.kind} named ${this.name} already exists; remove it (\`armada clean\`) or use another session id`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class VolumeInUse extends Schema.TaggedError<VolumeInUse>("@armada/docker/VolumeInUse")(
  "VolumeInUse",
  {
    volume: Schema.String
  }
) {
  override get message(): string {
    return `volume ${this.volume} is still used by a container; remove the container first`
  }
}

/**
 * Anything else the engine answered with: the operation, the resource, the HTTP status when
 * there was one, and the engine's own message.
 *
 * @since 0.1.0
 * @category errors
 */
export class EngineError extends Schema.TaggedError<EngineError>("@armada/docker/EngineError")(
  "EngineError",
  {
    operation: Schema.String,
    resource: Schema.String,
    status: Schema.optional(Schema.Number),
    detail: Schema.String
  }
) {
  override get message(): string {
    return `${this.operation} ${this.resource} failed${this.status === undefined ? "" : ` (HTTP ${this.status})`}: ${this.detail}`
  }
}

/**
 * A tar archive that could not be packed, read or extracted: an entry that would land outside
 * the target (`UnsafeEntry`), an archive that is not valid tar (`Malformed`), or a host I/O
 * failure (`Io`). `path` is the entry or host path it is about.
 *
 * @since 0.1.0
 * @category errors
 */
export class ArchiveError extends Schema.TaggedError<ArchiveError>("@armada/docker/ArchiveError")(
  "ArchiveError",
  {
    reason: Schema.Literal("UnsafeEntry", "Malformed", "Io"),
    path: Schema.String,
    detail: Schema.String
  }
) {
  override get message(): string {
    if (this.reason === "UnsafeEntry") return `refused archive entry ${this.path}: ${this.detail}`
    if (this.reason === "Malformed") return `not a valid tar archive (${this.path}): ${this.detail}`
    return `${this.path}: ${this.detail}`
  }
}

/**
 * Every error of the `DockerEngine` service. `InputError` (from `@armada/core`) is how every
 * implementation refuses a bad name, image reference, path or option before it reaches an engine.
 *
 * @since 0.1.0
 * @category errors
 */
export type DockerError =
  | InputError
  | EngineUnreachable
  | ImageNotFound
  | PullFailed
  | ContainerNotFound
  | VolumeNotFound
  | NetworkNotFound
  | NameConflict
  | VolumeInUse
  | EngineError

/**
 * @since 0.1.0
 * @category schemas
 */
export const DockerError = Schema.Union(
  InputError,
  EngineUnreachable,
  ImageNotFound,
  PullFailed,
  ContainerNotFound,
  VolumeNotFound,
  NetworkNotFound,
  NameConflict,
  VolumeInUse,
  EngineError
)
