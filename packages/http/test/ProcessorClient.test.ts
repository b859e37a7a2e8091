import type { Socket } from "node:net"
import {
  type ContainerExit,
  ProcessorClient,
  type ProcessorError,
  Protocol,
  layer as processorClientLayer
} from "@armada/http"
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Either, Fiber, Layer, Schedule, TestClock } from "effect"
import { closedPort, type FakeAnswer, fakeClient, json, realServer } from "./fakes.js"

const endpoint: ProcessorError.Endpoint = { name: "proc-a", url: "http://127.0.0.1:5551" }

const processRequest = Protocol.ProcessRequest.make({
  readDir: Protocol.templateDir,
  writeDir: "/workspace/area/1234",
  globs: [Protocol.Glob.make({ root: "src", glob: "**/*.ts", exclude: ["**/*.test.ts"], type: "template" })],
  config: { vars: { name: "demo" } }
})

/** Runs `f` with a `ProcessorClient` over a fake HTTP client answering with `answer`. */
const withFake = <A, E>(
  answer: (request: { method: string; url: string; body: string }, index: number) => FakeAnswer,
  f: (client: ProcessorClient.Service) => Effect.Effect<A, E>
) => {
  const fake = fakeClient(answer)
  return Effect.map(
    ProcessorClient.pipe(
      Effect.flatMap(f),
      Effect.provide(processorClientLayer.pipe(Layer.provide(fake.layer)))
    ),
    (result) => ({ result, requests: fake.requests })
  )
}

const errorOf = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.flatMap(Effect.either(effect), (either) =>
    Either.isLeft(either)
      ? Effect.succeed(either.left)
      : Effect.die(`expected a failure, got ${either.right}`)
  )

