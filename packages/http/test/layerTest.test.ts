import { layerTest, ProcessorClient, ProcessorError, Protocol } from "@armada/http"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Fiber, TestClock } from "effect"

const a = { name: "a", url: "http://127.0.0.1:1" }
const b = { name: "b", url: "http://127.0.0.1:2" }
const request = (writeDir: string) =>
  Protocol.ProcessRequest.make({ readDir: Protocol.templateDir, writeDir, globs: [], config: {} })

describe("ProcessorClient.layerTest", () => {
  it.effect("routes by endpoint name, with '*' for the rest", () =>
    Effect.gen(function* () {
      const client = yield* ProcessorClient
      const fromA = yield* client.process(a, request("/workspace/area/1"))
      const fromB = yield* client.process(b, request("/workspace/area/2"))
      assert.strictEqual(fromA.outputDir, "/workspace/area/from-a")
      assert.strictEqual(fromB.outputDir, "/workspace/area/other-2")
    }).pipe(
      Effect.provide(
        layerTest({
          a: {
            process: () =>
              Effect.succeed(Protocol.ProcessResponse.make({ outputDir: "/workspace/area/from-a" }))
          },
          "*": {
            process: (req) =>
              Effect.succeed(
                Protocol.ProcessResponse.make({ outputDir: req.writeDir.replace(/(\d)$/, "other-$1") })
              )
          }
        })
      )
    )
  )

  it.effect("behaves like a healthy container where no handler is given", () =>
    Effect.gen(function* () {
      const client = yield* ProcessorClient
      assert.deepStrictEqual(yield* client.waitReady(a), { attempts: 1, elapsedMillis: 0 })
      assert.strictEqual(
        (yield* client.process(a, request("/workspace/area/9"))).outputDir,
        "/workspace/area/9"
      )
      assert.deepStrictEqual(
        yield* client.plug(a, Protocol.PlugRequest.make({ directory: "/workspace/area/m", config: {} })),
        Protocol.PlugResponse.make({})
      )
      const merged = yield* client.merge(
        a,
        "s",
        Protocol.MergeRequest.make({ fromDirs: [], toDir: "/workspace/area/m" })
      )
      assert.strictEqual(merged.status, "ok")
    }).pipe(Effect.provide(layerTest()))
  )

  it.effect("reports a container that has exited already, as the live client does", () =>
    Effect.gen(function* () {
      const client = yield* ProcessorClient
      const result = yield* Effect.either(
        client.waitReady(a, { exited: Effect.succeed({ exitCode: 7, logTail: "bye" }) })
      )
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.instanceOf(result.left, ProcessorError.Exited)
        assert.strictEqual(result.left.exitCode, 7)
      }
    }).pipe(Effect.provide(layerTest()))
  )

  it.effect("applies the live rules to what handlers return", () =>
    Effect.gen(function* () {
      const client = yield* ProcessorClient
      const outside = yield* Effect.flip(client.process(a, request("/workspace/area/1")))
      assert.strictEqual(outside._tag, "BadResponse")
      const fiber = yield* Effect.fork(
        Effect.flip(
          client.plug(b, Protocol.PlugRequest.make({ directory: "/workspace/area/m", config: {} }), {
            timeout: "2 seconds"
          })
        )
      )
      yield* TestClock.adjust("3 seconds")
      const timeout = yield* Fiber.join(fiber)
      assert.strictEqual(timeout._tag, "Timeout")
      const notReady = yield* Effect.fork(Effect.flip(client.waitReady(b, { deadline: "1 second" })))
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual((yield* Fiber.join(notReady))._tag, "NotReady")
    }).pipe(
      Effect.provide(
        layerTest({
          a: {
            process: () =>
              Effect.succeed(Protocol.ProcessResponse.make({ outputDir: "/workspace/cyanprint" }))
          },
          b: { plug: () => Effect.never, waitReady: () => Effect.never }
        })
      )
    )
  )
})
