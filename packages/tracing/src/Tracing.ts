/**
 * Exports armada's spans to an OpenTelemetry collector over OTLP/HTTP (JSON), through
 * `@effect/opentelemetry` and the OpenTelemetry SDK. A library user provides `layer` to the
 * program that runs armada (`Effect.provide(Tracing.layer)`), as the CLI does: one layer, set up
 * from the standard variables alone.
 *
 * - `OTEL_EXPORTER_OTLP_ENDPOINT`: the collector's base URL; spans go to `<it>/v1/traces`
 *   (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, when set, is the full URL and wins);
 * - `OTEL_SERVICE_NAME`: the `service.name` of the spans (default `armada`);
 * - `OTEL_EXPORTER_OTLP_HEADERS` (and `…_TRACES_HEADERS`): `key=value,…`, URL-encoded, sent with
 *   every export, e.g. the collector's token. They are never put on a span.
 *
 * Without an endpoint (or with `OTEL_SDK_DISABLED=true`) the layer is empty: the SDK is not even
 * loaded, since its modules are imported only when an endpoint is set.
 *
 * Spans are batched and flushed when the layer is released (at the end of the program, also on
 * Ctrl-C), waiting at most `shutdownTimeout` for the collector.
 *
 * @since 0.2.0
 */
import { Config, Duration, Effect, Layer, Option, Redacted, Schema } from "effect"

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** The full URL spans are posted to (`…/v1/traces`). */
  readonly url: string
  readonly serviceName: string
  readonly headers: Readonly<Record<string, Redacted.Redacted>>
  /** How long the last flush may wait for the collector. Default 3 seconds. */
  readonly shutdownTimeout?: Duration.DurationInput | undefined
}

/**
 * The SDK could not be loaded or the settings are not usable.
 *
 * @since 0.2.0
 * @category errors
 */
export class TracingError extends Schema.TaggedError<TracingError>("@armada/tracing/TracingError")(
  "TracingError",
  {
    detail: Schema.String
  }
) {
  override get message(): string {
    return `tracing is off: ${this.detail}`
  }
}

const optional = (name: string) =>
  Config.string(name).pipe(Config.option, Config.map(Option.filter((value) => value.trim() !== "")))

/**
 * `key=value,key2=value2` as the OpenTelemetry specification writes headers, values URL-decoded.
 *
 * @since 0.2.0
 * @category constructors
 */
export const parseHeaders = (text: string): Record<string, Redacted.Redacted> =>
  Object.fromEntries(
    text
      .split(",")
      .map((pair) => pair.trim())
      .filter((pair) => pair.includes("="))
      .map((pair) => {
        const at = pair.indexOf("=")
        return [
          decodeURIComponent(pair.slice(0, at).trim()),
          Redacted.make(decodeURIComponent(pair.slice(at + 1).trim()))
        ]
      })
  )

/** `<endpoint>/v1/traces`, with one slash between. */
const tracesUrl = (endpoint: string): string => `${endpoint.replace(/\/+$/, "")}/v1/traces`

/**
 * The options from the standard variables; none when no endpoint is set or the SDK is disabled.
 *
 * @since 0.2.0
 * @category config
 */
export const config: Config.Config<Option.Option<Options>> = Config.all({
  endpoint: optional("OTEL_EXPORTER_OTLP_ENDPOINT"),
  tracesEndpoint: optional("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
  serviceName: optional("OTEL_SERVICE_NAME"),
  headers: optional("OTEL_EXPORTER_OTLP_HEADERS"),
  tracesHeaders: optional("OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
  disabled: optional("OTEL_SDK_DISABLED")
}).pipe(
  Config.map((env) => {
    if (Option.exists(env.disabled, (value) => value.trim().toLowerCase() === "true")) return Option.none()
    const url = Option.orElse(env.tracesEndpoint, () => Option.map(env.endpoint, tracesUrl))
    return Option.map(
      url,
      (url): Options => ({
        url,
        serviceName: Option.getOrElse(env.serviceName, () => "armada"),
        headers: {
          ...parseHeaders(Option.getOrElse(env.headers, () => "")),
          ...parseHeaders(Option.getOrElse(env.tracesHeaders, () => ""))
        }
      })
    )
  })
)

/** The SDK's modules, imported only here, and only when tracing is on. */
const loadSdk = Effect.tryPromise({
  try: () =>
    Promise.all([
      import("@effect/opentelemetry/NodeSdk"),
      import("@opentelemetry/sdk-trace-base"),
      import("@opentelemetry/exporter-trace-otlp-http")
    ]),
  catch: (error) =>
    new TracingError({
      detail: `the OpenTelemetry SDK could not be loaded (${error instanceof Error ? error.message : String(error)})`
    })
})

/**
 * Exports every span to `options.url`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerOtlp = (options: Options): Layer.Layer<never, TracingError> =>
  Layer.unwrapEffect(
    Effect.map(loadSdk, ([NodeSdk, TraceBase, OtlpHttp]) =>
      Layer.provide(
        Layer.empty,
        NodeSdk.layer(() => ({
          resource: { serviceName: options.serviceName },
          spanProcessor: new TraceBase.BatchSpanProcessor(
            new OtlpHttp.OTLPTraceExporter({
              url: options.url,
              headers: Object.fromEntries(
                Object.entries(options.headers).map(([key, value]) => [key, Redacted.value(value)])
              )
            })
          ),
          shutdownTimeout: options.shutdownTimeout ?? Duration.seconds(3)
        }))
      )
    )
  )

/**
 * Tracing as the standard variables set it up (`config`): `layerOtlp` when an endpoint is set,
 * else nothing at all.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<never, TracingError> = Layer.unwrapEffect(
  config.pipe(
    Effect.mapError(
      (error) => new TracingError({ detail: `the OTEL_* settings cannot be read (${error.message})` })
    ),
    Effect.map(Option.match({ onNone: () => Layer.empty, onSome: layerOtlp }))
  )
)