describe("ProcessorClient.waitReady", () => {
  it.effect("polls GET / until it answers 200 and counts the attempts", () =>
    Effect.gen(function* () {
      const { result, requests } = yield* withFake(
        (_, index) => (index < 3 ? { errno: "ECONNREFUSED" } : new Response("ok")),
        (client) =>
          Effect.fork(client.waitReady(endpoint)).pipe(Effect.tap(() => TestClock.adjust("1 second")))
      )
      const ready = yield* Fiber.join(result)
      assert.strictEqual(ready.attempts, 4)
      assert.deepStrictEqual(
        requests.map((r) => `${r.method} ${r.url}`),
        Array(4).fill("GET http://127.0.0.1:5551/")
      )
    })
  )

  it.effect("treats a non-200 status as not ready yet", () =>
    Effect.gen(function* () {
      const { result } = yield* withFake(
        (_, index) => new Response("starting", { status: index < 2 ? 503 : 200 }),
        (client) =>
          Effect.fork(client.waitReady(endpoint)).pipe(Effect.tap(() => TestClock.adjust("1 second")))
      )
      assert.strictEqual((yield* Fiber.join(result)).attempts, 3)
    })
  )

  it.effect("stops with Exited as soon as `exited` completes, without another probe", () =>
    Effect.gen(function* () {
      let probes = 0
      const { result } = yield* withFake(
        () => {
          probes++
          return { errno: "ECONNREFUSED" }
        },
        (client) =>
          Effect.gen(function* () {
            const exit = yield* Deferred.make<ContainerExit>()
            const fiber = yield* Effect.fork(
              errorOf(client.waitReady(endpoint, { exited: Deferred.await(exit) }))
            )
            yield* TestClock.adjust("1 second")
            assert.isUndefined(fiber.unsafePoll() ?? undefined, "still waiting while the container runs")
            const before = probes
            yield* Deferred.succeed(exit, { exitCode: 3, logTail: "boom" })
            const error = yield* Fiber.join(fiber)
            yield* TestClock.adjust("1 second")
            return { error, before }
          })
      )
      const { error, before } = result
      assert.strictEqual(error._tag, "Exited")
      if (error._tag !== "Exited") return
      assert.strictEqual(error.exitCode, 3)
      assert.strictEqual(error.logTail, "boom")
      assert.deepStrictEqual(error.endpoint, endpoint)
      assert.isAbove(before, 3, "it probed while the container ran")
      assert.strictEqual(probes, before, "no probe after the exit")
    })
  )

  it.effect("a probe that answers first wins, and `exited` is interrupted", () =>
    Effect.gen(function* () {
      let interrupted = false
      const { result } = yield* withFake(
        (_, index) => (index < 2 ? { errno: "ECONNREFUSED" } : new Response("ok")),
        (client) =>
          Effect.fork(
            client.waitReady(endpoint, {
              exited: Effect.onInterrupt(Effect.never, () =>
                Effect.sync(() => {
                  interrupted = true
                })
              )
            })
          ).pipe(Effect.tap(() => TestClock.adjust("1 second")))
      )
      assert.strictEqual((yield* Fiber.join(result)).attempts, 3)
      assert.isTrue(interrupted)
    })
  )

  it.effect("fails with NotReady after the deadline, with the attempt count and the last error", () =>
    Effect.gen(function* () {
      const { result } = yield* withFake(
        () => ({ errno: "ECONNREFUSED" }),
        (client) =>
          Effect.gen(function* () {
            const fiber = yield* Effect.fork(errorOf(client.waitReady(endpoint, { deadline: "10 seconds" })))
            yield* TestClock.adjust("9 seconds")
            assert.isUndefined(fiber.unsafePoll() ?? undefined, "still waiting before the deadline")
            yield* TestClock.adjust("2 seconds")
            return yield* Fiber.join(fiber)
          })
      )
      assert.strictEqual(result._tag, "NotReady")
      if (result._tag !== "NotReady") return
      assert.strictEqual(result.afterMillis, 10_000)
      assert.isAbove(result.attempts, 50)
      assert.include(result.lastError, "connection refused")
    })
  )

  it.effect("counts a probe that never answers as not ready, then gives up at the deadline", () =>
    Effect.gen(function* () {
      const { result, requests } = yield* withFake(
        () => "hang",
        (client) =>
          errorOf(client.waitReady(endpoint, { deadline: "7 seconds" })).pipe(
            Effect.fork,
            Effect.tap(() => TestClock.adjust("8 seconds")),
            Effect.flatMap(Fiber.join)
          )
      )
      assert.strictEqual(result._tag, "NotReady")
      if (result._tag !== "NotReady") return
      assert.include(result.lastError, "no answer within 2000 ms")
      assert.isAtLeast(requests.length, 3, "a hanging probe is abandoned and retried")
    })
  )

  it.scopedLive("is ready over real HTTP, each probe on a connection of its own that it closes", () =>
    Effect.gen(function* () {
      const server = yield* realServer((_, response) => response.end("ok"))
      const client = yield* ProcessorClient
      const ready = yield* client.waitReady({ name: "real", url: server.url })
      assert.strictEqual(ready.attempts, 1)
      for (let i = 0; i < 9; i++) yield* client.waitReady({ name: "real", url: server.url })
      assert.strictEqual(server.connections(), 10, "10 probes, 10 connections")
      // None is left open on the server's side.
      yield* Effect.repeat(server.open, {
        schedule: Schedule.spaced("5 millis"),
        until: (open) => open === 0
      }).pipe(Effect.timeout("10 seconds"))
    }).pipe(Effect.provide(processorClientLayer.pipe(Layer.provide(FetchHttpClient.layer))))
  )
})

describe("ProcessorClient.waitReady over a port whose app does not listen yet", () => {
  it.scopedLive(
    "a probe's reset or dropped connection is another failed probe, not the end of the wait",
    () =>
      Effect.gen(function* () {
        // As docker-proxy answers for a container whose app is not listening yet: it accepts the
        // connection, fails to reach the app and drops it. Two connections are reset as they are
        // accepted, two requests are dropped unanswered; then the app answers.
        let accepted = 0
        let requests = 0
        const server = yield* realServer((request, response) => {
          if (++requests <= 2) request.socket.destroy()
          else response.end("ok")
        })
        server.server.prependListener("connection", (socket: Socket) => {
          if (++accepted <= 2) socket.resetAndDestroy()
        })
        const client = yield* ProcessorClient
        const ready = yield* client.waitReady({ name: "proxied", url: server.url }, { deadline: "1 minute" })
        assert.strictEqual(ready.attempts, 5)
      }).pipe(Effect.provide(processorClientLayer.pipe(Layer.provide(FetchHttpClient.layer))))
  )
})

