import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { type Probe, ReadinessProbe } from "@armada/http"
import { HttpClient, HttpClientError, type HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { Effect, Layer } from "effect"
import { describeCause } from "../src/internal/error.js"
import { noAnswer } from "../src/internal/probe.js"

/** What a fake HTTP client answers: a web `Response`, a socket error code, or nothing at all. */
export type FakeAnswer = Response | { readonly errno: string } | "hang"

export interface Recorded {
  readonly method: string
  readonly url: string
  readonly body: string
}

/**
 * An `HttpClient` and a `ReadinessProbe` whose answers come from `answer`, recording every request
 * (a probe as `GET <url>/`). The client is built with `HttpClient.make` and
 * `HttpClientResponse.fromWeb`, as the platform's own tests do; a probe is ready on a 200, and
 * fails on another status, a socket error or no answer in time as the live probe does.
 */
export const fakeClient = (answer: (request: Recorded, index: number) => FakeAnswer) => {
  const requests: Array<Recorded> = []
  const probe: Probe = {
    probe: (endpoint, timeout) =>
      Effect.suspend(() => {
        const recorded = { method: "GET", url: `${endpoint.url}/`, body: "" }
        requests.push(recorded)
        const result = answer(recorded, requests.length - 1)
        // The live probe's own timeout, on the TestClock.
        if (result === "hang") return Effect.zipRight(Effect.sleep(timeout), Effect.fail(noAnswer(timeout)))
        if (result instanceof Response)
          return result.status === 200 ? Effect.void : Effect.fail(`HTTP ${result.status}`)
        return Effect.fail(describeCause({ code: result.errno }))
      })
  }
  const client = HttpClient.make((request: HttpClientRequest.HttpClientRequest, url) =>
    Effect.suspend(() => {
      const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
      const recorded = { method: request.method, url: url.toString(), body }
      requests.push(recorded)
      const result = answer(recorded, requests.length - 1)
      if (result === "hang") return Effect.never
      if (result instanceof Response) return Effect.succeed(HttpClientResponse.fromWeb(request, result))
      const cause = Object.assign(new Error(`connect ${result.errno} 127.0.0.1:1`), { code: result.errno })
      return Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause }))
    })
  )
  return {
    requests,
    layer: Layer.merge(Layer.succeed(HttpClient.HttpClient, client), Layer.succeed(ReadinessProbe, probe))
  }
}

export const json = (value: unknown, status = 200): Response =>
  new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } })

/**
 * A real HTTP server on 127.0.0.1 and a free port, closed (with its open connections) when the
 * scope ends. Counts the TCP connections it accepted, and tells how many are open.
 */
export const realServer = (handler: (request: IncomingMessage, response: ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.async<{
      readonly url: string
      readonly server: Server
      readonly connections: () => number
      readonly open: Effect.Effect<number>
    }>((resume) => {
      let connections = 0
      const server = createServer(handler)
      server.on("connection", () => {
        connections++
      })
      const open = Effect.async<number>((resumeOpen) => {
        server.getConnections((_, count) => resumeOpen(Effect.succeed(count)))
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(
          Effect.succeed({ url: `http://127.0.0.1:${port}`, server, connections: () => connections, open })
        )
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

/** A port nothing listens on: bound once by a throwaway server, then released. */
export const closedPort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})
