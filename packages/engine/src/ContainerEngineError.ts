/**
 * The typed errors of the `ContainerEngine` service, whichever engine is behind it. Each names the
 * resource it is about and says what to do; no raw SDK or host error escapes the service.
 *
 * @since 0.1.0
 */
import { InputError } from "@armada/core"

export type { InputError }

import { Schema } from "effect"

/** A Docker address (`unix://`, `tcp://`, a socket path) gets Docker's advice. */
const isDockerAddress = (address: string): boolean => /^(?:unix|tcp):\/\/|^\//.test(address)

/**
 * @since 0.1.0
 * @category errors
 */
export class EngineUnreachable extends Schema.TaggedError<EngineUnreachable>(
  "@armada/engine/EngineUnreachable"
)("EngineUnreachable", { address: Schema.String, detail: Schema.String }) {
  override get message(): string {
    return isDockerAddress(this.address)
      ? `cannot reach the Docker engine at ${this.address} (${this.detail}); start one (e.g. \`dockerd\` or Docker Desktop) or point DOCKER_HOST at a running engine`
      : `cannot reach the container engine at ${this.address} (${this.detail}); check that it is running, or use another engine`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class ImageNotFound extends Schema.TaggedError<ImageNotFound>("@armada/engine/ImageNotFound")(
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
export class PullFailed extends Schema.TaggedError<PullFailed>("@armada/engine/PullFailed")("PullFailed", {
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
  "@armada/engine/ContainerNotFound"
)("ContainerNotFound", { container: Schema.String }) {
  override get message(): string {
    return `container ${this.container} does not exist`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class VolumeNotFound extends Schema.TaggedError<VolumeNotFound>("@armada/engine/VolumeNotFound")(
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
export class NetworkNotFound extends Schema.TaggedError<NetworkNotFound>("@armada/engine/NetworkNotFound")(
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
export class NameConflict extends Schema.TaggedError<NameConflict>("@armada/engine/NameConflict")(
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
export class VolumeInUse extends Schema.TaggedError<VolumeInUse>("@armada/engine/VolumeInUse")(
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
export class EngineError extends Schema.TaggedError<EngineError>("@armada/engine/EngineError")(
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
export class ArchiveError extends Schema.TaggedError<ArchiveError>("@armada/engine/ArchiveError")(
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
 * Every error of the `ContainerEngine` service. `InputError` (from `@armada/core`) is how every
 * implementation refuses a bad name, image reference, path or option before it reaches an engine.
 *
 * @since 0.1.0
 * @category errors
 */
export type ContainerEngineError =
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
export const ContainerEngineError = Schema.Union(
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
