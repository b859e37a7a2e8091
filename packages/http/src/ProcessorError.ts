/**
 * The typed errors of talking to a container over HTTP. Each names the endpoint (the container
 * and its URL) and what was wrong.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * Which container was called, at which URL.
 *
 * @since 0.1.0
 * @category models
 */
export const Endpoint = Schema.Struct({ name: Schema.String, url: Schema.String })

/**
 * @since 0.1.0
 * @category models
 */
export type Endpoint = typeof Endpoint.Type

const at = (endpoint: Endpoint) => `${endpoint.name} (${endpoint.url})`

/**
 * Connection refused, reset or otherwise failed before an answer came.
 *
 * @since 0.1.0
 * @category errors
 */
export class Unreachable extends Schema.TaggedError<Unreachable>("@armada/http/Unreachable")("Unreachable", {
  endpoint: Endpoint,
  detail: Schema.String
}) {
  override get message(): string {
    return `${at(this.endpoint)} is unreachable: ${this.detail}`
  }
}

/**
 * A non-2xx answer, with the first 2 KiB of its body.
 *
 * @since 0.1.0
 * @category errors
 */
export class BadStatus extends Schema.TaggedError<BadStatus>("@armada/http/BadStatus")("BadStatus", {
  endpoint: Endpoint,
  status: Schema.Number,
  body: Schema.String
}) {
  override get message(): string {
    return `${at(this.endpoint)} answered HTTP ${this.status}${this.body === "" ? "" : `: ${this.body}`}`
  }
}

/**
 * A 2xx answer whose body is not what the protocol says (malformed JSON, a missing field, too
 * large, or an `outputDir` outside the session area).
 *
 * @since 0.1.0
 * @category errors
 */
export class BadResponse extends Schema.TaggedError<BadResponse>("@armada/http/BadResponse")("BadResponse", {
  endpoint: Endpoint,
  detail: Schema.String
}) {
  override get message(): string {
    return `${at(this.endpoint)} gave a bad answer: ${this.detail}`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class Timeout extends Schema.TaggedError<Timeout>("@armada/http/Timeout")("Timeout", {
  endpoint: Endpoint,
  afterMillis: Schema.Number
}) {
  override get message(): string {
    return `${at(this.endpoint)} did not answer within ${this.afterMillis} ms`
  }
}

/**
 * The container never became ready before its deadline.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotReady extends Schema.TaggedError<NotReady>("@armada/http/NotReady")("NotReady", {
  endpoint: Endpoint,
  attempts: Schema.Number,
  afterMillis: Schema.Number,
  lastError: Schema.String
}) {
  override get message(): string {
    return `${at(this.endpoint)} was not ready after ${this.afterMillis} ms (${this.attempts} attempts; last: ${this.lastError})`
  }
}

/**
 * The container exited while armada waited for it to become ready.
 *
 * @since 0.1.0
 * @category errors
 */
export class Exited extends Schema.TaggedError<Exited>("@armada/http/Exited")("Exited", {
  endpoint: Endpoint,
  exitCode: Schema.Number,
  logTail: Schema.String
}) {
  override get message(): string {
    return `${at(this.endpoint)} exited with code ${this.exitCode} before it was ready${this.logTail === "" ? "" : `; last log lines:\n${this.logTail}`}`
  }
}

/**
 * The container exited in the middle of a work call: the call failed at the connection (or timed
 * out) because the process behind the port was gone. `call` is the request (`POST /api/process`),
 * `detail` what the call itself saw, `exitCode` and `logTail` (its last log lines, read before the
 * container was removed) say why.
 *
 * @since 0.2.0
 * @category errors
 */
export class ExitedDuringCall extends Schema.TaggedError<ExitedDuringCall>("@armada/http/ExitedDuringCall")(
  "ExitedDuringCall",
  {
    endpoint: Endpoint,
    call: Schema.String,
    exitCode: Schema.Number,
    logTail: Schema.String,
    detail: Schema.String
  }
) {
  override get message(): string {
    return `${at(this.endpoint)} exited with code ${this.exitCode} during ${this.call} (the call saw: ${this.detail})${this.logTail === "" ? "" : `; last log lines:\n${this.logTail}`}`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export type CallError = Unreachable | BadStatus | BadResponse | Timeout

/**
 * @since 0.1.0
 * @category errors
 */
export type ReadyError = NotReady | Exited

/**
 * @since 0.1.0
 * @category schemas
 */
export const ProcessorError = Schema.Union(
  Unreachable,
  BadStatus,
  BadResponse,
  Timeout,
  NotReady,
  Exited,
  ExitedDuringCall
)

/**
 * @since 0.1.0
 * @category errors
 */
export type ProcessorError = typeof ProcessorError.Type
