/**
 * What `armada serve` does once its flags are read: checks them, selects the engine, builds the
 * pool, the runs and the HTTP server, prints where it listens and serves until interrupted.
 *
 * @since 0.3.0
 */
import { createServer } from "node:http"
import { isIP } from "node:net"
import { Interruption } from "@armada/core"
import type { ProcessorClient } from "@armada/http"
import { Pool, Spec } from "@armada/orchestrator"
import { FileSystem, HttpServer } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Clock, Config, Context, Duration, Effect, Layer, Option, Redacted, Schema } from "effect"
import { failEarly } from "../commands/Pipeline.js"
import type { Flags } from "../commands/Serve.js"
import * as Engine from "../Engine.js"
import { Output } from "../Output.js"
import * as Runs from "./Runs.js"
import * as Server from "./Server.js"
import * as Template from "./Template.js"

/**
 * Whether `address` is a loopback address (127.0.0.0/8, ::1) or `localhost`.
 *
 * @since 0.3.0
 * @category getters
 */
export const isLoopback = (address: string): boolean =>
  address === "localhost" ||
  address === "::1" ||
  (isIP(address) === 4 && address.startsWith("127.")) ||
  address === "::ffff:127.0.0.1"

/**
 * Where the server's local engine takes its commands from: its own built-in catalog, never a
 * request's spec (a spec's `local:` section would run any command on the server's machine).
 */
const serverCatalog =
  "armada serve's built-in catalog (the test app); a spec's `local:` section is not taken from a request"

const duration = (flag: string, text: string) =>
  Schema.decodeUnknown(Spec.DurationInput)(text).pipe(
    Effect.mapError(
      () => `--${flag}: expected a duration such as 500ms, 30s, 10m or 1h, got ${JSON.stringify(text)}`
    )
  )

/** The token: the file's first line, else `ARMADA_SERVE_TOKEN`; none when neither is set. */
const readToken = (file: Option.Option<string>) =>
  Effect.gen(function* () {
    if (Option.isSome(file)) {
      const fs = yield* FileSystem.FileSystem
      const text = yield* fs
        .readFileString(file.value)
        .pipe(Effect.mapError((error) => `--token-file: cannot read ${file.value}: ${error.message}`))
      const token = text.split("\n")[0]?.trim() ?? ""
      if (token === "") return yield* Effect.fail(`--token-file: ${file.value} holds no token`)
      return Option.some(Redacted.make(token))
    }
    return yield* Config.option(Config.redacted("ARMADA_SERVE_TOKEN")).pipe(
      Effect.map(Option.filter((token) => Redacted.value(token) !== "")),
      Effect.orElseSucceed(() => Option.none<Redacted.Redacted<string>>())
    )
  })

/**
 * @since 0.3.0
 * @category handlers
 */
export const listen = (flags: Flags) =>
  Effect.gen(function* () {
    const startedAt = yield* Clock.currentTimeMillis
    const early = (cause: unknown, outcome: "bad-input" | "engine-unreachable" | "failed" = "bad-input") =>
      failEarly(
        { json: flags.json, quiet: false, verbose: false },
        "serve",
        undefined,
        startedAt,
        outcome,
        cause
      )
    const settings = yield* Effect.all({
      token: readToken(flags.tokenFile),
      idleTtl: duration("idle-ttl", flags.idleTtl),
      grace: duration("grace", flags.grace),
      templateRoots: Template.roots(flags.allowTemplateDir)
    }).pipe(Effect.catchAll((message) => early(message)))
    if (!isLoopback(flags.listen) && Option.isNone(settings.token)) {
      return yield* early(
        `--listen ${flags.listen} is not a loopback address: a server others can reach needs a token (--token-file FILE, or ARMADA_SERVE_TOKEN)`
      )
    }
    if (!Number.isInteger(flags.maxSets) || flags.maxSets < 1) {
      return yield* early(`--max-sets: expected a positive integer, got ${flags.maxSets}`)
    }
    const selected = yield* Effect.either(Engine.select(flags.engine, { catalogSource: serverCatalog }))
    if (selected._tag === "Left") {
      return yield* early(
        selected.left,
        selected.left._tag === "EngineUnreachable" ? "engine-unreachable" : "failed"
      )
    }
    const client = yield* Effect.context<ProcessorClient | FileSystem.FileSystem>()
    const services = Layer.succeedContext(Context.merge(selected.right.context, client))
    const pool = yield* Layer.build(
      Pool.layer({ maxSets: flags.maxSets, idleTtl: settings.idleTtl }).pipe(Layer.provide(services))
    )
    const runs = yield* Runs.make(selected.right.info, { templateRoots: settings.templateRoots }).pipe(
      Effect.provide(Context.merge(pool, client))
    )
    const server = yield* Layer.build(
      Server.layer({ token: settings.token }).pipe(
        Layer.provide(Layer.succeedContext(pool)),
        Layer.provide(Layer.succeed(Server.ServerRuns, runs)),
        Layer.provideMerge(NodeHttpServer.layer(createServer, { host: flags.listen, port: flags.port }))
      )
    )
    // Registered last, so it runs first: the server still answers while the running runs finish,
    // and the runs left are interrupted before the listener closes (closing waits for their streams).
    yield* Interruption.addFinalizer(() => runs.stop(Duration.toMillis(settings.grace)))
    const address = Context.get(server, HttpServer.HttpServer).address
    const url =
      address._tag === "TcpAddress"
        ? `http://${address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname}:${address.port}`
        : address.path
    const output = yield* Output
    const templateDirs = settings.templateRoots.map((root) => root.real)
    yield* output.stdout(
      flags.json
        ? `${JSON.stringify({ _tag: "Listening", url, openapi: `${url}/openapi.json`, engine: selected.right.info, maxSets: flags.maxSets, templateDirs })}\n`
        : `armada serve: listening on ${url} (OpenAPI: ${url}/openapi.json), ${selected.right.info.kind} engine at ${selected.right.info.address}, at most ${flags.maxSets} sets${templateDirs.length === 0 ? "" : `, template paths taken under ${templateDirs.join(", ")}`}\n`
    )
    return yield* Effect.never
  }).pipe(Effect.scoped)
