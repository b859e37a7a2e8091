/**
 * `armada serve` in-process, on the memory engine: a run POSTed with its spec and template streams
 * the CLI's events and ends with its `Result` and output archive; the second run of the spec takes
 * the first one's set; a bad spec is a 400 with the paths of its issues; a hostile template archive
 * is refused and writes nothing outside its folder; with a token, every endpoint but /healthz
 * answers 401 without it; the OpenAPI document and the metrics are served.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Names } from "@armada/core"
import { Archive, ContainerEngine } from "@armada/engine"
import { Pool } from "@armada/orchestrator"
import { HttpClient, HttpClientRequest, HttpServer } from "@effect/platform"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, FiberId, Layer, Option, Redacted, Ref, Schema, TestClock } from "effect"
import * as Remote from "../src/commands/Remote.js"
import * as Event from "../src/Event.js"
import * as Output from "../src/Output.js"
import * as Report from "../src/Report.js"
import * as Api from "../src/serve/Api.js"
import * as Server from "../src/serve/Server.js"
import {
  chunkedPost,
  entry,
  get,
  json,
  port,
  post,
  runFlags,
  serverWith,
  spec,
  tarOf,
  templateArchive
} from "./serveHarness.js"

const scratch = mkdtempSync(join(tmpdir(), "armada-serve-test-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

describe("armada serve", () => {
  it.scoped(
    "a run streams the CLI's events, ends with its Result and output; the second takes the first one's set",
    () =>
      Effect.gen(function* () {
        const template = yield* templateArchive
        const runOnce = Effect.gen(function* () {
          const created = yield* post(spec, template)
          assert.strictEqual(created.status, 201)
          const { id } = (yield* json(created)) as { id: string }
          const events = yield* get(`/runs/${id}/events`)
          assert.strictEqual(events.headers["content-type"], "application/x-ndjson")
          const lines = (yield* events.text).trimEnd().split("\n")
          const decoded = lines
            .slice(0, -1)
            .map((line) => Schema.decodeUnknownSync(Schema.parseJson(Event.Event))(line))
          assert.strictEqual(decoded[0]?._tag, "RunStarted")
          assert.isTrue(decoded.some((event) => event._tag === "StageDone" && event.stage === "export"))
          // The last line is the run's Result, as `armada run --json` ends.
          const last = Schema.decodeUnknownSync(Schema.parseJson(Report.Document))(lines.at(-1))
          const info = (yield* json(yield* get(`/runs/${id}`))) as {
            status: string
            pool: { reused: boolean; set: string }
            result: { _tag: string; exitCode: number }
          }
          assert.strictEqual(info.status, "success", JSON.stringify(info.result))
          assert.strictEqual(info.result._tag, "Result")
          assert.strictEqual(info.result.exitCode, 0)
          assert.deepStrictEqual(Schema.encodeSync(Report.Document)(last), info.result)
          const output = yield* get(`/runs/${id}/output`)
          assert.strictEqual(output.status, 200)
          const tree = yield* Archive.fromTar(Archive.gunzip(output.stream))
          assert.isAbove(tree.size, 0)
          return info.pool
        })
        const first = yield* runOnce
        const second = yield* runOnce
        assert.isFalse(first.reused)
        assert.isTrue(second.reused)
        assert.strictEqual(second.set, first.set)
        const pools = (yield* json(yield* get("/pools"))) as { sets: Array<{ key: string }> }
        assert.strictEqual(pools.sets.length, 1)
        const metrics = yield* (yield* get("/metrics")).text
        assert.include(metrics, "armada_pool_hits_total 1")
        assert.include(metrics, "armada_pool_misses_total 1")
        assert.include(metrics, 'armada_runs{status="success"} 2')
        const removed = yield* Effect.flatMap(HttpClient.HttpClient, (client) =>
          client.execute(HttpClientRequest.del(`/pools/${pools.sets[0]!.key}`))
        )
        assert.deepStrictEqual(yield* json(removed), { removed: 1 })
      }).pipe(Effect.provide(serverWith(Option.none())))
  )

  it.scoped("a bad spec is a 400 with the path of each issue, as the CLI reports it", () =>
    Effect.gen(function* () {
      const response = yield* post(
        "template: ./site\nprocessors: [{ id: bad, image: Not An Image }]\n",
        yield* templateArchive
      )
      assert.strictEqual(response.status, 400)
      const body = (yield* json(response)) as {
        _tag: string
        issues: Array<{ path: string; message: string }>
      }
      assert.strictEqual(body._tag, "BadSpec")
      assert.deepStrictEqual(
        body.issues.map((issue) => issue.path),
        ["processors[0].image"]
      )
    }).pipe(Effect.provide(serverWith(Option.none())))
  )

  it.scoped("a hostile template archive is refused and writes nothing outside its folder", () =>
    Effect.gen(function* () {
      const target = join(scratch, "escaped.txt")
      const hostile = tarOf(entry(`../../../../../../../..${target}`, "0", "owned\n"))
      const response = yield* post(spec, hostile)
      assert.strictEqual(response.status, 400)
      assert.strictEqual(((yield* json(response)) as { _tag: string })._tag, "BadTemplate")
      assert.isFalse(existsSync(target))
      const notGzip = yield* post(spec, new TextEncoder().encode("not an archive"))
      assert.strictEqual(notGzip.status, 400)
    }).pipe(Effect.provide(serverWith(Option.none())))
  )

  it.scoped("a body over the limit is 413 TooLarge, whether its length is declared or it comes chunked", () =>
    Effect.gen(function* () {
      const client = yield* HttpClient.HttpClient
      const declared = yield* client.execute(
        HttpClientRequest.post("/runs").pipe(
          HttpClientRequest.bodyUint8Array(
            new Uint8Array(Api.maxBodyBytes + 1),
            "multipart/form-data; boundary=armada"
          )
        )
      )
      assert.strictEqual(declared.status, 413)
      const declaredBody = (yield* json(declared)) as { _tag: string; message: string }
      assert.strictEqual(declaredBody._tag, "TooLarge")
      assert.include(declaredBody.message, `${Api.maxBodyBytes} bytes`)
      const chunked = yield* chunkedPost(yield* port, Api.maxBodyBytes + 1024 * 1024)
      assert.isUndefined(chunked.sentLength, "the request declared no Content-Length")
      assert.strictEqual(chunked.status, 413, chunked.body)
      const chunkedBody = JSON.parse(chunked.body) as { _tag: string; message: string }
      assert.strictEqual(chunkedBody._tag, "TooLarge")
      assert.include(chunkedBody.message, `went over ${Api.maxBodyBytes} bytes`)
      // The same upload under the limit is taken: the limit, not the chunking, refused it.
      const small = yield* chunkedPost(yield* port, 1024)
      assert.strictEqual(small.status, 400, small.body)
      assert.strictEqual((JSON.parse(small.body) as { _tag: string })._tag, "BadTemplate")
      assert.deepStrictEqual(((yield* json(yield* get("/pools"))) as { sets: Array<unknown> }).sets, [])
    }).pipe(Effect.provide(serverWith(Option.none())))
  )

  it.scoped("with a token: 401 without it on every endpoint but /healthz, in with it", () =>
    Effect.gen(function* () {
      // Every endpoint the API declares (so one added later is covered too), and the OpenAPI document.
      const client = yield* HttpClient.HttpClient
      const endpoints = Object.values(Api.Api.groups).flatMap((group) =>
        Object.values(group.endpoints).map((endpoint) => [endpoint.method, endpoint.path] as const)
      )
      assert.strictEqual(endpoints.length, 9)
      for (const [method, path] of [...endpoints, ["GET", "/openapi.json"] as const]) {
        const concrete = path.replace(/:[a-z]+/g, "x")
        const response = yield* client.execute(HttpClientRequest.make(method as "GET")(concrete))
        assert.strictEqual(response.status, path === "/healthz" ? 200 : 401, `${method} ${path}`)
      }
      assert.strictEqual((yield* post(spec, yield* templateArchive)).status, 401)
      assert.deepStrictEqual(yield* json(yield* get("/healthz")), { status: "ok" })
      const wrong = client.pipe(HttpClient.mapRequest(HttpClientRequest.bearerToken("wrong")))
      assert.strictEqual((yield* wrong.get("/pools")).status, 401)
      const authorized = (yield* HttpClient.HttpClient).pipe(
        HttpClient.mapRequest(HttpClientRequest.bearerToken("s3cret-token"))
      )
      assert.strictEqual((yield* authorized.get("/pools")).status, 200)
      assert.strictEqual((yield* authorized.get("/runs/nope")).status, 404)
    }).pipe(Effect.provide(serverWith(Option.some(Redacted.make("s3cret-token")))))
  )

  it.scoped("the OpenAPI document describes every endpoint", () =>
    Effect.gen(function* () {
      const document = (yield* json(yield* get("/openapi.json"))) as { paths: Record<string, unknown> }
      assert.includeMembers(Object.keys(document.paths), [
        "/runs",
        "/runs/{id}",
        "/runs/{id}/events",
        "/runs/{id}/output",
        "/pools",
        "/pools/{key}",
        "/healthz",
        "/metrics"
      ])
    }).pipe(Effect.provide(serverWith(Option.none())))
  )

  it.scoped(
    "armada run --server: the run's events as --json prints them, its Result, and the output written",
    () =>
      Effect.gen(function* () {
        const address = (yield* HttpServer.HttpServer).address
        assert.strictEqual(address._tag, "TcpAddress")
        if (address._tag !== "TcpAddress") return
        const dir = mkdtempSync(join(scratch, "client-"))
        mkdirSync(join(dir, "site"))
        writeFileSync(join(dir, "site", "README.md"), "# {{name}}\n")
        writeFileSync(join(dir, "pipeline.yaml"), spec)
        const output = join(dir, "out")
        yield* Remote.run(runFlags(join(dir, "pipeline.yaml"), output), `http://127.0.0.1:${address.port}`)
        const printed = yield* Ref.get((yield* Output.CapturedOutput).stdout)
        const lines = printed.trimEnd().split("\n")
        assert.include(lines[0], '"_tag":"RunStarted"')
        const result = JSON.parse(lines.at(-1)!) as {
          _tag: string
          outcome: string
          exitCode: number
          output: { path: string }
        }
        assert.strictEqual(result._tag, "Result")
        assert.strictEqual(result.outcome, "success")
        assert.strictEqual(result.exitCode, 0)
        assert.strictEqual(result.output.path, output)
        assert.strictEqual(readFileSync(join(output, "README.md"), "utf8"), "# merged\n")
        // A bad spec is refused before anything is sent, with the CLI's own exit code.
        writeFileSync(
          join(dir, "bad.yaml"),
          "template: ./site\nprocessors: [{ id: bad, image: Not An Image }]\n"
        )
        const refused = yield* Effect.flip(
          Remote.run(runFlags(join(dir, "bad.yaml")), `http://127.0.0.1:${address.port}`)
        )
        assert.strictEqual(refused.code, 2)
      }).pipe(Effect.provide(Layer.merge(serverWith(Option.none()), Output.layerTest())))
  )

  it.scopedLive("DELETE /runs/:id interrupts a running run and removes its set", () => {
    const gate = Deferred.unsafeMake<void>(FiberId.none)
    return Effect.gen(function* () {
      const created = yield* post(spec, yield* templateArchive)
      const { id } = (yield* json(created)) as { id: string }
      // Wait until the run holds its set (busy), then interrupt it.
      const pool = yield* Pool.Pool
      while ((yield* pool.sets).length === 0) yield* Effect.sleep("10 millis")
      const deleted = yield* Effect.flatMap(HttpClient.HttpClient, (client) =>
        client.execute(HttpClientRequest.del(`/runs/${id}`))
      )
      assert.strictEqual(((yield* json(deleted)) as { status: string }).status, "interrupted")
      assert.deepStrictEqual(yield* pool.sets, [])
      assert.strictEqual((yield* pool.stats).discarded, 1)
      const engine = yield* ContainerEngine
      const labelled = Names.labelFilter(Names.defaultPrefix)
      assert.deepStrictEqual(yield* engine.listContainers(labelled), [])
      assert.deepStrictEqual(yield* engine.listVolumes(labelled), [])
      const output = yield* get(`/runs/${id}/output`)
      assert.strictEqual(output.status, 409)
    }).pipe(Effect.provide(serverWith(Option.none(), gate)))
  })

  it.scoped("stop: no new run (503 ShuttingDown), and a running run finishes within the grace", () => {
    const gate = Deferred.unsafeMake<void>(FiberId.none)
    return Effect.gen(function* () {
      const runs = yield* Server.ServerRuns
      const first = (yield* json(yield* post(spec, yield* templateArchive))) as { id: string }
      const stopping = yield* Effect.fork(runs.stop(60_000))
      yield* Effect.yieldNow()
      const refused = yield* post(spec, yield* templateArchive)
      assert.strictEqual(refused.status, 503)
      assert.strictEqual(((yield* json(refused)) as { _tag: string })._tag, "ShuttingDown")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(stopping)
      assert.strictEqual(
        ((yield* json(yield* get(`/runs/${first.id}`))) as { status: string }).status,
        "success"
      )
    }).pipe(Effect.provide(serverWith(Option.none(), gate)))
  })

  it.scoped("stop: a run still running after the grace is interrupted, its set removed", () => {
    const gate = Deferred.unsafeMake<void>(FiberId.none)
    return Effect.gen(function* () {
      const runs = yield* Server.ServerRuns
      const pool = yield* Pool.Pool
      const first = (yield* json(yield* post(spec, yield* templateArchive))) as { id: string }
      // The gate stays shut: the run cannot finish by itself. Uninterruptible, as a scope's
      // finalizer runs it when the server stops.
      const stopping = yield* Effect.fork(Effect.uninterruptible(runs.stop(60_000)))
      yield* TestClock.adjust("60 seconds")
      yield* Fiber.join(stopping)
      assert.strictEqual(
        ((yield* json(yield* get(`/runs/${first.id}`))) as { status: string }).status,
        "interrupted"
      )
      assert.deepStrictEqual(yield* pool.sets, [])
    }).pipe(Effect.provide(serverWith(Option.none(), gate)))
  })

  it("authorized compares the whole token", () => {
    const token = Redacted.make("abc")
    assert.isTrue(Server.authorized("Bearer abc", token))
    assert.isFalse(Server.authorized("Bearer ab", token))
    assert.isFalse(Server.authorized("Bearer abcd", token))
    assert.isFalse(Server.authorized("abc", token))
    assert.isFalse(Server.authorized(undefined, token))
  })
})
