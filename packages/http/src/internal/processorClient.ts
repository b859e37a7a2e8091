/**
 * The live `ProcessorClient`, over any `HttpClient`.
 *
 * @internal
 */
import { HttpClient, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { Duration, Effect, ParseResult, Schema, Stream } from "effect"
import type { CallOptions, Options, Probe, ProcessorClient } from "../ProcessorClient.js"
import { BadResponse, BadStatus, type CallError, type Endpoint, type Unreachable } from "../ProcessorError.js"
import * as Protocol from "../Protocol.js"
import {
  checkPlugResponse,
  checkProcessResponse,
  checkResolveResponse,
  defaults,
  withCallTimeout
} from "./checks.js"
import { describeCause, fromHttpClientError } from "./error.js"
import * as readiness from "./readiness.js"

const statusBodyBytes = 2048

const join = (endpoint: Endpoint, path: string): string => `${endpoint.url.replace(/\/+$/, "")}${path}`

const concat = (chunks: ReadonlyArray<Uint8Array>, size: number): Uint8Array => {
  const out = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}

/** The body's bytes; a response without a body (as `fetch` reports a 204 or an empty 200) has none. */
const bodyStream = (response: HttpClientResponse.HttpClientResponse) =>
  Stream.catchAll(response.stream, (error) =>
    error._tag === "ResponseError" && error.reason === "EmptyBody" ? Stream.empty : Stream.fail(error)
  )

/**
 * The whole body, but never more than `limit` bytes: a larger answer (announced by its
 * content-length or found while streaming) stops the read, which aborts the request.
 */
const readBody = (
  endpoint: Endpoint,
  response: HttpClientResponse.HttpClientResponse,
  limit: number
): Effect.Effect<Uint8Array, BadResponse | Unreachable> =>
  Effect.suspend(() => {
    const tooLarge = (what: string) =>
      new BadResponse({ endpoint, detail: `the answer is larger than ${limit} bytes (${what})` })
    const declared = Number(response.headers["content-length"])
    if (Number.isFinite(declared) && declared > limit) {
      return Effect.fail(tooLarge(`content-length ${declared}`))
    }
    const chunks: Array<Uint8Array> = []
    let size = 0
    return bodyStream(response).pipe(
      Stream.mapError((error) => fromHttpClientError(endpoint, error)),
      Stream.runForEach((chunk) => {
        size += chunk.length
        if (size > limit) return Effect.fail(tooLarge(`stopped reading at ${size} bytes`))
        chunks.push(chunk)
        return Effect.void
      }),
      Effect.map(() => concat(chunks, size))
    )
  })

/** The first `limit` bytes of the body as text; whatever arrived if the read fails. */
const readPrefix = (response: HttpClientResponse.HttpClientResponse, limit: number): Effect.Effect<string> =>
  Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    let size = 0
    return bodyStream(response).pipe(
      Stream.runForEachWhile((chunk) =>
        Effect.sync(() => {
          chunks.push(chunk)
          size += chunk.length
          return size < limit
        })
      ),
      Effect.ignore,
      Effect.map(() => new TextDecoder().decode(concat(chunks, size).subarray(0, limit)))
    )
  })

const formatParseError = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map(
      (issue) => `${issue.path.length === 0 ? "the body" : `field ${issue.path.join(".")}`}: ${issue.message}`
    )
    .join("; ")

const decodeBody = <A, I>(
  endpoint: Endpoint,
  schema: Schema.Schema<A, I>,
  bytes: Uint8Array,
  allowEmpty: boolean
): Effect.Effect<A, BadResponse> =>
  Effect.suspend(() => {
    const text = new TextDecoder().decode(bytes)
    let json: unknown = {}
    if (text.trim() === "") {
      if (!allowEmpty) return Effect.fail(new BadResponse({ endpoint, detail: "empty body, expected JSON" }))
    } else {
      try {
        json = JSON.parse(text)
      } catch (error) {
        return Effect.fail(
          new BadResponse({
            endpoint,
            detail: `malformed JSON (${describeCause(error)}) in a body starting ${JSON.stringify(text.slice(0, 200))}`
          })
        )
      }
    }
    return Effect.mapError(
      Schema.decodeUnknown(schema)(json),
      (error) => new BadResponse({ endpoint, detail: formatParseError(error) })
    )
  })

