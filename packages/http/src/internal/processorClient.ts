/**
 * The live `ProcessorClient`, over any `HttpClient`.
 *
 * @internal
 */
import { HttpClient, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { Clock, Duration, Effect, Option, ParseResult, Schedule, Schema, Stream } from "effect"
import type {
  CallOptions,
  Liveness,
  Options,
  ProcessorClient,
  Ready,
  WaitOptions
} from "../ProcessorClient.js"
import {
  BadResponse,
  BadStatus,
  type CallError,
  type Endpoint,
  Exited,
  NotReady,
  type ReadyError,
  type Unreachable
} from "../ProcessorError.js"
import * as Protocol from "../Protocol.js"
import { checkPlugResponse, checkProcessResponse, defaults, withCallTimeout } from "./checks.js"
import { describeCause, describeHttpClientError, fromHttpClientError } from "./error.js"

/**
 * The delay between readiness probes: 5 ms growing by 3% per probe, capped at 100 ms. With a
 * factor f each delay is about 5 ms + (f - 1) x the time waited so far, so the lag between a
 * server starting to listen and armada noticing stays near 3% of its start-up time (a server up
 * after 500 ms is seen within ~20 ms, ~10 ms on average), for ~90 probes in the first two
 * seconds and 10 per second after the cap (reached at ~3 s). A refused probe on a published
 * port costs well under a millisecond, so this is cheap; a factor of 2 would make the lag up to
 * half the start-up time.
 *
 * @internal
 */
export const readySchedule: Schedule.Schedule<unknown> = Schedule.exponential("5 millis", 1.03).pipe(
  Schedule.modifyDelay((_, delay) => Duration.min(delay, Duration.millis(100)))
)

/**
 * `isAlive` is asked after a failed probe, but at most this often: it usually asks the engine
 * (an inspect call), which should not see ~45 requests a second per starting container.
 */
const livenessEveryMillis = 100

const statusBodyBytes = 2048
const probeBodyBytes = 64 * 1024

const alive: Effect.Effect<Liveness> = Effect.succeed({ _tag: "Alive" })

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
  options: Options = {}
): Effect.Effect<ProcessorClient.Service, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (client) => {
    const maxResponseBytes = options.maxResponseBytes ?? defaults.maxResponseBytes
    const probeTimeout = Duration.decode(options.probeTimeout ?? defaults.probeTimeout)

    /** `None` when the endpoint answered 200, otherwise why not. */
    const probe = (endpoint: Endpoint): Effect.Effect<Option.Option<string>> =>
      client.get(join(endpoint, "/")).pipe(
        Effect.mapError((error) => describeHttpClientError(endpoint, error)),
        Effect.flatMap((response) =>
          // Reading the body to its end lets the connection be reused for the next call.
          Effect.as(
            Effect.ignore(readBody(endpoint, response, probeBodyBytes)),
            response.status === 200 ? Option.none() : Option.some(`HTTP ${response.status}`)
          )
        ),
        Effect.timeoutFail({
          duration: probeTimeout,
          onTimeout: () => `no answer within ${Duration.toMillis(probeTimeout)} ms`
        }),
        Effect.catchAll((why) => Effect.succeed(Option.some(why)))
      )

    const waitReady = Effect.fn("ProcessorClient.waitReady")(function* (
      endpoint: Endpoint,
      waitOptions?: WaitOptions
    ): Effect.fn.Return<Ready, ReadyError> {
      const deadline = Duration.decode(waitOptions?.deadline ?? defaults.readyDeadline)
      const isAlive = waitOptions?.isAlive ?? alive
      const started = yield* Clock.currentTimeMillis
      let attempts = 0
      let lastError = "no probe finished"
      let lastAsked = Number.NEGATIVE_INFINITY
      const stillAlive: Effect.Effect<boolean, Exited> = Effect.gen(function* () {
        const time = yield* Clock.currentTimeMillis
        if (time - lastAsked < livenessEveryMillis) return false
        lastAsked = time
        const liveness = yield* isAlive
        if (liveness._tag === "Alive") return false
        return yield* new Exited({ endpoint, exitCode: liveness.exitCode, logTail: liveness.logTail })
      })
      const step: Effect.Effect<boolean, Exited> = Effect.suspend(() => {
        attempts++
        return probe(endpoint)
      }).pipe(
        Effect.flatMap(
          Option.match({
            onNone: () => Effect.succeed(true),
            onSome: (why) => {
              lastError = why
              return stillAlive
            }
          })
        )
      )
      yield* Effect.repeat(
        step,
        Schedule.whileInput(readySchedule, (ready: boolean) => !ready)
      ).pipe(
        Effect.timeoutFail({
          duration: deadline,
          onTimeout: () =>
            new NotReady({ endpoint, attempts, afterMillis: Duration.toMillis(deadline), lastError })
        })
      )
      const finished = yield* Clock.currentTimeMillis
      return { attempts, elapsedMillis: finished - started }
    })

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
      })
    }
  })
