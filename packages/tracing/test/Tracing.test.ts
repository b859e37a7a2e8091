import { OtlpReceiver, Poll } from "@armada/testkit"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option, Redacted } from "effect"
import { Tracing } from "../src/index.js"

const withEnv = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("Tracing", () => {
  it.effect("reads the standard variables: the traces URL, the service name, URL-decoded headers", () =>
    Effect.gen(function* () {
      assert.isTrue(Option.isNone(yield* Tracing.config.pipe(withEnv({}))))
      assert.isTrue(
        Option.isNone(
          yield* Tracing.config.pipe(
            withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_SDK_DISABLED: "true" })
          )
        )
      )
      const options = Option.getOrThrow(
        yield* Tracing.config.pipe(
          withEnv({
            OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318/",
            OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20s3cret, x-team = a"
          })
        )
      )
      assert.strictEqual(options.url, "http://127.0.0.1:4318/v1/traces")
      assert.strictEqual(options.serviceName, "armada")
      assert.strictEqual(Redacted.value(options.headers.authorization!), "Bearer s3cret")
      assert.strictEqual(Redacted.value(options.headers["x-team"]!), "a")
      const traces = Option.getOrThrow(
        yield* Tracing.config.pipe(
          withEnv({
            OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1",
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://127.0.0.1:2/custom",
            OTEL_SERVICE_NAME: "ci"
          })
        )
      )
      assert.deepInclude(traces, { url: "http://127.0.0.1:2/custom", serviceName: "ci" })
    })
  )

  it.live("exports a program's spans, nested, with their attributes and errors, and sends the headers", () =>
    Effect.gen(function* () {
      const receiver = yield* OtlpReceiver.start
      const program = Effect.gen(function* () {
        yield* Effect.void.pipe(Effect.withSpan("item", { attributes: { item: "a" } }))
        yield* Effect.fail("boom").pipe(Effect.withSpan("item", { attributes: { item: "b" } }), Effect.ignore)
      }).pipe(Effect.withSpan("run", { attributes: { session: "s1" } }))
      yield* program.pipe(
        Effect.provide(
          Tracing.layerOtlp({
            url: `${receiver.endpoint}/v1/traces`,
            serviceName: "armada-test",
            headers: { authorization: Redacted.make("Bearer s3cret") }
          })
        )
      )
      // The layer was released: its last flush has been sent.
      yield* Effect.promise(() => Poll.until(() => receiver.spans().length >= 3, "three spans"))
      const spans = receiver.spans()
      const run = spans.find((span) => span.name === "run")!
      const items = spans.filter((span) => span.name === "item")
      assert.strictEqual(new Set(spans.map((span) => span.traceId)).size, 1)
      assert.deepStrictEqual(
        items.map((span) => span.parentSpanId),
        [run.spanId, run.spanId]
      )
      assert.strictEqual(run.attributes.session, "s1")
      assert.strictEqual(run.resource["service.name"], "armada-test")
      const failed = items.find((span) => span.attributes.item === "b")!
      assert.strictEqual(failed.status.code, 2)
      assert.strictEqual(items.find((span) => span.attributes.item === "a")!.status.code, 1)
      assert.strictEqual(run.headers.authorization, "Bearer s3cret")
      assert.notInclude(JSON.stringify(spans.map(({ headers: _, ...span }) => span)), "s3cret")
    }).pipe(Effect.scoped)
  )

  it.effect("is empty without an endpoint", () =>
    Effect.gen(function* () {
      const built = yield* Layer.build(Tracing.layer).pipe(Effect.scoped, withEnv({}))
      assert.isDefined(built)
    })
  )
})
