/**
 * The server of `armada serve`: the `Api`'s handlers over a `Pool` and the `Runs`, the OpenAPI
 * document at `/openapi.json`, a bearer token (when one is set) on every endpoint but `/healthz`,
 * and bounded request bodies.
 *
 * @since 0.3.0
 */
import { createHash, timingSafeEqual } from "node:crypto"
import { Readable } from "node:stream"
import { Pool } from "@armada/orchestrator"
import {
  HttpApiBuilder,
  type HttpApp,
  HttpIncomingMessage,
  HttpServerRequest,
  HttpServerResponse,
  Multipart
} from "@effect/platform"
import { Context, Effect, Layer, Option, Predicate, Redacted, Schema, Stream } from "effect"
import * as Display from "../Display.js"
import { Api, BadRequest, BadTemplate, maxBodyBytes, maxSpecBytes, TooLarge } from "./Api.js"
import type * as Runs from "./Runs.js"

/**
 * The server's runs.
 *
 * @since 0.3.0
 * @category tags
 */
export class ServerRuns extends Context.Tag("@armada/cli/serve/ServerRuns")<ServerRuns, Runs.Runs>() {}

const RunsLive = HttpApiBuilder.group(Api, "runs", (handlers) =>
  Effect.map(ServerRuns, (runs) =>
    handlers
      .handle("create", ({ payload }) =>
        payload.template !== undefined && payload.templatePath === undefined
          ? runs.create({ ...payload, template: { _tag: "Archive", file: payload.template.path } })
          : payload.template === undefined && payload.templatePath !== undefined
            ? runs.create({ ...payload, template: { _tag: "Path", path: payload.templatePath } })
            : Effect.fail(
                new BadTemplate({
                  message:
                    "expected the template either as an archive (the part `template`, a .tar.gz) or as a path on the server (the part `templatePath`), exactly one of them"
                })
              )
      )
      .handle("get", ({ path }) => runs.get(path.id))
      .handle("events", ({ path }) =>
        Effect.map(runs.events(path.id), (events) =>
          HttpServerResponse.stream(
            Stream.encodeText(
              Stream.map(events, (line) =>
                line._tag === "Result" ? Display.jsonDocument(line) : Display.jsonLine(line)
              )
            ),
            {
              contentType: "application/x-ndjson"
            }
          )
        )
      )
      .handle("output", ({ path }) =>
        Effect.flatMap(runs.output(path.id), (file) =>
          HttpServerResponse.file(file, { contentType: "application/gzip" }).pipe(Effect.orDie)
        )
      )
      .handle("delete", ({ path }) => runs.remove(path.id))
  )
)

const PoolsLive = HttpApiBuilder.group(Api, "pools", (handlers) =>
  Effect.map(Pool.Pool, (pool) =>
    handlers
      .handle("list", () =>
        Effect.all({ sets: pool.sets, stats: pool.stats }).pipe(
          Effect.map(({ sets, stats }) => ({
            maxSets: pool.maxSets,
            stats,
            sets: sets.map((set) => ({
              ...set,
              createdAt: set.createdAt.toISOString(),
              lastUsed: set.lastUsed.toISOString()
            }))
          }))
        )
      )
      .handle("remove", ({ path }) => Effect.map(pool.remove(path.key), (removed) => ({ removed })))
  )
)

/**
 * The metrics in the Prometheus text format: runs by status, the pool's hits, misses,
 * replacements, discards and expiries, its sets by status and the containers they hold.
 *
 * @since 0.3.0
 * @category metrics
 */
export const metrics = Effect.gen(function* () {
  const runs = yield* ServerRuns
  const pool = yield* Pool.Pool
  const [counts, stats, sets] = yield* Effect.all([runs.counts, pool.stats, pool.sets])
  const lines: Array<string> = []
  const metric = (
    name: string,
    type: "counter" | "gauge",
    help: string,
    values: ReadonlyArray<[string, number]>
  ) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    for (const [labels, value] of values) lines.push(`${name}${labels} ${value}`)
  }
  metric(
    "armada_runs",
    "gauge",
    "Runs the server holds, by status (finished runs are kept for their result).",
    [...counts].map(([status, n]) => [`{status="${status}"}`, n])
  )
  metric("armada_pool_hits_total", "counter", "Runs that got an idle set.", [["", stats.hits]])
  metric("armada_pool_misses_total", "counter", "Runs that started a set.", [["", stats.misses]])
  metric("armada_pool_replaced_total", "counter", "Idle sets that failed their check before reuse.", [
    ["", stats.replaced]
  ])
  metric("armada_pool_discarded_total", "counter", "Sets removed after a failed run.", [
    ["", stats.discarded]
  ])
  metric("armada_pool_expired_total", "counter", "Idle sets removed after the idle TTL.", [
    ["", stats.expired]
  ])
  metric("armada_pool_sets", "gauge", "Sets in the pool, by status.", [
    ['{status="idle"}', sets.filter((set) => set.status === "idle").length],
    ['{status="busy"}', sets.filter((set) => set.status === "busy").length]
  ])
  metric("armada_pool_max_sets", "gauge", "The most sets the pool holds.", [["", pool.maxSets]])
  metric("armada_pool_containers", "gauge", "Containers the pool's sets hold.", [
    ["", sets.reduce((sum, set) => sum + set.containers, 0)]
  ])
  return `${lines.join("\n")}\n`
})

const ServiceLive = HttpApiBuilder.group(Api, "service", (handlers) =>
  Effect.map(Effect.context<ServerRuns | Pool.Pool>(), (context) =>
    handlers
      .handle("health", () => Effect.succeed({ status: "ok" as const }))
      .handle("metrics", () =>
        Effect.map(Effect.provide(metrics, context), (text) =>
          HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" })
        )
      )
  )
)

