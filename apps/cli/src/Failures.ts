/**
 * How a failure is told to a person: the typed cause's own message as the reason, and a hint that
 * says what to do when one helps (start an engine, build the image, raise a timeout, clean up).
 * The cause itself goes into the JSON output whole.
 *
 * @since 0.1.0
 */
import { ImageRef } from "@armada/core"
import { Bulk } from "@armada/engine"

/**
 * @since 0.1.0
 * @category models
 */
export interface Context {
  readonly session?: string | undefined
  readonly prefix?: string | undefined
  /**
   * The run runs on an `armada serve`: its containers are on the server's engine, and the flags of
   * `armada run` do not reach it (the spec's options do).
   */
  readonly onServer?: boolean | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Described {
  readonly reason: string
  readonly hint?: string | undefined
}

const field = (cause: object, name: string): unknown => (cause as Record<string, unknown>)[name]

const text = (value: unknown): string => (typeof value === "string" ? value : "")

/**
 * The command that removes what a session left.
 *
 * @since 0.1.0
 * @category getters
 */
export const cleanCommand = (context: Context): string =>
  context.session === undefined
    ? "armada clean --all"
    : `armada clean --session ${context.session}${context.prefix === undefined || context.prefix === "armada" ? "" : ` --prefix ${context.prefix}`}`

const containerOf = (cause: object): string => {
  const endpoint = field(cause, "endpoint")
  return typeof endpoint === "object" && endpoint !== null ? text(field(endpoint, "name")) : ""
}

const keepHint = (cause: object, context: Context) => {
  const name = containerOf(cause)
  const logs = `docker logs ${name === "" ? "<container>" : name}`
  return context.onServer === true
    ? `set options.keep: true in the spec and run again to leave the container in place on the server's engine, then read its logs there (${logs})`
    : `run again with --keep to leave the container in place, then read its logs (${logs})`
}

const buildHint = (image: string) =>
  image.startsWith("armada/test-app")
    ? "build the test image locally with `pnpm images` (no registry needed), then run again"
    : "build or load the image on this engine (docker build / docker load), or check its name and tag"

const registryOf = (image: string) =>
  ImageRef.isImageRef(image) ? ImageRef.registryOf(ImageRef.ImageRef.make(image)) : "its registry"

const credentialSources =
  "the Docker config (DOCKER_CONFIG, else ~/.docker/config.json: auths, credHelpers, credsStore); `armada doctor <spec>` shows which source armada uses"

/** The hint for a failed pull, by its reason. */
const pullHint = (image: string, reason: string): string => {
  const registry = registryOf(image)
  switch (reason) {
    case "RepositoryNotFound":
      return `check the repository's name in the image reference (and the registry's host and port), or push the image to ${registry}`
    case "TagNotFound":
      return `use a tag or digest the repository has (the reason names some), or push this one to ${registry}`
    case "NotFound":
      return image.startsWith("armada/test-app")
        ? buildHint(image)
        : `check the image's name and its tag or digest (armada could not ask the registry which is missing; the reason says why) and that it was pushed to ${registry}; a private repository may need credentials: ${credentialSources}`
    case "Unauthorized":
      return `log in to the registry (\`docker login ${registry}\`), or fix its credentials in ${credentialSources}`
    case "RegistryUnreachable":
      return `start the registry at ${registry}, or fix the host and port in the image reference; the Docker engine connects to it, not armada, so it must be reachable from the engine's host`
    case "InStream":
      return "the engine reported it in the middle of the pull (a layer that failed its checksum, a full disk, a registry that went away); run again, and if it persists check the registry's storage and the engine's disk (docker system df)"
    case "Interrupted":
      return "run again: the engine keeps the layers it finished, and an unfinished pull leaves nothing for armada to clean up"
    case "Credentials":
      return `fix the credential source the Docker config names for ${registry} (the reason says what failed); ${credentialSources}`
    default:
      return buildHint(image)
  }
}

/**
 * The hint for a cause, by its tag; undefined when the reason says it all.
 *
 * @since 0.1.0
 * @category getters
 */
export const hint = (cause: unknown, context: Context = {}): string | undefined => {
  if (typeof cause !== "object" || cause === null) return undefined
  switch (text(field(cause, "_tag"))) {
    case "EngineUnreachable":
      return "start a Docker engine (`sudo dockerd`, or Docker Desktop) or point DOCKER_HOST at a running one; or run without Docker: --engine local"
    case "ImageNotFound":
      return text(field(cause, "detail")) === Bulk.neverPulled
        ? "pull it: run with --pull missing (or set options.pull: missing in the spec), or build or load it on this engine"
        : buildHint(text(field(cause, "image")))
    case "PullFailed":
      return pullHint(text(field(cause, "image")), text(field(cause, "reason")))
    case "NameConflict":
      return `a previous run left it behind; remove it with \`${cleanCommand(context)}\` or use another session id`
    case "VolumeInUse":
      return `remove the containers that use it first: \`${cleanCommand(context)}\``
    case "Exited":
      return "the container exited before it answered its health check; its exit code and last log lines are above"
    case "ExitedDuringCall":
      return "the container exited in the middle of the call (it crashed or was killed; its port was fine): its exit code and last log lines are above"
    case "AmbiguousResolvers":
      return "narrow the resolvers' `files` globs in the spec so that at most one matches each path"
    case "NotReady":
      return `it never answered GET / on its port; raise options.timeouts.ready in the spec, or ${keepHint(cause, context)}`
    case "Timeout":
      return `raise options.timeouts.call in the spec if the work is slow, or ${keepHint(cause, context)}`
    case "Unreachable":
      return "the container runs but its port does not answer; it must listen on 0.0.0.0 at its role's port (docs/protocol.md)"
    case "BadStatus":
      return keepHint(cause, context)
    case "BadResponse":
    case "OutputOutsideArea":
      return "the container's answer does not follow the container protocol (docs/protocol.md)"
    case "SpecError":
    case "InputError":
      return "fix the spec (docs/cli.md shows its shape) and run again"
    case "Defect":
      return "this looks like a bug in armada; please report it with the output of --verbose"
    default:
      return undefined
  }
}

/**
 * The reason (the cause's message, or the value itself) and the hint.
 *
 * @since 0.1.0
 * @category getters
 */
export const describe = (cause: unknown, context: Context = {}): Described => {
  const reason =
    cause instanceof Error || (typeof cause === "object" && cause !== null && "message" in cause)
      ? String((cause as { readonly message: unknown }).message)
      : String(cause)
  return { reason: reason.trimEnd(), hint: hint(cause, context) }
}

/**
 * The cause as plain JSON: a tagged error becomes its `_tag`, its fields and its `message`.
 *
 * @since 0.1.0
 * @category getters
 */
export const toJson = (cause: unknown): unknown => {
  try {
    return JSON.parse(
      JSON.stringify(cause, (_key, value) => (typeof value === "bigint" ? String(value) : value))
    )
  } catch {
    return String(cause)
  }
}
