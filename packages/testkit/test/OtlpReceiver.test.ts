import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as OtlpReceiver from "../src/OtlpReceiver.js"

const post = (url: string, body: unknown, type = "application/json") =>
  Effect.promise(() =>
    fetch(url, {
      method: "POST",
      headers: { "content-type": type, "x-team": "a" },
      body: JSON.stringify(body)
    }).then((response) => response.status)
  )

describe("OtlpReceiver", () => {
  it.scoped("keeps the spans of an OTLP/JSON export, flattened, and refuses anything else", () =>
    Effect.gen(function* () {
      const receiver = yield* OtlpReceiver.start
      const status = yield* post(`${receiver.endpoint}/v1/traces`, {
        resourceSpans: [
          {
            resource: { attributes: [{ key: "service.name", value: { stringValue: "armada" } }] },
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: "t1",
                    spanId: "s1",
                    parentSpanId: "",
                    name: "run",
                    attributes: [
                      { key: "items", value: { intValue: "3" } },
                      { key: "ok", value: { boolValue: false } }
                    ],
                    status: { code: 2, message: "boom" }
                  }
                ]
              }
            ]
          }
        ]
      })
      assert.strictEqual(status, 200)
      assert.strictEqual(yield* post(`${receiver.endpoint}/v1/traces`, {}, "application/x-protobuf"), 415)
      const [span] = receiver.spans()
      assert.deepInclude(span, { traceId: "t1", parentSpanId: undefined, name: "run" })
      assert.deepStrictEqual(span!.attributes, { items: 3, ok: false })
      assert.deepStrictEqual(span!.status, { code: 2, message: "boom" })
      assert.strictEqual(span!.resource["service.name"], "armada")
      assert.strictEqual(span!.headers["x-team"], "a")
      assert.strictEqual(receiver.rejected().length, 1)
    })
  )
})
