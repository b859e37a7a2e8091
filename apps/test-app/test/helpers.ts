import * as fs from "node:fs/promises"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { Protocol, layer as processorClientLayer } from "@armada/http"
import { Server, Settings } from "@armada/test-app"
import { HttpServer } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Context, Effect, Layer } from "effect"

/** The client the CLI uses: undici keeps connections alive. */
export const clientLayer = processorClientLayer.pipe(Layer.provide(NodeHttpClient.layerUndici))

/** A temporary directory, removed with the scope. */
export const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(join(tmpdir(), "armada-test-app-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

export type Tree = Readonly<Record<string, string | Uint8Array | { readonly link: string }>>

/** Writes files (and symbolic links) below `root`. */
export const writeTree = (root: string, tree: Tree) =>
  Effect.promise(async () => {
    for (const [path, content] of Object.entries(tree)) {
      const target = join(root, path)
      await fs.mkdir(dirname(target), { recursive: true })
      if (typeof content === "object" && "link" in content) await fs.symlink(content.link, target)
      else await fs.writeFile(target, content)
    }
  })

export const read = (path: string) => Effect.promise(() => fs.readFile(path, "utf8"))

/** Every entry below `root` as `path -> content` (files) or `path -> "-> target"` (links). */
export const readTree = (root: string) =>
  Effect.promise(async () => {
    const out: Record<string, string> = {}
    const visit = async (relative: string) => {
      for (const entry of await fs.readdir(join(root, relative), { withFileTypes: true })) {
        const path = relative === "" ? entry.name : `${relative}/${entry.name}`
        if (entry.isSymbolicLink()) out[path] = `-> ${await fs.readlink(join(root, path))}`
        else if (entry.isDirectory()) await visit(path)
        else out[path] = await fs.readFile(join(root, path), "utf8")
      }
    }
    await visit("")
    return out
  })

/**
 * The test app in this process on 127.0.0.1 and a free port, with `/workspace/...` below `root`;
 * stopped with the scope. Returns the endpoint to call.
 */
export const serve = (
  role: Settings.Role,
  root: string | undefined,
  faults: Partial<Settings.Faults> = {},
  maxFileBytes: number = Protocol.defaultMaxFileBytes
) =>
  Effect.gen(function* () {
    const context = yield* Layer.build(
      Server.layerNode({
        role,
        host: "127.0.0.1",
        port: 0,
        workspaceRoot: root,
        maxFileBytes,
        faults: { ...Settings.noFaults, ...faults }
      })
    )
    const address = Context.get(context, HttpServer.HttpServer).address as HttpServer.TcpAddress
    return { name: `test-${role}`, url: `http://127.0.0.1:${address.port}` }
  })

/** A port nothing listens on right now. */
export const freePort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})
