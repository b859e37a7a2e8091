import * as fs from "node:fs/promises"
import * as http from "node:http"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Effect } from "effect"

/**
 * A fake engine on a unix socket in a temp directory: no network, answers decided per test.
 */
export const fakeEngine = (handler: http.RequestListener) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const dir = await fs.mkdtemp(path.join(tmpdir(), "armada-fake-engine-"))
      const socket = path.join(dir, "docker.sock")
      const server = http.createServer(handler)
      await new Promise<void>((resolve) => server.listen(socket, resolve))
      return { socket, server, dir }
    }),
    ({ server, dir }) =>
      Effect.promise(async () => {
        server.closeAllConnections()
        await new Promise((resolve) => server.close(resolve))
        await fs.rm(dir, { recursive: true, force: true })
      })
  )
