import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { ProcessorClient, Protocol, layer as processorClientLayer } from "@armada/http"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"

/** A plain Node server answering every processor call, counting the TCP connections it accepts. */
const countingServer = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly connections: () => number; readonly close: () => void }>(
    (resume) => {
      let connections = 0
      const server = createServer((request, response) => {
        request.resume()
        request.on("end", () => {
          response.setHeader("content-type", "application/json")
          response.end(JSON.stringify({ outputDir: "/workspace/area/1" }))
        })
      })
      // A slow machine must not see an idle connection closed between two calls.
      server.keepAliveTimeout = 60_000
      server.on("connection", () => {
        connections++
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(
          Effect.succeed({
            url: `http://127.0.0.1:${port}`,
            connections: () => connections,
            close: () => {
              server.closeAllConnections()
              server.close()
            }
          })
        )
      })
    }
  ),
  (server) => Effect.sync(server.close)
)

/**
 * The connections `count` processor calls opened, after a wait for readiness (its probes, on a
 * plain socket of their own, one or more on a busy machine, are not counted).
 */
const calls = (count: number) =>
  Effect.gen(function* () {
    const server = yield* countingServer
    const client = yield* ProcessorClient
    const endpoint = { name: "ka", url: server.url }
    yield* client.waitReady(endpoint)
    const probes = server.connections()
    for (let i = 0; i < count; i++) {
      yield* client.process(
        endpoint,
        Protocol.ProcessRequest.make({ readDir: "/r", writeDir: "/workspace/area/1", globs: [], config: {} })
      )
    }
    return server.connections() - probes
  })

// Which Node HttpClient an application provides decides whether connections are reused: these
// tests pin down the advice in ProcessorClient's docs.
describe("keep-alive with the Node HTTP clients", () => {
  it.scopedLive("NodeHttpClient.layerUndici reuses connections", () =>
    Effect.gen(function* () {
      const connections = yield* calls(20)
      // undici opens a second connection for the second call (seen on a quiet machine: 1, 2, then
      // 2 for every later call); what matters is that the count does not grow with the calls.
      assert.isAtMost(connections, 2, "20 calls")
    }).pipe(Effect.provide(processorClientLayer.pipe(Layer.provide(NodeHttpClient.layerUndici))))
  )

  it.scopedLive("NodeHttpClient.layer with a keep-alive agent reuses connections", () =>
    Effect.gen(function* () {
      const connections = yield* calls(20)
      assert.strictEqual(connections, 1, "20 calls")
    }).pipe(
      Effect.provide(
        processorClientLayer.pipe(
          Layer.provide(NodeHttpClient.layerWithoutAgent),
          Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: true }))
        )
      )
    )
  )

  it.scopedLive("NodeHttpClient.layer's default agent opens a connection per request", () =>
    Effect.gen(function* () {
      const connections = yield* calls(20)
      assert.strictEqual(connections, 20)
    }).pipe(Effect.provide(processorClientLayer.pipe(Layer.provide(NodeHttpClient.layer))))
  )
})
