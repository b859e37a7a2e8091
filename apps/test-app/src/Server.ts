/**
 * The HTTP side of the test app: `GET /` answers 200 as soon as the server listens, and the
 * role's work call (docs/protocol.md) does the work for real, unless a fault knob says otherwise.
 * Every request is logged as one line on stdout.
 *
 * @since 0.1.0
 */
import { createServer } from "node:http"
import { Protocol } from "@armada/http"
import {
  HttpMiddleware,
  HttpRouter,
  HttpServer,
  type HttpServerError,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Console, Effect, Exit, Layer, Schema, Stream } from "effect"
import * as Files from "./Files.js"
import * as Merger from "./Merger.js"
import * as Plugin from "./Plugin.js"
import * as Processor from "./Processor.js"
import * as Resolver from "./Resolver.js"
import type { Faults, Settings } from "./Settings.js"
import * as Workspace from "./Workspace.js"

const now = () => performance.timeOrigin + performance.now()

/** A JSON answer, padded with a `padding` field to `bytes` when `ARMADA_FAULT_BIG_RESPONSE` asks. */
const answer = (
  value: Readonly<Record<string, unknown>>,
  faults: Faults
): HttpServerResponse.HttpServerResponse => {
  const bytes = faults.bigResponseBytes
  if (bytes === undefined) return HttpServerResponse.unsafeJson(value)
  const room = bytes - Buffer.byteLength(JSON.stringify({ ...value, padding: "" }))
  return HttpServerResponse.text(JSON.stringify({ ...value, padding: "x".repeat(Math.max(0, room)) }), {
    contentType: "application/json"
  })
}

const problem = (status: number, message: string) =>
  Effect.succeed(HttpServerResponse.unsafeJson({ error: message }, { status }))

/**
 * `ARMADA_FAULT_EXIT_DURING_CALL`: says so on stdout, then the process exits in the middle of the
 * call, its connection closed without an answer.
 */
const exitDuringCall = (settings: Settings, exitCode: number) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    Effect.async<never>(() => {
      process.stdout.write(
        `test-app ${settings.role}: ARMADA_FAULT_EXIT_DURING_CALL=${exitCode}, exiting in the middle of ${request.method} ${request.url}\n`,
        () => process.exit(exitCode)
      )
    })
  )

/**
 * A work call: the fault knobs first, then the request body decoded with `schema` and `handle`d.
 * A bad body or request is a 400, a failed file operation a 500, a path the resolver was told to
 * refuse a 422, each with `{ error }`.
 */
const work =
  <A, I>(settings: Settings, schema: Schema.Schema<A, I>) =>
  (
    handle: (
      body: A
    ) => Effect.Effect<
      HttpServerResponse.HttpServerResponse,
      Workspace.FileError | Workspace.RequestProblem | Resolver.Refused
    >
  ) =>
    Effect.gen(function* () {
      const { faults } = settings
      if (faults.hang) return yield* Effect.never
      if (faults.status !== undefined) {
        return HttpServerResponse.text(`fault: status ${faults.status}`, { status: faults.status })
      }
      if (faults.malformed)
        return HttpServerResponse.text('{"outputDir": ', { contentType: "application/json" })
      if (faults.streamForever) {
        const space = new Uint8Array([32])
        return HttpServerResponse.stream(Stream.repeatEffect(Effect.as(Effect.sleep("100 millis"), space)), {
          contentType: "application/json"
        })
      }
      const body = yield* HttpServerRequest.schemaBodyJson(schema)
      if (faults.exitDuringCall !== undefined) return yield* exitDuringCall(settings, faults.exitDuringCall)
      return yield* handle(body)
    }).pipe(
      Effect.catchTags({
        ParseError: (error) => problem(400, `bad request body: ${error.message}`),
        RequestError: (error) => problem(400, `bad request: ${error.message}`),
        RequestProblem: (error) => problem(400, error.message),
        Refused: (error) => problem(422, error.message),
        FileError: (error) => problem(500, error.message)
      })
    )

/**
 * A file endpoint of the merger (`Files`): no fault knobs, a missing or bad query parameter is a
 * 400, a refusal its status with the `Protocol.FilesFailure` (and `error`, its message) as body.
 */
