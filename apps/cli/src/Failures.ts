/**
 * How a failure is told to a person: the typed cause's own message as the reason, and a hint that
 * says what to do when one helps (start an engine, build the image, raise a timeout, clean up).
 * The cause itself goes into the JSON output whole.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export interface Context {
  readonly session?: string | undefined
  readonly prefix?: string | undefined
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

const keepHint = (cause: object) => {
  const name = containerOf(cause)
  return `run again with --keep to leave the container in place, then read its logs (docker logs ${name === "" ? "<container>" : name})`
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
    case "PullFailed":
      return text(field(cause, "image")).startsWith("armada/test-app")
        ? "build the test image locally with `pnpm images` (no registry needed), then run again"
        : "build or load the image on this engine (docker build / docker load), or check its name and tag"
    case "NameConflict":
      return `a previous run left it behind; remove it with \`${cleanCommand(context)}\` or use another session id`
    case "VolumeInUse":
      return `remove the containers that use it first: \`${cleanCommand(context)}\``
    case "Exited":
      return "the container exited before it answered its health check; its exit code and last log lines are above"
    case "NotReady":
      return `it never answered GET / on its port; raise options.timeouts.ready in the spec, or ${keepHint(cause)}`
    case "Timeout":
      return `raise options.timeouts.call in the spec if the work is slow, or ${keepHint(cause)}`
    case "Unreachable":
      return "the container runs but its port does not answer; it must listen on 0.0.0.0 at its role's port (docs/protocol.md)"
    case "BadStatus":
      return keepHint(cause)
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
