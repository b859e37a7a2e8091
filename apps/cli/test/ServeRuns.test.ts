/**
 * What docs/serve.md says of a run's life on `armada serve` and of `armada run --server`, each
 * claim with a test that fails when it breaks (in-process, memory engine): the output is 409 while
 * the run runs; DELETE forgets a finished run; the server keeps the last N finished runs; a spec
 * over 1 MiB is 413; an uploaded template over the unpacked limit, or one whose links lead out, is
 * refused and writes nothing outside; /metrics names every metric; the client writes a `.tar.gz`
 * as it came, refuses the local-only flags, ends as the events' final `Result` says (the server
 * may be gone by then), and interrupting it interrupts the run on the server.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gunzipSync } from "node:zlib"
import { Archive } from "@armada/engine"
import { Pool } from "@armada/orchestrator"
import { HttpClient, HttpClientRequest, HttpServer } from "@effect/platform"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, FiberId, Layer, Option, Stream } from "effect"
import * as Remote from "../src/commands/Remote.js"
import * as Output from "../src/Output.js"
import * as Api from "../src/serve/Api.js"
import { entry, get, json, post, runFlags, serverWith, spec, tarOf, templateArchive } from "./serveHarness.js"

const scratch = mkdtempSync(join(tmpdir(), "armada-serve-runs-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const del = (path: string) =>
  Effect.flatMap(HttpClient.HttpClient, (client) => client.execute(HttpClientRequest.del(path)))

/** POSTs the spec, waits for the run's end (its events), and gives its id. */
const runToEnd = Effect.gen(function* () {
  const created = yield* post(spec, yield* templateArchive)
  assert.strictEqual(created.status, 201)
  const { id } = (yield* json(created)) as { id: string }
  yield* (yield* get(`/runs/${id}/events`)).text
  return id
})

/** A folder with `site/README.md` and the spec file, for `armada run --server`. */
const clientDir = () => {
  const dir = mkdtempSync(join(scratch, "client-"))
  mkdirSync(join(dir, "site"))
  writeFileSync(join(dir, "site", "README.md"), "# {{name}}\n")
  writeFileSync(join(dir, "pipeline.yaml"), spec)
  return dir
}

const urlOf = Effect.map(HttpServer.HttpServer, (server) =>
  server.address._tag === "TcpAddress" ? `http://127.0.0.1:${server.address.port}` : ""
)

