/**
 * What the in-process tests of `armada serve` share: a spec and its template, the memory engine
 * with a merger that writes a README.md, the server on a free port, and requests to it.
 */
import { request as httpRequest } from "node:http"
import { gzipSync } from "node:zlib"
import { Archive, ContainerEngine, MemoryEngine } from "@armada/engine"
import * as Http from "@armada/http"
import { type ProcessorError, Protocol } from "@armada/http"
import { Pool } from "@armada/orchestrator"
import { HttpClient, HttpClientRequest, type HttpClientResponse, HttpServer } from "@effect/platform"
import { NodeContext, NodeHttpServer } from "@effect/platform-node"
import { Chunk, Deferred, Effect, Layer, Option, type Redacted, Stream } from "effect"
import type * as Pipeline from "../src/commands/Pipeline.js"
import * as Runs from "../src/serve/Runs.js"
import * as Server from "../src/serve/Server.js"

export const spec = `
template: ./site
processors:
  - { id: docs, image: armada/test-app:dev, globs: [{ glob: "*.md", type: template }] }
plugins:
  - { id: stamp, image: armada/test-app:dev }
`

export const templateArchive = Effect.map(
  Stream.runCollect(Archive.gzip(Archive.toTar(Archive.make({ "README.md": "# {{name}}\n" })))),
  (chunks) => Buffer.concat(Chunk.toArray(chunks))
)

/** A tar entry written by hand (`Archive` refuses to make an unsafe one): a file, or a link to `link`. */
export const entry = (name: string, type: "0" | "2", content: string, link = ""): Buffer => {
  const header = Buffer.alloc(512)
  header.write(name, 0, "utf8")
  header.write(type === "2" ? "0000777\0" : "0000644\0", 100)
  header.write("0000000\0", 108)
  header.write("0000000\0", 116)
  header.write(`${content.length.toString(8).padStart(11, "0")}\0`, 124)
  header.write("00000000000\0", 136)
  header.write("        ", 148)
  header.write(type, 156)
  header.write(link, 157, "utf8")
  header.write("ustar\0", 257)
  header.write("00", 263)
  let sum = 0
  for (const byte of header) sum += byte
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148)
  const body = Buffer.alloc(Math.ceil(content.length / 512) * 512)
  body.write(content)
  return Buffer.concat([header, body])
}

/** The entries as a `.tar.gz`. */
export const tarOf = (...entries: ReadonlyArray<Buffer>): Buffer =>
  gzipSync(Buffer.concat([...entries, Buffer.alloc(1024)]))

export const form = (specText: string, template: Uint8Array) => {
  const data = new FormData()
  data.append("spec", specText)
  data.append("format", "yaml")
  data.append("template", new Blob([template], { type: "application/gzip" }), "template.tar.gz")
  return data
}

export const engineInfo = { kind: "docker" as const, address: "memory://", reason: "test" }

/**
 * The memory engine, and containers whose merger writes a README.md into its merge dir (the
 * default test routes write nothing, and an export needs a merge dir).
 */
export const engineAndClient = (gate: Deferred.Deferred<void> | undefined) =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const memory = yield* MemoryEngine.MemoryEngine
      const merge = (request: Protocol.MergeRequest, endpoint: ProcessorError.Endpoint) =>
        Effect.gen(function* () {
          if (gate !== undefined) yield* Deferred.await(gate)
          const info = yield* Effect.orDie(engine.inspectContainer(endpoint.name))
          const area = info.mounts.find((mount) => mount.target === Protocol.areaDir)!
          const rel = request.toDir.slice(Protocol.areaDir.length)
          yield* Effect.orDie(
            memory.writeVolume(area.volume, rel, Archive.make({ "README.md": "# merged\n" }))
          )
          return Protocol.MergeResponse.make({ status: "ok", files: 1, conflicts: [] })
        })
      return Http.layerTest({ "*": { merge: (request, _session, endpoint) => merge(request, endpoint) } })
    })
  ).pipe(Layer.provideMerge(MemoryEngine.layerMemory({ images: [{ ref: "armada/test-app:dev" }] })))

/** The server on a free port; `gate`: every merge waits for it. */
export const serverWith = (
  token: Option.Option<Redacted.Redacted<string>>,
  gate?: Deferred.Deferred<void>,
  runs: Runs.Options = {}
) =>
  Server.layer({ token }).pipe(
    Layer.provideMerge(Layer.scoped(Server.ServerRuns, Runs.make(engineInfo, runs))),
    Layer.provideMerge(Pool.layer({ maxSets: 2 })),
    Layer.provideMerge(engineAndClient(gate)),
    Layer.provideMerge(NodeHttpServer.layerTest),
    Layer.provideMerge(NodeContext.layer)
  )

export const json = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.map(response.json, (body) => body as Record<string, unknown>)

export const post = (specText: string, template: Uint8Array) =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    client.execute(HttpClientRequest.bodyFormData(HttpClientRequest.post("/runs"), form(specText, template)))
  )

export const get = (path: string) => Effect.flatMap(HttpClient.HttpClient, (client) => client.get(path))

/** The test server's port. */
export const port = Effect.flatMap(HttpServer.HttpServer, (server) =>
  server.address._tag === "TcpAddress" ? Effect.succeed(server.address.port) : Effect.die("not on TCP")
)

/**
 * `POST /runs` with `Transfer-Encoding: chunked` and no `Content-Length`, its `template` part
 * `templateBytes` of zeros, written a MiB at a time until the server answers (node:http, so
 * nothing adds a length).
 */
export const chunkedPost = (port: number, templateBytes: number) =>
  Effect.async<{ status: number; body: string; sentLength: string | undefined }, Error>((resume) => {
    const boundary = "armada-chunked"
    const head = Buffer.from(
      [
        `--${boundary}`,
        'Content-Disposition: form-data; name="spec"',
        "",
        spec,
        `--${boundary}`,
        'Content-Disposition: form-data; name="format"',
        "",
        "yaml",
        `--${boundary}`,
        'Content-Disposition: form-data; name="template"; filename="template.tar.gz"',
        "Content-Type: application/gzip",
        "",
        ""
      ].join("\r\n")
    )
    const request = httpRequest({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: "/runs",
      headers: { "content-type": `multipart/form-data; boundary=${boundary}`, "transfer-encoding": "chunked" }
    })
    let answered = false
    request.on("error", (error) => {
      if (!answered) resume(Effect.fail(error))
    })
    request.on("response", (response) => {
      answered = true
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => {
        body += chunk
      })
      response.on("end", () => {
        request.destroy()
        resume(
          Effect.succeed({
            status: response.statusCode ?? 0,
            body,
            sentLength: request.getHeader("content-length") as string | undefined
          })
        )
      })
    })
    const mib = Buffer.alloc(1024 * 1024)
    let left = templateBytes
    const writeMore = () => {
      while (!answered && left > 0) {
        const chunk = mib.subarray(0, Math.min(left, mib.length))
        left -= chunk.length
        if (!request.write(chunk)) return void request.once("drain", writeMore)
      }
      if (!answered) request.end(`\r\n--${boundary}--\r\n`)
    }
    request.write(head)
    writeMore()
    return Effect.sync(() => request.destroy())
  })

/** The flags of `armada run spec --json [-o output]`, as `Remote.run` takes them. */
export const runFlags = (specFile: string, output?: string): Pipeline.RunFlags => ({
  spec: specFile,
  engine: undefined as never,
  concurrency: Option.none(),
  prefix: Option.none(),
  pull: Option.none(),
  keep: false,
  json: true,
  quiet: false,
  verbose: false,
  output: Option.fromNullable(output)
})
