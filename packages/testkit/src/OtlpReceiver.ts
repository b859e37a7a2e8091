/**
 * An OTLP/HTTP trace receiver for tests: an HTTP server on a free 127.0.0.1 port that accepts
 * `POST /v1/traces` in OTLP's JSON encoding (what `@opentelemetry/exporter-trace-otlp-http`
 * sends), answers 200, and keeps every span it was sent, flattened, with the headers of the
 * request that carried it. Point `OTEL_EXPORTER_OTLP_ENDPOINT` at `endpoint`.
 *
 * The server lives in the test's process and is closed with the scope.
 *
 * @since 0.2.0
 */
import * as http from "node:http"
import { Effect, type Scope } from "effect"
import { FixtureError } from "./internal/daemon.js"

export { FixtureError }

/**
 * An attribute's value as OTLP JSON carries it, unwrapped.
 *
 * @since 0.2.0
 * @category models
 */
export type AttributeValue = string | number | boolean | ReadonlyArray<AttributeValue> | null

/**
 * One span as received.
 *
 * @since 0.2.0
 * @category models
 */
export interface Span {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly name: string
  readonly attributes: Readonly<Record<string, AttributeValue>>
  /** OTLP's status code: 0 unset, 1 ok, 2 error. */
  readonly status: { readonly code: number; readonly message: string | undefined }
  readonly events: ReadonlyArray<{
    readonly name: string
    readonly attributes: Readonly<Record<string, AttributeValue>>
  }>
  /** The resource's attributes (`service.name`, …). */
  readonly resource: Readonly<Record<string, AttributeValue>>
  /** The headers of the request that carried it, lower-cased. */
  readonly headers: Readonly<Record<string, string>>
}

/**
 * @since 0.2.0
 * @category models
 */
export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>`: the exporter appends `/v1/traces`. */
  readonly endpoint: string
  /** Every span received so far, in arrival order. */
  readonly spans: () => ReadonlyArray<Span>
  /** Bodies it could not read, with why. */
  readonly rejected: () => ReadonlyArray<string>
}

interface JsonAttribute {
  readonly key: string
  readonly value: JsonValue
}
interface JsonValue {
  readonly stringValue?: string
  readonly boolValue?: boolean
  readonly intValue?: string | number
  readonly doubleValue?: number
  readonly arrayValue?: { readonly values?: ReadonlyArray<JsonValue> }
}

const unwrap = (value: JsonValue): AttributeValue => {
  if (value.stringValue !== undefined) return value.stringValue
  if (value.boolValue !== undefined) return value.boolValue
  if (value.intValue !== undefined) return Number(value.intValue)
  if (value.doubleValue !== undefined) return value.doubleValue
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(unwrap)
  return null
}

const attributesOf = (attributes: ReadonlyArray<JsonAttribute> | undefined): Record<string, AttributeValue> =>
  Object.fromEntries((attributes ?? []).map((attribute) => [attribute.key, unwrap(attribute.value)]))

interface JsonSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly attributes?: ReadonlyArray<JsonAttribute>
  readonly status?: { readonly code?: number; readonly message?: string }
  readonly events?: ReadonlyArray<{
    readonly name: string
    readonly attributes?: ReadonlyArray<JsonAttribute>
  }>
}
interface JsonRequest {
  readonly resourceSpans?: ReadonlyArray<{
    readonly resource?: { readonly attributes?: ReadonlyArray<JsonAttribute> }
    readonly scopeSpans?: ReadonlyArray<{ readonly spans?: ReadonlyArray<JsonSpan> }>
  }>
}

const spansOf = (body: JsonRequest, headers: Record<string, string>): Array<Span> =>
  (body.resourceSpans ?? []).flatMap((resourceSpans) => {
    const resource = attributesOf(resourceSpans.resource?.attributes)
    return (resourceSpans.scopeSpans ?? []).flatMap((scope) =>
      (scope.spans ?? []).map(
        (span): Span => ({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId === "" ? undefined : span.parentSpanId,
          name: span.name,
          attributes: attributesOf(span.attributes),
          status: { code: span.status?.code ?? 0, message: span.status?.message },
          events: (span.events ?? []).map((event) => ({
            name: event.name,
            attributes: attributesOf(event.attributes)
          })),
          resource,
          headers
        })
      )
    )
  })

/**
 * Starts the receiver.
 *
 * @since 0.2.0
 * @category constructors
 */
export const start: Effect.Effect<OtlpReceiver, FixtureError, Scope.Scope> = Effect.gen(function* () {
  const received: Array<Span> = []
  const rejected: Array<string> = []
  const server = http.createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8")
      const type = request.headers["content-type"] ?? ""
      if (request.method !== "POST" || request.url !== "/v1/traces" || !type.startsWith("application/json")) {
        rejected.push(`${request.method} ${request.url} (${type})`)
        response.writeHead(415).end()
        return
      }
      try {
        const headers = Object.fromEntries(
          Object.entries(request.headers).map(([key, value]) => [key, String(value)])
        )
        received.push(...spansOf(JSON.parse(body) as JsonRequest, headers))
        response.writeHead(200, { "content-type": "application/json" }).end("{}")
      } catch (error) {
        rejected.push(`unreadable body: ${String(error)}`)
        response.writeHead(400).end()
      }
    })
  })
  const port = yield* Effect.acquireRelease(
    Effect.async<number, FixtureError>((resume) => {
      server.once("error", (error) =>
        resume(
          Effect.fail(new FixtureError({ fixture: "OtlpReceiver", step: "listen", detail: error.message }))
        )
      )
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
      })
    }),
    () =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
  )
  return { endpoint: `http://127.0.0.1:${port}`, spans: () => [...received], rejected: () => [...rejected] }
})
