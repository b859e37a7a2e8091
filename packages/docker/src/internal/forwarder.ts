/**
 * A unix socket of armada's own in front of a dialled engine (TLS, ssh): each connection to it is
 * one dialled connection, bytes copied both ways. The live engine speaks plain HTTP to a socket,
 * so this is how it reaches an engine behind a transport of its own. The socket sits in a folder
 * only this user can open (0700), removed with the scope, as is every connection still open.
 *
 * @internal
 */
import * as fs from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import * as path from "node:path"
import type * as stream from "node:stream"
import { Interruption } from "@armada/core"
import { type ContainerEngine, ContainerEngineError } from "@armada/engine"
import { Effect, type Scope, Stream } from "effect"
import type { Dial } from "./transport.js"

/** Copies between the two until either ends or fails, then closes both. */
const splice = (local: net.Socket, remote: stream.Duplex) => {
  const close = () => {
    local.destroy()
    remote.destroy()
  }
  local.once("error", close).once("close", close)
  remote.once("error", close).once("close", close)
  local.pipe(remote)
  remote.pipe(local)
}

/**
 * Listens on a fresh socket; answers its path.
 *
 * @internal
 */
export const listen = (dial: Dial): Effect.Effect<string, never, Scope.Scope> =>
  Interruption.acquireRelease(
    Effect.async<{ server: net.Server; dir: string; socket: string; open: Set<net.Socket> }>((resume) => {
      const dir = fs.mkdtempSync(path.join(tmpdir(), "armada-engine-"))
      fs.chmodSync(dir, 0o700)
      const socket = path.join(dir, "engine.sock")
      const open = new Set<net.Socket>()
      const server = net.createServer((local) => {
        open.add(local)
        local.once("close", () => open.delete(local))
        // A failed dial closes the client's connection: the live engine sees the engine go away.
        dial().then(
          (remote) => (local.destroyed ? remote.destroy() : splice(local, remote)),
          () => local.destroy()
        )
      })
      server.once("error", (error) => resume(Effect.die(error)))
      server.listen(socket, () => resume(Effect.succeed({ server, dir, socket, open })))
    }),
    ({ server, dir, open }) =>
      Effect.sync(() => {
        server.close()
        for (const local of open) local.destroy()
        fs.rmSync(dir, { recursive: true, force: true })
      })
  ).pipe(Effect.map(({ socket }) => socket))

/**
 * `engine`, its `EngineUnreachable` errors naming `address` rather than the socket it reaches
 * the engine through (`socket`, `unix://…`).
 *
 * @internal
 */
export const readdressed = (
  engine: ContainerEngine.Service,
  socket: string,
  address: string
): ContainerEngine.Service => {
  const fix = (error: ContainerEngineError.ContainerEngineError) =>
    error._tag === "EngineUnreachable" && error.address === socket
      ? new ContainerEngineError.EngineUnreachable({ address, detail: error.detail })
      : error
  // Each member is an Effect, a Stream, or a function answering one of them, all failing with a
  // ContainerEngineError: mapping them one by one keeps the service's shape whatever it holds.
  const wrap = (value: unknown): unknown =>
    typeof value === "object" && value !== null && Stream.StreamTypeId in value
      ? Stream.mapError(value as Stream.Stream<unknown, ContainerEngineError.ContainerEngineError>, fix)
      : Effect.isEffect(value)
        ? Effect.mapError(value as Effect.Effect<unknown, ContainerEngineError.ContainerEngineError>, fix)
        : value
  return Object.fromEntries(
    Object.entries(engine).map(([key, value]) => [
      key,
      typeof value === "function" ? (...args: Array<unknown>) => wrap(value(...args)) : wrap(value)
    ])
  ) as unknown as ContainerEngine.Service
}
