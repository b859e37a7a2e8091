/**
 * A proxy on 127.0.0.1 in front of a test `Registry` that can spoil or stall its layer downloads,
 * so what a pull shows while it runs, and how it fails, can be tested for real:
 * - `hold`: every layer (a blob over 64 KiB) stops halfway until `release`: the engine reports
 *   the bytes so far, and a test can look at the progress, or interrupt the pull, at that point;
 * - `corrupt`: every blob arrives with its first byte flipped, so the engine's checksum fails and
 *   it reports the error inside the progress stream.
 *
 * @since 0.2.0
 */
import * as http from "node:http"
import type * as net from "node:net"
import { Deferred, Effect, type Scope } from "effect"
import { type Registry, RegistryError } from "./Registry.js"

/**
 * @since 0.2.0
 * @category models
 */
export type Mode = "hold" | "corrupt"

/**
 * @since 0.2.0
 * @category models
 */
export interface RegistryProxy {
  /** `127.0.0.1:<port>`: pull `<address>/<name>` to go through the proxy. */
  readonly address: string
  readonly ref: (name: string) => string
  /** Completes once a layer download is being held (`hold`). */
  readonly holding: Effect.Effect<void>
  /** Lets every held download finish, and the later ones pass. */
  readonly release: Effect.Effect<void>
}

const isLayer = (request: http.IncomingMessage, response: http.IncomingMessage) =>
  request.method === "GET" &&
  /\/blobs\/sha256:/.test(request.url ?? "") &&
  response.statusCode === 200 &&
  Number(response.headers["content-length"] ?? 0) > 64 * 1024

/**
 * Starts the proxy on a free port; the scope stops it and drops its connections.
 *
 * @since 0.2.0
 * @category constructors
 */
export const start = (
  registry: Registry,
  mode: Mode
): Effect.Effect<RegistryProxy, RegistryError, Scope.Scope> =>
  Effect.gen(function* () {
    const holding = yield* Deferred.make<void>()
    const released = yield* Deferred.make<void>()
    const [upstreamHost, upstreamPort] = registry.address.split(":")
    const waitForRelease = () => Effect.runPromise(Deferred.await(released))

    const pass = (
      request: http.IncomingMessage,
      response: http.ServerResponse,
      upstream: http.IncomingMessage
    ) => {
      response.writeHead(upstream.statusCode ?? 502, upstream.headers)
      if (!/\/blobs\/sha256:/.test(request.url ?? "") || upstream.statusCode !== 200)
        return upstream.pipe(response)
      if (mode === "corrupt") {
        let first = true
        upstream.on("data", (chunk: Buffer) => {
          const spoiled = Buffer.from(chunk)
          if (first && spoiled.length > 0) spoiled[0]! ^= 0xff
          first = false
          response.write(spoiled)
        })
        upstream.on("end", () => response.end())
        return
      }
      if (!isLayer(request, upstream)) return upstream.pipe(response)
      const half = Math.floor(Number(upstream.headers["content-length"]) / 2)
      let sent = 0
      upstream.on("data", (chunk: Buffer) => {
        if (sent >= half) return
        const now = chunk.subarray(0, half - sent)
        sent += now.length
        response.write(now)
        if (sent < half) return
        upstream.pause()
        const rest = chunk.subarray(now.length)
        Deferred.unsafeDone(holding, Effect.void)
        void waitForRelease().then(() => {
          response.write(rest)
          upstream.removeAllListeners("data")
          upstream.pipe(response)
          upstream.resume()
        })
      })
    }

    const sockets = new Set<net.Socket>()
    const server = http.createServer((request, response) => {
      const upstream = http.request(
        {
          host: upstreamHost,
          port: Number(upstreamPort),
          path: request.url,
          method: request.method,
          headers: request.headers
        },
        (answer) => pass(request, response, answer)
      )
      upstream.on("error", () => response.destroy())
      request.pipe(upstream)
    })
    server.on("connection", (socket) => {
      sockets.add(socket)
      socket.once("close", () => sockets.delete(socket))
    })
    const port = yield* Effect.acquireRelease(
      Effect.async<number, RegistryError>((resume) => {
        server.once("error", (error) =>
          resume(Effect.fail(new RegistryError({ step: "start the registry proxy", detail: error.message })))
        )
        server.listen(0, "127.0.0.1", () =>
          resume(Effect.succeed((server.address() as net.AddressInfo).port))
        )
      }),
      () =>
        Effect.zipRight(
          Deferred.succeed(released, undefined),
          Effect.async<void>((resume) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => resume(Effect.void))
          })
        )
    )
    const address = `127.0.0.1:${port}`
    return {
      address,
      ref: (name: string) => `${address}/${name}`,
      holding: Deferred.await(holding),
      release: Deferred.succeed(released, undefined).pipe(Effect.asVoid)
    }
  })