describe("ProcessorClient.process", () => {
  it.effect("posts the encoded request and decodes the answer, normalising outputDir", () =>
    Effect.gen(function* () {
      const { result, requests } = yield* withFake(
        () => json({ outputDir: "/workspace/area/x/../1234/" }),
        (client) => client.process(endpoint, processRequest)
      )
      assert.deepStrictEqual(result, Protocol.ProcessResponse.make({ outputDir: "/workspace/area/1234" }))
      assert.strictEqual(requests[0]!.url, "http://127.0.0.1:5551/api/process")
      assert.deepStrictEqual(JSON.parse(requests[0]!.body), {
        readDir: "/workspace/cyanprint",
        writeDir: "/workspace/area/1234",
        globs: [{ root: "src", glob: "**/*.ts", exclude: ["**/*.test.ts"], type: "template" }],
        config: { vars: { name: "demo" } }
      })
    })
  )

  for (const outside of [
    "/etc",
    "/workspace/area",
    "/workspace/area/../cyanprint",
    "workspace/area/x",
    "/workspace/areax"
  ]) {
    it.effect(`rejects outputDir ${JSON.stringify(outside)} with BadResponse`, () =>
      Effect.gen(function* () {
        const { result } = yield* withFake(
          () => json({ outputDir: outside }),
          (client) => errorOf(client.process(endpoint, processRequest))
        )
        assert.strictEqual(result._tag, "BadResponse")
        assert.include(result.message, "not inside /workspace/area")
        assert.include(result.message, "proc-a (http://127.0.0.1:5551)")
      })
    )
  }

  it.effect("reports a non-2xx answer as BadStatus with the first 2 KiB of the body", () =>
    Effect.gen(function* () {
      const body = `${"e".repeat(2040)}0123456789 and more`
      const { result } = yield* withFake(
        () => new Response(body, { status: 500 }),
        (client) => errorOf(client.process(endpoint, processRequest))
      )
      assert.strictEqual(result._tag, "BadStatus")
      if (result._tag !== "BadStatus") return
      assert.strictEqual(result.status, 500)
      assert.strictEqual(result.body, body.slice(0, 2048))
    })
  )

  it.effect("reports malformed JSON as BadResponse", () =>
    Effect.gen(function* () {
      const { result } = yield* withFake(
        () => new Response('{"outputDir": ', { status: 200 }),
        (client) => errorOf(client.process(endpoint, processRequest))
      )
      assert.strictEqual(result._tag, "BadResponse")
      assert.include(result.message, "malformed JSON")
    })
  )

  it.effect("names the field that failed to decode", () =>
    Effect.gen(function* () {
      const missing = yield* withFake(
        () => json({ output: "/workspace/area/1" }),
        (client) => errorOf(client.process(endpoint, processRequest))
      )
      assert.strictEqual(missing.result._tag, "BadResponse")
      assert.include(missing.result.message, "field outputDir: is missing")
      const wrongType = yield* withFake(
        () => json({ outputDir: 42 }),
        (client) => errorOf(client.process(endpoint, processRequest))
      )
      assert.include(wrongType.result.message, "field outputDir: Expected string, actual 42")
    })
  )

  it.effect("rejects an empty body from a processor", () =>
    Effect.gen(function* () {
      const { result } = yield* withFake(
        () => new Response(""),
        (client) => errorOf(client.process(endpoint, processRequest))
      )
      assert.strictEqual(result._tag, "BadResponse")
      assert.include(result.message, "empty body")
    })
  )

  it.effect("rejects an answer announced larger than the limit without reading it", () =>
    Effect.gen(function* () {
      let pulled = 0
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled++
          controller.enqueue(new Uint8Array(64 * 1024))
        }
      })
      const { result } = yield* withFake(
        () => new Response(stream, { headers: { "content-length": String(8 * 1024 * 1024) } }),
        (client) => errorOf(client.process(endpoint, processRequest))
      )
      assert.strictEqual(result._tag, "BadResponse")
      assert.include(result.message, "larger than 1048576 bytes (content-length 8388608)")
      assert.isAtMost(pulled, 2)
    })
  )

  it.effect("stops reading an endless 2xx body at the limit", () =>
    Effect.gen(function* () {
      let pulled = 0
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled++
          controller.enqueue(new Uint8Array(64 * 1024).fill(32))
        }
      })
      const { result } = yield* withFake(
        () => new Response(stream),
        (client) => errorOf(client.process(endpoint, processRequest))
      )
      assert.strictEqual(result._tag, "BadResponse")
      assert.include(result.message, "larger than 1048576 bytes")
      assert.isAtMost(pulled, 20, "reads about 1 MiB, not more")
    })
  )

  it.effect("fails with Timeout when no answer comes in time", () =>
    Effect.gen(function* () {
      const { result } = yield* withFake(
        () => "hang",
        (client) =>
          errorOf(client.process(endpoint, processRequest, { timeout: "3 seconds" })).pipe(
            Effect.fork,
            Effect.tap(() => TestClock.adjust("4 seconds")),
            Effect.flatMap(Fiber.join)
          )
      )
      assert.strictEqual(result._tag, "Timeout")
      if (result._tag !== "Timeout") return
      assert.strictEqual(result.afterMillis, 3000)
    })
  )

  it.effect("has a default call timeout", () =>
    Effect.gen(function* () {
      const { result } = yield* withFake(
        () => "hang",
        (client) =>
          errorOf(client.process(endpoint, processRequest)).pipe(
            Effect.fork,
            Effect.tap(() => TestClock.adjust(Duration.minutes(6))),
            Effect.flatMap(Fiber.join)
          )
      )
      assert.strictEqual(result._tag, "Timeout")
    })
  )

  it.effect("maps a refused or reset connection to Unreachable", () =>
    Effect.gen(function* () {
      for (const [errno, text] of [
        ["ECONNREFUSED", "connection refused"],
        ["ECONNRESET", "connection reset"]
      ] as const) {
        const { result } = yield* withFake(
          () => ({ errno }),
          (client) => errorOf(client.process(endpoint, processRequest))
        )
        assert.strictEqual(result._tag, "Unreachable")
        assert.include(result.message, text)
      }
    })
  )

  it.effect("maps an invalid URL to Unreachable", () =>
    Effect.gen(function* () {
      const { result } = yield* withFake(
        () => new Response("never asked"),
        (client) => errorOf(client.process({ name: "bad", url: "not a url" }, processRequest))
      )
      assert.strictEqual(result._tag, "Unreachable")
      assert.include(result.message, "invalid URL")
    })
  )
})

