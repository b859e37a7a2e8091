/**
 * The typed errors of the `ContainerEngine` service, whichever engine is behind it. Each names the
 * resource it is about and says what to do; no raw SDK or host error escapes the service.
 *
 * @since 0.1.0
 */
import { ImageRef, InputError } from "@armada/core"

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
 * Why a pull failed:
 * - `RepositoryNotFound`: the registry does not know the repository;
 * - `TagNotFound`: the repository exists, but not the tag or digest (`detail` names some tags it
 *   has);
 * - `NotFound`: the registry has no such repository, or no such tag or digest in it, and which
 *   could not be told: Docker's registry API answers both with one `manifest unknown`, and the
 *   registry could not be asked (`detail` says why);
 * - `Unauthorized`: the registry refused the credentials sent, or wants some and got none;
 * - `RegistryUnreachable`: the engine could not connect to the registry (nothing listens, no such
 *   host, TLS refused);
 * - `InStream`: the engine reported an error in the middle of the pull's progress (a layer that
 *   fails its checksum, a full disk);
 * - `Interrupted`: the pull stopped before the image was complete (the engine ended the stream
 *   without it, or sent nothing for too long);
 * - `Credentials`: the credentials for the registry could not be read (a broken Docker config
 *   file, a credential helper that failed); nothing was sent to the engine;
 * - `Failed`: any other refusal of the engine, in its own words (`detail`).
 *
 * @since 0.2.0
 * @category models
 */
export const PullFailureReason = Schema.Literal(
  "RepositoryNotFound",
  "TagNotFound",
  "NotFound",
  "Unauthorized",
  "RegistryUnreachable",
  "InStream",
  "Interrupted",
  "Credentials",
  "Failed"
)

/**
 * @since 0.2.0
 * @category models
 */
export type PullFailureReason = typeof PullFailureReason.Type

const registryIn = (image: string): string =>
  ImageRef.isImageRef(image) ? ImageRef.registryOf(ImageRef.ImageRef.make(image)) : "its registry"

/** What a failed pull's message says, by its reason. */
const pullFailureMessage: {
  readonly [R in PullFailureReason]: (failure: {
    readonly image: string
    readonly registry: string
    readonly detail: string
  }) => string
} = {
  RepositoryNotFound: (f) =>
    `pulling ${f.image} failed: repository not found: ${f.registry} has no such repository (${f.detail})`,
  TagNotFound: (f) =>
    `pulling ${f.image} failed: ${f.image.includes("@") ? "digest" : "tag"} not found: the repository exists on ${f.registry}, but has no ${f.image.includes("@") ? "manifest with this digest" : "such tag"} (${f.detail})`,
  NotFound: (f) =>
    `pulling ${f.image} failed: not found: ${f.registry} has no such repository or tag: ${f.detail}`,
  Unauthorized: (f) =>
    `pulling ${f.image} failed: unauthorized: ${f.registry} refused the credentials sent, or wants some (${f.detail})`,
  RegistryUnreachable: (f) =>
    `pulling ${f.image} failed: the engine cannot reach the registry ${f.registry} (${f.detail})`,
  InStream: (f) => `pulling ${f.image} failed midway: ${f.detail}`,
  Interrupted: (f) => `pulling ${f.image} stopped before the image was complete (${f.detail})`,
  Credentials: (f) =>
    `pulling ${f.image} failed: the credentials for ${f.registry} could not be read: ${f.detail}`,
  Failed: (f) => `pulling ${f.image} failed: ${f.detail}`
}

/**
 * A pull that could not complete, by its `reason`; `detail` is what the engine (or the credential
 * source, or the registry when armada asked it which part of a reference is missing) said. It
 * never holds a secret.
 *
 * @since 0.1.0
 * @category errors
 */
export class PullFailed extends Schema.TaggedError<PullFailed>("@armada/engine/PullFailed")("PullFailed", {
  image: Schema.String,
  reason: PullFailureReason,
  detail: Schema.String
}) {
  /** The registry the image is pulled from (`docker.io` when the reference names none). */
  get registry(): string {
    return registryIn(this.image)
  }

  override get message(): string {
    return pullFailureMessage[this.reason](this)
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
