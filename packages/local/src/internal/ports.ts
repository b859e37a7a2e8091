/**
 * Free TCP ports on 127.0.0.1, for the processes that stand in for containers.
 *
 * @internal
 */
import { createServer } from "node:net"
import type { ContainerEngineError } from "@armada/engine"
import { Effect } from "effect"
import { hostError } from "./error.js"

/**
 * A port the kernel reports free on 127.0.0.1 now. Another program may take it before the
 * container binds it; the caller keeps its own ports apart with `taken`.
 *
 * @internal
 */
export const freePort = (
  taken: ReadonlySet<number>
): Effect.Effect<number, ContainerEngineError.EngineError> =>
  Effect.async<number, ContainerEngineError.EngineError>((resume) => {
    const server = createServer()
    server.once("error", (cause) => resume(Effect.fail(hostError("choose port", "127.0.0.1")(cause))))
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resume(Effect.succeed(port)))
    })
    return Effect.sync(() => {
      server.close()
    })
  }).pipe(
    Effect.repeat({ while: (port) => taken.has(port), times: 20 }),
    Effect.filterOrFail(
      (port) => !taken.has(port),
      () => hostError("choose port", "127.0.0.1")(new Error("no free port found"))
    )
  )
