/**
 * The one place where failures of the HTTP layer become armada's typed errors.
 *
 * @internal
 */
import type { HttpClientError } from "@effect/platform"
import { type Endpoint, Unreachable } from "../ProcessorError.js"

const errnoText: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EPIPE: "connection closed while sending",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  UND_ERR_SOCKET: "connection closed by the other side",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out"
}

/**
 * A short, human text for whatever a client library failed with: the errno (or undici code)
 * explained when there is one, otherwise the innermost message. Walks `cause` chains, since
 * fetch-style clients wrap the socket error in a generic "fetch failed".
 *
 * @internal
 */
export const describeCause = (cause: unknown): string => {
  const messages: Array<string> = []
  let current: unknown = cause
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    if (typeof current !== "object") {
      messages.push(String(current))
      break
    }
    const { code, message } = current as { code?: unknown; message?: unknown }
    if (typeof code === "string" && code in errnoText) return `${errnoText[code]} (${code})`
    if (typeof code === "string") messages.push(`${code}${typeof message === "string" ? `: ${message}` : ""}`)
    else if (typeof message === "string" && message !== "") messages.push(message)
    current = (current as { cause?: unknown }).cause
  }
  return messages.at(-1) ?? "unknown error"
}

/**
 * What went wrong, for a failure of the HTTP client itself: no usable answer came (a refused or
 * reset connection, an invalid URL, or a connection lost while the body was read).
 *
 * @internal
 */
export const describeHttpClientError = (
  endpoint: Endpoint,
  error: HttpClientError.HttpClientError
): string => {
  const detail = describeCause(error.cause ?? error.description ?? error.reason)
  switch (error.reason) {
    case "InvalidUrl":
      return `invalid URL ${JSON.stringify(endpoint.url)}: ${detail}`
    case "Encode":
      return `could not send the request: ${detail}`
    case "Transport":
      return detail
    case "Decode":
    case "StatusCode":
    case "EmptyBody":
      return `connection lost while reading the answer: ${detail}`
  }
}

/**
 * Every failure of the HTTP client itself is `Unreachable`.
 *
 * @internal
 */
export const fromHttpClientError = (
  endpoint: Endpoint,
  error: HttpClientError.HttpClientError
): Unreachable => new Unreachable({ endpoint, detail: describeHttpClientError(endpoint, error) })