const digest = (text: string) => createHash("sha256").update(text).digest()

/**
 * Whether `header` is `Bearer <token>`, in time that does not depend on where they differ: both
 * sides are hashed first, so even their lengths are compared in constant time.
 *
 * @since 0.3.0
 * @category auth
 */
export const authorized = (header: string | undefined, token: Redacted.Redacted<string>): boolean => {
  const given = header?.startsWith("Bearer ") ? header.slice("Bearer ".length) : ""
  return timingSafeEqual(digest(given), digest(Redacted.value(token))) && given !== ""
}

/** Every endpoint but `/healthz` asks for the token, when there is one; bodies are bounded. */
const guard =
  (token: Option.Option<Redacted.Redacted<string>>) =>
  (app: HttpApp.Default): HttpApp.Default =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const path = new URL(request.url, "http://server").pathname
      if (
        Option.isSome(token) &&
        path !== "/healthz" &&
        !authorized(request.headers.authorization, token.value)
      ) {
        return yield* HttpServerResponse.json(
          {
            _tag: "Unauthorized",
            message: "this server asks for a bearer token: Authorization: Bearer <token>"
          },
          { status: 401, headers: { "www-authenticate": 'Bearer realm="armada"' } }
        ).pipe(Effect.orDie)
      }
      // A declared length over the limit is refused before the body is read; a body that goes
      // over it without declaring it (chunked) is stopped by the multipart parser (`overLimits`).
      if (Number(request.headers["content-length"] ?? 0) > maxBodyBytes) {
        return yield* refusal(
          new TooLarge({
            message: `the request declares more than ${maxBodyBytes} bytes, the most this server takes`
          })
        )
      }
      return yield* HttpIncomingMessage.withMaxBodySize(app, Option.some(maxBodyBytes))
    })

/**
 * The multipart parser's refusals answered as what they are (413 `TooLarge`, 400 `BadRequest`):
 * the platform makes them defects, which it would answer 500. Applied inside the API's app,
 * before the platform answers a failure.
 */
const overLimits = HttpApiBuilder.middleware((app) =>
  Effect.catchSomeDefect(app, (defect) =>
    Option.map(
      // By its type id, not `instanceof`: the parser may come from another copy of the platform.
      Predicate.hasProperty(defect, Multipart.ErrorTypeId)
        ? multipartRefusal(defect as Multipart.MultipartError)
        : Option.none(),
      (error) => Effect.zipRight(discardRest, refusal(error))
    )
  )
)

/** How long a refused request's body is read and discarded before its connection is cut. */
const lingerMillis = 10_000

/**
 * Reads and discards what is left of a refused body, so the client reads the answer rather than
 * a connection reset (the parser stopped reading it); a client still sending after
 * `lingerMillis` is cut off.
 */
const discardRest = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
  Effect.sync(() => {
    const source = request.source
    if (!(source instanceof Readable) || source.readableEnded) return
    const cut = setTimeout(() => source.destroy(), lingerMillis).unref()
    source.once("close", () => clearTimeout(cut)).once("end", () => clearTimeout(cut))
    source.resume()
  })
)

/** A refusal's answer: its schema's JSON with its status. */
const refusal = (error: TooLarge | BadRequest) =>
  HttpServerResponse.json(
    error instanceof TooLarge ? Schema.encodeSync(TooLarge)(error) : Schema.encodeSync(BadRequest)(error),
    { status: error instanceof TooLarge ? 413 : 400 }
  ).pipe(Effect.orDie)

/** The limit a multipart error reached: Node's parser reports it inside an `InternalError`. */
const limitOf = (error: Multipart.MultipartError): string | undefined => {
  const cause = error.cause as { readonly _tag?: unknown; readonly limit?: unknown } | undefined
  return error.reason === "InternalError" && cause?._tag === "ReachedLimit" && typeof cause.limit === "string"
    ? cause.limit
    : error.reason
}

/** What the multipart parser refused, as the client should read it; not its own failures. */
const multipartRefusal = (error: Multipart.MultipartError): Option.Option<TooLarge | BadRequest> => {
  switch (limitOf(error)) {
    case "MaxTotalSize":
    case "MaxPartSize":
    case "BodyTooLarge":
    case "FileTooLarge":
      return Option.some(
        new TooLarge({
          message: `the request's body went over ${maxBodyBytes} bytes, the most this server takes (the template archive included)`
        })
      )
    case "MaxFieldSize":
    case "FieldTooLarge":
      return Option.some(
        new TooLarge({
          message: `a field (the spec) is larger than ${maxSpecBytes} bytes, the most this server takes`
        })
      )
    case "MaxParts":
    case "TooManyParts":
      return Option.some(
        new BadRequest({
          message:
            "at most 3 parts: spec, format, and the template either as `template` (a .tar.gz) or as `templatePath`"
        })
      )
    case "Parse":
      return Option.some(
        new BadRequest({ message: `the multipart body could not be read: ${String(error.cause)}` })
      )
    default:
      return Option.none()
  }
}

/**
 * The API served on the `HttpServer` it is given, with the OpenAPI document at `/openapi.json`.
 *
 * @since 0.3.0
 * @category layers
 */
export const layer = (options: { readonly token: Option.Option<Redacted.Redacted<string>> }) =>
  HttpApiBuilder.serve(guard(options.token)).pipe(
    Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
    Layer.provide(overLimits),
    Layer.provide(
      HttpApiBuilder.api(Api).pipe(Layer.provide(Layer.mergeAll(RunsLive, PoolsLive, ServiceLive)))
    )
  )
