import type * as http from "node:http"
import { DockerEngineLive } from "@armada/docker"
import { ContainerEngine } from "@armada/engine"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Stream } from "effect"
import { fakeEngine } from "./fakeEngine.js"

/** A fake engine that takes archive uploads and tells what reached it. */
const uploads = Effect.gen(function* () {
  const started = yield* Deferred.make<void>()
  const ended = yield* Deferred.make<{
    readonly url: string
    readonly body: string
    readonly complete: boolean
  }>()
  const fake = yield* fakeEngine((request: http.IncomingMessage, response: http.ServerResponse) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => {
      chunks.push(chunk)
      Effect.runSync(Deferred.succeed(started, undefined))
    })
    request.on("end", () => response.writeHead(200).end())
    request.on("close", () =>
      Effect.runSync(
        Deferred.succeed(ended, {
          url: request.url ?? "",
          body: Buffer.concat(chunks).toString("utf8"),
          complete: request.complete
        })
      )
    )
  })
  const engine = ContainerEngine.make(yield* DockerEngineLive.make({ host: `unix://${fake.socket}` }))
  return { engine, started, ended }
})

const bytes = (text: string) => new TextEncoder().encode(text)

describe("DockerEngineLive putArchive", () => {
  it.scopedLive("streams the whole archive as the request body and ends it", () =>
    Effect.gen(function* () {
      const { engine, ended } = yield* uploads
      yield* engine.putArchive(
        { _tag: "Container", container: "armada-target" },
        "/workspace",
        Stream.make(bytes("first "), bytes("second "), bytes("third"))
      )
      const seen = yield* Deferred.await(ended)
      assert.match(seen.url, /^\/containers\/armada-target\/archive\?path=%2Fworkspace/)
      assert.strictEqual(seen.body, "first second third")
      assert.isTrue(seen.complete)
    })
  )

  it.scopedLive("a failing archive fails with its own error and the cut body is never ended", () =>
    Effect.gen(function* () {
      const { engine, started, ended } = yield* uploads
      // Fails only once the engine has the start of the body, so the request is under way.
      const archive = Stream.concat(
        Stream.make(bytes("the start")),
        Stream.fromEffect(Deferred.await(started)).pipe(
          Stream.flatMap(() => Stream.fail("archive broke" as const))
        )
      )
      const error = yield* Effect.flip(
        engine.putArchive({ _tag: "Container", container: "armada-target" }, "/workspace", archive)
      )
      assert.strictEqual(error, "archive broke")
      const seen = yield* Deferred.await(ended)
      assert.strictEqual(seen.body, "the start")
      assert.isFalse(seen.complete, "the engine saw the body end: it would extract a cut archive")
    })
  )
})