describe("ProcessorClient over a real server", () => {
  const live = processorClientLayer.pipe(Layer.provide(FetchHttpClient.layer))

  it.scopedLive("Unreachable: refused", () =>
    Effect.gen(function* () {
      const port = yield* closedPort
      const client = yield* ProcessorClient
      const error = yield* errorOf(
        client.process({ name: "gone", url: `http://127.0.0.1:${port}` }, processRequest)
      )
      assert.strictEqual(error._tag, "Unreachable")
      assert.include(error.message, "ECONNREFUSED")
    }).pipe(Effect.provide(live))
  )

  it.scopedLive("Unreachable: the server drops the connection", () =>
    Effect.gen(function* () {
      const server = yield* realServer((request) => request.socket.destroy())
      const client = yield* ProcessorClient
      const error = yield* errorOf(client.process({ name: "rude", url: server.url }, processRequest))
      assert.strictEqual(error._tag, "Unreachable")
    }).pipe(Effect.provide(live))
  )

  it.scopedLive("Timeout: a body that streams forever", () =>
    Effect.gen(function* () {
      const server = yield* realServer((_, response) => {
        response.writeHead(200, { "content-type": "application/json" })
        const timer = setInterval(() => response.write(" "), 20)
        response.on("close", () => clearInterval(timer))
      })
      const client = yield* ProcessorClient
      const error = yield* errorOf(
        client.process({ name: "slow", url: server.url }, processRequest, { timeout: "300 millis" })
      )
      assert.strictEqual(error._tag, "Timeout")
    }).pipe(Effect.provide(live))
  )

  it.scopedLive("BadResponse: a large streamed body is cut at the limit", () =>
    Effect.gen(function* () {
      let written = 0
      const server = yield* realServer((_, response) => {
        response.writeHead(200, { "content-type": "application/json" })
        const chunk = Buffer.alloc(64 * 1024, 32)
        const write = () => {
          while (written < 64 * 1024 * 1024) {
            written += chunk.length
            if (!response.write(chunk)) return void response.once("drain", write)
          }
          response.end()
        }
        response.on("close", () => {
          written = Number.POSITIVE_INFINITY
        })
        write()
      })
      const client = yield* ProcessorClient
      const error = yield* errorOf(client.process({ name: "big", url: server.url }, processRequest))
      assert.strictEqual(error._tag, "BadResponse")
      assert.include(error.message, "larger than 1048576 bytes")
    }).pipe(Effect.provide(live))
  )

  it.scopedLive("reuses one connection for consecutive calls", () =>
    Effect.gen(function* () {
      const server = yield* realServer((request, response) => {
        request.resume()
        request.on("end", () => {
          response.setHeader("content-type", "application/json")
          response.end(JSON.stringify({ outputDir: "/workspace/area/1234" }))
        })
      })
      const client = yield* ProcessorClient
      for (let i = 0; i < 10; i++) yield* client.process({ name: "ka", url: server.url }, processRequest)
      assert.isAtMost(server.connections(), 2, "10 calls, at most 2 connections")
    }).pipe(Effect.provide(live))
  )
})

