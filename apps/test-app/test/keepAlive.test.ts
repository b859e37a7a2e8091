import { type AgentOptions, createServer } from "node:http"
import type { AddressInfo, Socket } from "node:net"
import { agentOptions, ProcessorClient, Protocol, layer as processorClientLayer } from "@armada/http"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"

/**
 * A plain Node server answering every processor call, counting the TCP connections it accepts.
 * With `dropsIdleAfterMillis`, a request that comes on a connection idle for longer is cut off
 * unanswered, as when a server closes an idle connection at the moment a call is sent on it.
 */
const countingServer = (options: { readonly dropsIdleAfterMillis?: number } = {}) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly connections: () => number; readonly close: () => void }>(
      (resume) => {
        let connections = 0
        const answeredAt = new WeakMap<Socket, number>()
        const server = createServer((request, response) => {
          const idleSince = answeredAt.get(request.socket)
          const drops = options.dropsIdleAfterMillis
          if (drops !== undefined && idleSince !== undefined && Date.now() - idleSince > drops) {
            request.socket.destroy()
            return
          }
          request.resume()
          request.on("end", () => {
            response.setHeader("content-type", "application/json")
            response.end(JSON.stringify({ outputDir: "/workspace/area/1" }))
          })
          response.on("finish", () => answeredAt.set(request.socket, Date.now()))
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

const processRequest = Protocol.ProcessRequest.make({
  readDir: "/r",
  writeDir: "/workspace/area/1",
  globs: [],
  config: {}
})

/**
 * The connections `count` processor calls opened, after a wait for readiness (its probes, on a
 * plain socket of their own, one or more on a busy machine, are not counted).
 */
const calls = (count: number) =>
  Effect.gen(function* () {
    const server = yield* countingServer()
    const client = yield* ProcessorClient
    const endpoint = { name: "ka", url: server.url }
    yield* client.waitReady(endpoint)
    const probes = server.connections()
    for (let i = 0; i < count; i++) {
      yield* client.process(endpoint, processRequest)
    }
    return server.connections() - probes
  })

/** The client over node:http with an agent of `options`. */
const overAgent = (options: AgentOptions) =>
  processorClientLayer.pipe(
    Layer.provide(NodeHttpClient.layerWithoutAgent),
    Layer.provide(NodeHttpClient.makeAgentLayer(options))
  )
const agentClient = overAgent(agentOptions)
const timeoutlessClient = overAgent({ keepAlive: true })

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
    }).pipe(Effect.provide(timeoutlessClient))
  )

  it.scopedLive("with agentOptions, calls back to back share a connection", () =>
    Effect.gen(function* () {
      const connections = yield* calls(20)
      // Each call comes within milliseconds of the last; only a machine stalled for the agent's
      // whole idle timeout between two of them would open another.
      assert.isAtMost(connections, 2, "20 calls")
    }).pipe(Effect.provide(agentClient))
  )

  /**
   * Two calls 4 s apart to a server that drops a connection idle for over 3 s when a request comes
   * on it. The wait is what is tested (a connection left idle), not a synchronisation.
   */
  const afterIdle = Effect.gen(function* () {
    const server = yield* countingServer({ dropsIdleAfterMillis: 3_000 })
    const client = yield* ProcessorClient
    const endpoint = { name: "idle", url: server.url }
    yield* client.process(endpoint, processRequest)
    yield* Effect.sleep("4 seconds")
    const second = yield* Effect.either(client.process(endpoint, processRequest))
    return { second, connections: server.connections() }
  })

  it.scopedLive("a keep-alive agent without a timeout sends a call on a connection the server dropped", () =>
    Effect.gen(function* () {
      const { second, connections } = yield* afterIdle
      assert.isTrue(Either.isLeft(second), "the call on the dropped connection failed")
      if (Either.isLeft(second)) assert.strictEqual(second.left._tag, "Unreachable")
      assert.strictEqual(connections, 1)
    }).pipe(Effect.provide(timeoutlessClient))
  )

  it.scopedLive("with agentOptions, a connection idle for seconds is closed before a call could use it", () =>
    Effect.gen(function* () {
      const { second, connections } = yield* afterIdle
      assert.isTrue(Either.isRight(second), Either.isLeft(second) ? second.left.message : "")
      assert.strictEqual(connections, 2, "the second call came on a new connection")
    }).pipe(Effect.provide(agentClient))
  )

  it.scopedLive("NodeHttpClient.layer's default agent opens a connection per request", () =>
    Effect.gen(function* () {
      const connections = yield* calls(20)
      assert.strictEqual(connections, 20)
    }).pipe(Effect.provide(processorClientLayer.pipe(Layer.provide(NodeHttpClient.layer))))
  )
})