describe("armada serve: a run's life, the limits, the client", () => {
  it.scopedLive("GET /runs/:id/output is 409 NoOutput while the run runs", () => {
    const gate = Deferred.unsafeMake<void>(FiberId.none)
    return Effect.gen(function* () {
      const { id } = (yield* json(yield* post(spec, yield* templateArchive))) as { id: string }
      const output = yield* get(`/runs/${id}/output`)
      assert.strictEqual(output.status, 409)
      const body = (yield* json(output)) as { _tag: string; status: string }
      assert.deepStrictEqual([body._tag, body.status], ["NoOutput", "running"])
      yield* Deferred.succeed(gate, undefined)
      yield* (yield* get(`/runs/${id}/events`)).text
      assert.strictEqual((yield* get(`/runs/${id}/output`)).status, 200)
    }).pipe(Effect.provide(serverWith(Option.none(), gate)))
  })

  it.scoped("DELETE of a finished run forgets it: 404 for it and its output afterwards", () =>
    Effect.gen(function* () {
      const id = yield* runToEnd
      const deleted = yield* del(`/runs/${id}`)
      assert.strictEqual(deleted.status, 200)
      assert.strictEqual(((yield* json(deleted)) as { status: string }).status, "success")
      assert.strictEqual((yield* get(`/runs/${id}`)).status, 404)
      assert.strictEqual((yield* get(`/runs/${id}/output`)).status, 404)
      assert.strictEqual((yield* del(`/runs/${id}`)).status, 404)
    }).pipe(Effect.provide(serverWith(Option.none())))
  )

  it.scoped("the server keeps the last finished runs (here 2): the oldest is forgotten", () =>
    Effect.gen(function* () {
      const first = yield* runToEnd
      const second = yield* runToEnd
      const third = yield* runToEnd
      assert.strictEqual((yield* get(`/runs/${first}`)).status, 404)
      assert.strictEqual((yield* get(`/runs/${second}/output`)).status, 200)
      assert.strictEqual((yield* get(`/runs/${third}/output`)).status, 200)
    }).pipe(Effect.provide(serverWith(Option.none(), undefined, { keptRuns: 2 })))
  )

  it.scoped("a spec over 1 MiB is 413 TooLarge; nothing runs", () =>
    Effect.gen(function* () {
      const big = `${spec}#${"x".repeat(Api.maxSpecBytes)}\n`
      const response = yield* post(big, yield* templateArchive)
      assert.strictEqual(response.status, 413)
      const body = (yield* json(response)) as { _tag: string; message: string }
      assert.strictEqual(body._tag, "TooLarge")
      assert.include(body.message, `${Api.maxSpecBytes} bytes`)
      assert.strictEqual((yield* (yield* Pool.Pool).stats).misses, 0)
    }).pipe(Effect.provide(serverWith(Option.none())))
  )

  it.scoped("an uploaded template over the unpacked limit (here 4 KiB) is 400 BadTemplate", () =>
    Effect.gen(function* () {
      const response = yield* post(spec, tarOf(entry("README.md", "0", "x".repeat(8 * 1024))))
      assert.strictEqual(response.status, 400)
      const body = (yield* json(response)) as { _tag: string; message: string }
      assert.strictEqual(body._tag, "BadTemplate")
      assert.include(body.message, "more than 4096 bytes unpacked")
      // Under the limit, the same server takes it.
      assert.strictEqual((yield* post(spec, tarOf(entry("README.md", "0", "# small\n")))).status, 201)
    }).pipe(Effect.provide(serverWith(Option.none(), undefined, { maxTemplateBytes: 4096 })))
  )

  it.scoped(
    "an archive whose link points outside, or that writes through a link, is refused; nothing lands outside",
    () =>
      Effect.gen(function* () {
        const target = join(scratch, "through-link")
        mkdirSync(target)
        const outward = yield* post(spec, tarOf(entry("out", "2", "", target)))
        assert.strictEqual(outward.status, 400)
        assert.strictEqual(((yield* json(outward)) as { _tag: string })._tag, "BadTemplate")
        const climbing = yield* post(
          spec,
          tarOf(entry("up", "2", "", "../../../../.."), entry("up/owned.txt", "0", "owned\n"))
        )
        assert.strictEqual(climbing.status, 400)
        const through = yield* post(
          spec,
          tarOf(entry("inner", "2", "", "."), entry("inner/../../owned.txt", "0", "owned\n"))
        )
        assert.strictEqual(through.status, 400)
        assert.isFalse(existsSync(join(target, "owned.txt")))
        assert.isFalse(existsSync(join(tmpdir(), "owned.txt")))
        assert.deepStrictEqual(yield* (yield* Pool.Pool).sets, [])
      }).pipe(Effect.provide(serverWith(Option.none())))
  )

  it.scoped("/metrics names every metric docs/serve.md lists, in the Prometheus text format", () =>
    Effect.gen(function* () {
      yield* runToEnd
      const response = yield* get("/metrics")
      assert.match(response.headers["content-type"] ?? "", /^text\/plain; version=0\.0\.4/)
      const text = yield* response.text
      for (const line of [
        'armada_runs{status="success"} 1',
        "armada_pool_hits_total 0",
        "armada_pool_misses_total 1",
        "armada_pool_replaced_total 0",
        "armada_pool_discarded_total 0",
        "armada_pool_expired_total 0",
        'armada_pool_sets{status="idle"} 1',
        'armada_pool_sets{status="busy"} 0',
        "armada_pool_max_sets 2",
        "armada_pool_containers 3"
      ]) {
        assert.include(text, `\n${line}\n`, line)
      }
      for (const name of text.split("\n").filter((l) => l.startsWith("# TYPE "))) {
        assert.match(name, /^# TYPE armada_[a-z_]+ (counter|gauge)$/)
      }
    }).pipe(Effect.provide(serverWith(Option.none())))
  )

  it.scoped("armada run --server -o x.tar.gz writes the result archive as it came", () =>
    Effect.gen(function* () {
      const dir = clientDir()
      const output = join(dir, "result.tar.gz")
      yield* Remote.run(runFlags(join(dir, "pipeline.yaml"), output), yield* urlOf)
      const tree = yield* Archive.fromTar(Stream.make(new Uint8Array(gunzipSync(readFileSync(output)))))
      assert.strictEqual(Archive.contents(tree)["README.md"], "# merged\n")
    }).pipe(Effect.provide(Layer.merge(serverWith(Option.none()), Output.layerTest())))
  )

  it.scoped(
    "armada run --server refuses --keep, --concurrency, --prefix and --pull: exit 2, nothing sent",
    () =>
      Effect.gen(function* () {
        const dir = clientDir()
        const flags = runFlags(join(dir, "pipeline.yaml"))
        const refused = yield* Effect.flip(
          Remote.run(
            {
              ...flags,
              keep: true,
              concurrency: Option.some(2),
              prefix: Option.some("x"),
              pull: Option.some("always")
            } as typeof flags,
            yield* urlOf
          )
        )
        assert.strictEqual(refused.code, 2)
        assert.strictEqual((yield* (yield* Pool.Pool).stats).misses, 0)
      }).pipe(Effect.provide(Layer.merge(serverWith(Option.none()), Output.layerTest())))
  )

  it.scopedLive(
    "armada run --server ends as the events' Result says: a run interrupted on the server exits 130, though the server is gone after them",
    () => {
      const gate = Deferred.unsafeMake<void>(FiberId.none)
      return Effect.gen(function* () {
        // A run interrupted on the server (DELETE; its stop does the same): its events as served.
        const created = yield* post(spec, yield* templateArchive)
        const { id, session } = (yield* json(created)) as { id: string; session: string }
        const pool = yield* Pool.Pool
        while ((yield* pool.sets).length === 0) yield* Effect.sleep("10 millis")
        yield* del(`/runs/${id}`)
        const events = yield* (yield* get(`/runs/${id}/events`)).text
        // A server that answers the run and its events, then is gone: any other request fails.
        const asked: Array<string> = []
        const gone = yield* Effect.acquireRelease(
          Effect.async<Server, Error>((resume) => {
            const server = createServer((request, response) => {
              asked.push(`${request.method} ${request.url}`)
              if (request.method === "POST" && request.url === "/runs") {
                request.resume()
                request.on("end", () => {
                  response.writeHead(201, { "content-type": "application/json" })
                  response.end(JSON.stringify({ id, session, status: "running" }))
                })
              } else if (request.url === `/runs/${id}/events`) {
                response.writeHead(200, { "content-type": "application/x-ndjson" })
                response.end(events)
              } else request.socket.destroy()
            })
            server.once("error", (error) => resume(Effect.fail(error)))
            server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
          }),
          (server) =>
            Effect.async<void>((resume) => {
              server.close(() => resume(Effect.void))
            })
        )
        const { port: gonePort } = gone.address() as AddressInfo
        const dir = clientDir()
        const ended = yield* Effect.flip(
          Remote.run(runFlags(join(dir, "pipeline.yaml")), `http://127.0.0.1:${gonePort}`)
        )
        assert.strictEqual(ended.code, 130)
        assert.deepStrictEqual(asked, ["POST /runs", `GET /runs/${id}/events`])
      }).pipe(Effect.provide(Layer.merge(serverWith(Option.none(), gate), Output.layerTest())))
    }
  )

  it.scopedLive("interrupting armada run --server interrupts the run on the server (Ctrl-C)", () => {
    const gate = Deferred.unsafeMake<void>(FiberId.none)
    return Effect.gen(function* () {
      const dir = clientDir()
      const client = yield* Effect.fork(Remote.run(runFlags(join(dir, "pipeline.yaml")), yield* urlOf))
      const pool = yield* Pool.Pool
      while ((yield* pool.sets).length === 0) yield* Effect.sleep("10 millis")
      yield* Fiber.interrupt(client)
      // The client's DELETE returns once the run ended on the server: its set is gone then.
      assert.deepStrictEqual(yield* pool.sets, [])
      assert.strictEqual((yield* pool.stats).discarded, 1)
      const metrics = yield* (yield* get("/metrics")).text
      assert.include(metrics, 'armada_runs{status="interrupted"} 1')
    }).pipe(Effect.provide(Layer.merge(serverWith(Option.none(), gate), Output.layerTest())))
  })
})