describe("ProcessorClient.plug and merge", () => {
  it.effect("plug accepts an empty body", () =>
    Effect.gen(function* () {
      const { result, requests } = yield* withFake(
        () => new Response(null, { status: 200 }),
        (client) =>
          client.plug(
            endpoint,
            Protocol.PlugRequest.make({ directory: "/workspace/area/m", config: { a: 1 } })
          )
      )
      assert.deepStrictEqual(result, Protocol.PlugResponse.make({}))
      assert.strictEqual(requests[0]!.url, "http://127.0.0.1:5551/api/plug")
      assert.deepStrictEqual(JSON.parse(requests[0]!.body), {
        directory: "/workspace/area/m",
        config: { a: 1 }
      })
    })
  )

  it.effect("plug checks an outputDir when one is given", () =>
    Effect.gen(function* () {
      const { result } = yield* withFake(
        () => json({ outputDir: "/tmp" }),
        (client) =>
          errorOf(
            client.plug(endpoint, Protocol.PlugRequest.make({ directory: "/workspace/area/m", config: {} }))
          )
      )
      assert.strictEqual(result._tag, "BadResponse")
    })
  )

  it.effect("merge posts to /merge/:sessionId and decodes the answer", () =>
    Effect.gen(function* () {
      const { result, requests } = yield* withFake(
        () => json({ status: "ok", files: 3, conflicts: ["a.txt"] }),
        (client) =>
          client.merge(
            endpoint,
            "s 1",
            Protocol.MergeRequest.make({ fromDirs: ["/workspace/area/a"], toDir: "/workspace/area/m" })
          )
      )
      assert.deepStrictEqual(
        result,
        Protocol.MergeResponse.make({ status: "ok", files: 3, conflicts: ["a.txt"] })
      )
      assert.strictEqual(requests[0]!.url, "http://127.0.0.1:5551/merge/s%201")
    })
  )

  it.effect("merge names a bad field", () =>
    Effect.gen(function* () {
      const { result } = yield* withFake(
        () => json({ status: "failed", files: 3, conflicts: [] }),
        (client) =>
          errorOf(
            client.merge(
              endpoint,
              "s1",
              Protocol.MergeRequest.make({ fromDirs: [], toDir: "/workspace/area/m" })
            )
          )
      )
      assert.strictEqual(result._tag, "BadResponse")
      assert.include(result.message, "field status")
    })
  )
})