/** @internal */
export const make = (
  probe: Probe,
  options: Options = {}
): Effect.Effect<ProcessorClient.Service, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (client) => {
    const maxResponseBytes = options.maxResponseBytes ?? defaults.maxResponseBytes
    const probeTimeout = Duration.decode(options.probeTimeout ?? defaults.probeTimeout)
    const waitReady = readiness.make(probe, probeTimeout)

    const post = <A, I>(
      endpoint: Endpoint,
      path: string,
      body: unknown,
      schema: Schema.Schema<A, I>,
      allowEmpty: boolean
    ): Effect.Effect<A, CallError> =>
      Effect.gen(function* () {
        const request = HttpClientRequest.post(join(endpoint, path)).pipe(
          HttpClientRequest.acceptJson,
          HttpClientRequest.bodyUnsafeJson(body)
        )
        const response = yield* Effect.mapError(client.execute(request), (error) =>
          fromHttpClientError(endpoint, error)
        )
        if (response.status < 200 || response.status >= 300) {
          const head = yield* readPrefix(response, statusBodyBytes)
          return yield* new BadStatus({ endpoint, status: response.status, body: head })
        }
        const bytes = yield* readBody(endpoint, response, maxResponseBytes)
        return yield* decodeBody(endpoint, schema, bytes, allowEmpty)
      })

    // The request types are checked by the compiler; failing to encode one is a bug, not an
    // answer from the container, hence a defect.
    const encode = <A, I>(schema: Schema.Schema<A, I>, value: A): Effect.Effect<I> =>
      Effect.orDie(Schema.encode(schema)(value))

    return {
      waitReady,
      process: Effect.fn("ProcessorClient.process")(function* (
        endpoint: Endpoint,
        request: Protocol.ProcessRequest,
        callOptions?: CallOptions
      ) {
        const body = yield* encode(Protocol.ProcessRequest, request)
        return yield* post(endpoint, "/api/process", body, Protocol.ProcessResponse, false).pipe(
          Effect.flatMap((response) => checkProcessResponse(endpoint, response)),
          withCallTimeout(endpoint, callOptions?.timeout)
        )
      }),
      plug: Effect.fn("ProcessorClient.plug")(function* (
        endpoint: Endpoint,
        request: Protocol.PlugRequest,
        callOptions?: CallOptions
      ) {
        const body = yield* encode(Protocol.PlugRequest, request)
        return yield* post(endpoint, "/api/plug", body, Protocol.PlugResponse, true).pipe(
          Effect.flatMap((response) => checkPlugResponse(endpoint, response)),
          withCallTimeout(endpoint, callOptions?.timeout)
        )
      }),
      merge: Effect.fn("ProcessorClient.merge")(function* (
        endpoint: Endpoint,
        sessionId: string,
        request: Protocol.MergeRequest,
        callOptions?: CallOptions
      ) {
        const body = yield* encode(Protocol.MergeRequest, request)
        return yield* post(
          endpoint,
          `/merge/${encodeURIComponent(sessionId)}`,
          body,
          Protocol.MergeResponse,
          false
        ).pipe(withCallTimeout(endpoint, callOptions?.timeout))
      }),
      resolve: Effect.fn("ProcessorClient.resolve")(function* (
        endpoint: Endpoint,
        request: Protocol.ResolveRequest,
        callOptions?: CallOptions
      ) {
        const body = yield* encode(Protocol.ResolveRequest, request)
        return yield* post(endpoint, "/api/resolve", body, Protocol.ResolveResponse, false).pipe(
          Effect.flatMap((response) => checkResolveResponse(endpoint, request, response)),
          withCallTimeout(endpoint, callOptions?.timeout)
        )
      })
    }
  })
