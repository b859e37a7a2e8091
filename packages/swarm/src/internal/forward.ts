/**
 * Published ports of nodes armada does not reach on its own loopback. armada calls every
 * container on 127.0.0.1 (the protocol's promise), while a task's host-mode port is bound on its
 * node; for a node whose publish address is not a loopback one, the engine listens on a
 * 127.0.0.1 port of its own and pipes each connection to the node's port. Forwarders live until
 * their service is removed, or the engine's scope closes.
 *
 * @internal
 */
import * as net from "node:net"
import { Interruption } from "@armada/core"
import { ContainerEngineError } from "@armada/engine"
import { Effect, type Scope } from "effect"

interface Forwarder {
  readonly target: string
  readonly port: number
  readonly server: net.Server
}

/** @internal */
export interface Forwarders {
  /** The 127.0.0.1 port that reaches `host:port` for `service`, opened on the first call. */
  readonly portFor: (
    service: string,
    host: string,
    port: number
  ) => Effect.Effect<number, ContainerEngineError.ContainerEngineError>
  /** Closes the service's forwarders. */
  readonly close: (service: string) => Effect.Effect<void>
}

const listen = (host: string, port: number): Promise<Forwarder> =>
  new Promise((resolve, reject) => {
    const server = net.createServer((inbound) => {
      const outbound = net.connect({ host, port })
      inbound.pipe(outbound).pipe(inbound)
      inbound.on("error", () => outbound.destroy())
      outbound.on("error", () => inbound.destroy())
    })
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      resolve({
        target: `${host}:${port}`,
        port: typeof address === "object" && address !== null ? address.port : 0,
        server
      })
    })
  })

const shut = (forwarders: ReadonlyArray<Forwarder>) =>
  Effect.sync(() => {
    for (const forwarder of forwarders) forwarder.server.close()
  })

/** @internal */
export const make: Effect.Effect<Forwarders, never, Scope.Scope> = Effect.gen(function* () {
  const byService = new Map<string, Array<Forwarder>>()
  const lock = yield* Effect.makeSemaphore(1)
  yield* Interruption.addFinalizer(() => shut([...byService.values()].flat()))
  return {
    portFor: (service, host, port) =>
      lock.withPermits(1)(
        Effect.gen(function* () {
          const open = byService.get(service) ?? []
          const found = open.find((forwarder) => forwarder.target === `${host}:${port}`)
          if (found !== undefined) return found.port
          const forwarder = yield* Effect.tryPromise({
            try: () => listen(host, port),
            catch: (error) =>
              new ContainerEngineError.EngineError({
                operation: "forward",
                resource: `${host}:${port}`,
                detail: `could not listen on 127.0.0.1 to reach the node's published port: ${String(error)}`
              })
          })
          byService.set(service, [...open, forwarder])
          return forwarder.port
        })
      ),
    close: (service) =>
      lock.withPermits(1)(
        Effect.suspend(() => {
          const open = byService.get(service) ?? []
          byService.delete(service)
          return shut(open)
        })
      )
  }
})
