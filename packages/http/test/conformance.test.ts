import { layerTest, ProcessorClient, Protocol, layer as processorClientLayer } from "@armada/http"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, TestClock } from "effect"
import { type FakeAnswer, fakeClient, json } from "./fakes.js"

// One suite, two layers: the live client over HTTP answers and layerTest over handlers that give
// the same answers must report the same values and the same errors, so the fake cannot drift.

/** What each scenario's container answers, as HTTP (live) and as a handler result (layerTest). */
const scenarios = {
  healthy: {
    http: () => json({ outputDir: "/workspace/area/w/./sub/.." }),
    outputDir: "/workspace/area/w/./sub/.."
  },
  outside: {
    http: () => json({ outputDir: "/workspace/area/../../etc" }),
    outputDir: "/workspace/area/../../etc"
  },
  hanging: { http: () => "hang" as const, outputDir: undefined }
} satisfies Record<string, { http: () => FakeAnswer; outputDir: string | undefined }>

type Scenario = keyof typeof scenarios

const endpointOf = (name: Scenario) => ({ name, url: `http://${name}.test:5551` })

const liveLayer = processorClientLayer.pipe(
  Layer.provide(
    fakeClient((request) => {
      const url = new URL(request.url)
      if (url.hostname === "dead.test") return { errno: "ECONNREFUSED" }
      return url.pathname === "/"
        ? new Response("ok")
        : scenarios[url.hostname.replace(".test", "") as Scenario].http()
    }).layer
  )
)

const memoryLayer = layerTest(
  Object.fromEntries(
    Object.entries(scenarios).map(([name, scenario]) => [
      name,
      {
        process: () =>
          scenario.outputDir === undefined
            ? Effect.never
            : Effect.succeed(Protocol.ProcessResponse.make({ outputDir: scenario.outputDir }))
      }
    ])
  )
)

const request = Protocol.ProcessRequest.make({
  readDir: Protocol.templateDir,
  writeDir: "/workspace/area/w",
  globs: [],
  config: {}
})

/** Everything observable about one call: its value, or its error's tag and message. */
const observe = <A, E extends { readonly _tag: string; readonly message: string }>(
  effect: Effect.Effect<A, E>
) =>
  Effect.map(Effect.exit(effect), (exit) =>
    Exit.isSuccess(exit)
      ? { ok: exit.value }
      : {
          error:
            Exit.isFailure(exit) && exit.cause._tag === "Fail"
              ? `${exit.cause.error._tag}: ${exit.cause.error.message}`
              : "defect"
        }
  )

const run = (layer: Layer.Layer<ProcessorClient>) =>
  Effect.gen(function* () {
    const client = yield* ProcessorClient
    const results: Record<string, unknown> = {}
    for (const name of Object.keys(scenarios) as Array<Scenario>) {
      const fiber = yield* Effect.fork(
        observe(client.process(endpointOf(name), request, { timeout: "5 seconds" }))
      )
      yield* TestClock.adjust("6 seconds")
      results[name] = yield* Fiber.join(fiber)
    }
    results.exited = yield* observe(
      client
        .waitReady(
          { name: "dead", url: "http://dead.test:5551" },
          { exited: Effect.succeed({ exitCode: 137, logTail: "killed" }) }
        )
        .pipe(Effect.map(() => "ready"))
    )
    results.ready = yield* observe(
      Effect.map(client.waitReady(endpointOf("healthy")), (ready) => ready.attempts)
    )
    return results
  }).pipe(Effect.provide(layer))

describe("ProcessorClient conformance: live layer and layerTest agree", () => {
  it.effect("on answers, outputDir checks, timeouts and exited containers", () =>
    Effect.gen(function* () {
      const live = yield* run(liveLayer)
      const memory = yield* run(memoryLayer)
      assert.deepStrictEqual(memory, live)
      assert.deepStrictEqual(live.healthy, {
        ok: Protocol.ProcessResponse.make({ outputDir: "/workspace/area/w" })
      })
      assert.match(
        String((live.outside as { error: string }).error),
        /^BadResponse: .*not inside \/workspace\/area/
      )
      assert.match(String((live.hanging as { error: string }).error), /^Timeout: .*within 5000 ms/)
      assert.match(String((live.exited as { error: string }).error), /^Exited: .*code 137/)
      assert.deepStrictEqual(live.ready, { ok: 1 })
    })
  )
})
