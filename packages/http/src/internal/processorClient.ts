/**
 * The live `ProcessorClient`, over any `HttpClient`.
 *
 * @internal
 */
import { HttpClient, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { Duration, Effect, Option, ParseResult, Schema, Stream } from "effect"
import type { CallOptions, Options, Probe, ProcessorClient } from "../ProcessorClient.js"
import {
  BadResponse,
  BadStatus,
  type CallError,
  type Endpoint,
  Timeout,
  type Unreachable
} from "../ProcessorError.js"
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
    // A declared length within the limit bounds the read by itself: read it whole, without a
    // stream (a body read as a stream cost a call about as much CPU as the rest of it).
    if (Number.isFinite(declared)) {
      return response.arrayBuffer.pipe(
        Effect.map((buffer) => new Uint8Array(buffer)),
        Effect.mapError((error) => fromHttpClientError(endpoint, error))
      )
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

    const maxFileBytes = options.maxFileBytes ?? Protocol.defaultMaxFileBytes

    /** The answer to `request`, if it is a 2xx; any other status is a `BadStatus` with the head of its body. */
    const execute = (
      endpoint: Endpoint,
      request: HttpClientRequest.HttpClientRequest
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, CallError> =>
      Effect.gen(function* () {
        const response = yield* Effect.mapError(client.execute(request), (error) =>
          fromHttpClientError(endpoint, error)
        )
        if (response.status < 200 || response.status >= 300) {
          const head = yield* readPrefix(response, statusBodyBytes)
          return yield* new BadStatus({ endpoint, status: response.status, body: head })
        }
        return response
      })

    /** `request`'s JSON answer, decoded with `schema`. */
    const call = <A, I>(
      endpoint: Endpoint,
      request: HttpClientRequest.HttpClientRequest,
      schema: Schema.Schema<A, I>,
      allowEmpty: boolean
    ): Effect.Effect<A, CallError> =>
      Effect.gen(function* () {
        const response = yield* execute(endpoint, HttpClientRequest.acceptJson(request))
        const bytes = yield* readBody(endpoint, response, maxResponseBytes)
        return yield* decodeBody(endpoint, schema, bytes, allowEmpty)
      })

    const post = <A, I>(
      endpoint: Endpoint,
      path: string,
      body: unknown,
      schema: Schema.Schema<A, I>,
      allowEmpty: boolean
    ): Effect.Effect<A, CallError> =>
      call(
        endpoint,
        HttpClientRequest.post(join(endpoint, path)).pipe(HttpClientRequest.bodyUnsafeJson(body)),
        schema,
        allowEmpty
      )

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
      }),
      putFiles: <E>(
        endpoint: Endpoint,
        dir: string,
        tar: Stream.Stream<Uint8Array, E>,
        callOptions?: CallOptions
      ) =>
        Effect.suspend(() => {
          // The body's own failure reaches the HTTP client as a transport error: it is kept here
          // and is the call's failure instead.
          let upstream = Option.none<E>()
          const body = Stream.tapError(tar, (error) =>
            Effect.sync(() => {
              upstream = Option.some(error)
            })
          )
          const request = HttpClientRequest.put(join(endpoint, Protocol.filesPath)).pipe(
            HttpClientRequest.setUrlParam("dir", dir),
            HttpClientRequest.bodyStream(body, { contentType: "application/x-tar" })
          )
          return call(endpoint, request, Protocol.FilesPutResponse, false).pipe(
            Effect.catchAll(
              (error): Effect.Effect<never, CallError | E> =>
                Effect.fail(Option.getOrElse(upstream, () => error))
            ),
            withCallTimeout(endpoint, callOptions?.timeout)
          )
        }).pipe(Effect.withSpan("ProcessorClient.putFiles", { attributes: { dir } })),
      getFiles: (endpoint: Endpoint, path: string, callOptions?: CallOptions) => {
        const timeout = Duration.decode(callOptions?.timeout ?? defaults.callTimeout)
        const request = HttpClientRequest.get(join(endpoint, Protocol.filesPath)).pipe(
          HttpClientRequest.setUrlParam("path", path)
        )
        const tooLarge = (size: number) =>
          new BadResponse({
            endpoint,
            detail: `the archive of ${path} is larger than ${maxFileBytes} bytes (stopped at ${size})`
          })
        return Stream.unwrap(
          execute(endpoint, request).pipe(
            withCallTimeout(endpoint, timeout),
            Effect.map((response) => {
              let size = 0
              return bodyStream(response).pipe(
                Stream.mapError((error) => fromHttpClientError(endpoint, error)),
                Stream.timeoutFail(
                  () => new Timeout({ endpoint, afterMillis: Duration.toMillis(timeout) }),
                  timeout
                ),
                Stream.mapEffect((chunk) => {
                  size += chunk.length
                  return size > maxFileBytes ? Effect.fail(tooLarge(size)) : Effect.succeed(chunk)
                })
              )
            })
          )
        ).pipe(Stream.withSpan("ProcessorClient.getFiles", { attributes: { path } }))
      }
    }
  })
