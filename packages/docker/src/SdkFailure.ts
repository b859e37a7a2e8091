/**
 * How a failed dockerode request reads: the errno code when no engine answered, the HTTP status
 * when one did, and the engine's own message. Shared by the engines built on dockerode (the
 * Docker engine, and the Swarm engine's manager requests), each of which maps these facts to its
 * own typed errors.
 *
 * @since 0.3.0
 */

// Errno codes that mean "no engine answers here".
const unreachableCodes = new Set([
  "ECONNREFUSED",
  "ENOENT",
  "EACCES",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENOTSOCK"
])

const field = (cause: unknown, key: string): unknown =>
  typeof cause === "object" && cause !== null && key in cause
    ? (cause as Record<string, unknown>)[key]
    : undefined

/**
 * The HTTP status the engine answered with; none when the request failed before an answer.
 *
 * @since 0.3.0
 */
export const statusOf = (cause: unknown): number | undefined => {
  const status = field(cause, "statusCode")
  return typeof status === "number" ? status : undefined
}

/**
 * The errno code when no engine answered at all (connection refused, no socket, …); none when the
 * engine answered, whatever it said.
 *
 * @since 0.3.0
 */
export const unreachableCode = (cause: unknown): string | undefined => {
  const code = field(cause, "code")
  return typeof code === "string" && unreachableCodes.has(code) && statusOf(cause) === undefined
    ? code
    : undefined
}

/**
 * The engine's own message (`{"message": …}`), else the error's message.
 *
 * @since 0.3.0
 */
export const messageOf = (cause: unknown): string => {
  const json = field(cause, "json")
  const fromJson = field(json, "message")
  if (typeof fromJson === "string") return fromJson
  if (json instanceof Uint8Array && json.length > 0) return Buffer.from(json).toString("utf8").trim()
  const message = cause instanceof Error ? cause.message : String(cause)
  // For streamed responses the SDK only has "(HTTP code 404) <its own guess> - <engine message>".
  return message.replace(/^\(HTTP code \d+\) [^-]*- /, "").trim()
}