const fileEndpoint = <A, I extends Readonly<Record<string, string | ReadonlyArray<string> | undefined>>>(
  query: Schema.Schema<A, I>,
  handle: (
    query: A,
    request: HttpServerRequest.HttpServerRequest
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse, Files.Refused | HttpServerError.RequestError>
) =>
  Effect.gen(function* () {
    const parameters = yield* HttpServerRequest.schemaSearchParams(query)
    return yield* handle(parameters, yield* HttpServerRequest.HttpServerRequest)
  }).pipe(
    Effect.catchTags({
      ParseError: (error) => problem(400, `bad query: ${error.message}`),
      RequestError: (error) => problem(400, `bad request: ${error.message}`),
      FilesRefused: (refused) =>
        Effect.succeed(
          HttpServerResponse.unsafeJson(
            { error: refused.message, ...refused.failure },
            { status: refused.status }
          )
        )
    })
  )

/**
 * The router of one role.
 *
 * @since 0.1.0
 * @category constructors
 */
export const router = (settings: Settings) => {
  const { faults } = settings
  const workspace = Workspace.make(settings.workspaceRoot)
  const health = HttpRouter.empty.pipe(HttpRouter.get("/", Effect.succeed(HttpServerResponse.text("ok"))))
  switch (settings.role) {
    case "processor":
      return HttpRouter.post(
        health,
        "/api/process",
        work(
          settings,
          Protocol.ProcessRequest
        )((request) =>
          Effect.gen(function* () {
            if (faults.writeTemplate) {
              const complaint = yield* Processor.probeTemplateWrite(workspace, request)
              if (complaint !== undefined) return HttpServerResponse.text(complaint, { status: 500 })
            }
            yield* Processor.run(workspace, request, { copyThenRender: faults.copyThenRender })
            return answer({ outputDir: faults.outsideArea ? "/etc" : request.writeDir }, faults)
          })
        )
      )
    case "plugin":
      return HttpRouter.post(
        health,
        "/api/plug",
        work(
          settings,
          Protocol.PlugRequest
        )((request) =>
          Effect.as(Plugin.run(workspace, request), answer({ outputDir: request.directory }, faults))
        )
      )
    case "merger":
      return health.pipe(
        HttpRouter.post(
          "/merge/:sessionId",
          work(
            settings,
            Protocol.MergeRequest
          )((request) =>
            Effect.map(Merger.run(workspace, request), (merged) => answer({ ...merged }, faults))
          )
        ),
        HttpRouter.put(
          Protocol.filesPath,
          fileEndpoint(Schema.Struct({ dir: Schema.String }), ({ dir }, request) =>
            Effect.map(Files.put(workspace, dir, request.stream, settings.maxFileBytes), (summary) =>
              HttpServerResponse.unsafeJson(summary)
            )
          )
        ),
        HttpRouter.get(
          Protocol.filesPath,
          fileEndpoint(Schema.Struct({ path: Schema.String }), ({ path }) =>
            Effect.map(Files.get(workspace, path, settings.maxFileBytes), (tar) =>
              HttpServerResponse.stream(tar, { contentType: "application/x-tar" })
            )
          )
        )
      )
    case "resolver":
      return HttpRouter.post(
        health,
        "/api/resolve",
        work(
          settings,
          Protocol.ResolveRequest
        )((request) =>
          Effect.map(Resolver.run(request), (resolved) =>
            answer(
              faults.wrongPath ? { ...resolved, path: `${resolved.path}.elsewhere` } : { ...resolved },
              faults
            )
          )
        )
      )
  }
}

/** One line per request: time, role, method, URL, status (or how it ended) and duration. */
const logRequests = (settings: Settings) =>
  HttpMiddleware.make((app) =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const started = now()
      return Effect.onExit(app, (exit) => {
        const outcome = Exit.isSuccess(exit)
          ? String(exit.value.status)
          : Exit.isInterrupted(exit)
            ? "aborted"
            : "failed"
        return Console.log(
          `${new Date().toISOString()} ${settings.role} ${request.method} ${request.url} ${outcome} ${(now() - started).toFixed(1)}ms`
        )
      })
    })
  )

/**
 * Serves the role on the provided `HttpServer`, then prints
 * `test-app <role> listening on <address> (t=<epoch ms>)`, the moment benchmarks measure from.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (settings: Settings): Layer.Layer<never, never, HttpServer.HttpServer> =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      yield* HttpServer.serveEffect(logRequests(settings))(router(settings))
      const address = yield* HttpServer.addressFormattedWith(Effect.succeed)
      yield* Console.log(`test-app ${settings.role} listening on ${address} (t=${now().toFixed(3)})`)
    })
  )

/**
 * The role on a Node HTTP server at `settings.host`:`settings.port`; the `HttpServer` stays in
 * the output so tests can read the port it got.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNode = (settings: Settings) =>
  layer(settings).pipe(
    Layer.provideMerge(
      NodeHttpServer.layer(() => createServer(), { port: settings.port, host: settings.host })
    )
  )
