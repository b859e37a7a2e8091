#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.hugetlb=1:${GLIBC_TUNABLES} node --single-threaded --no-opt
/**
 * The `armada` executable: provides the application's layers (`MainLive`) and runs the CLI.
 *
 * Its first line gives V8 two settings for a process that lives seconds to minutes beside the
 * containers it starts, on the same cores: `--single-threaded` (garbage collection and compiling
 * on the main thread, not on helper threads that compete with the containers and with each other)
 * and `--no-opt` (no optimizing compiler: a command's code does not run long enough to repay its
 * compiles). They take ~7% and ~3% off the CPU of the 64-processor cold run (BENCHMARKS.md,
 * cold-probes round 7), and leave a warm re-run through `armada serve` as fast as it was.
 * (Set at run time instead, through `v8.setFlagsFromString`, single-threaded garbage collection
 * crashes V8.)
 *
 * It also asks glibc's malloc for transparent huge pages (`glibc.malloc.hugetlb=1`, where the
 * kernel gives them on request): a page fault cost ~14 µs of CPU in the virtual machine of
 * BENCHMARKS.md, and start-up alone faulted in ~17,700 pages, ~7,900 of them malloc's (round 8).
 * A `GLIBC_TUNABLES` of the user's own comes after it and wins; other C libraries ignore it.
 *
 * `node dist/bin.js` runs without any of this, and works the same.
 *
 * @since 0.1.0
 */
import { InputError, Interruption } from "@armada/core"
import { Credentials, DockerEngineLive, EngineDiscovery } from "@armada/docker"
import { ContainerEngine } from "@armada/engine"
import * as Http from "@armada/http"
import { LocalEngine } from "@armada/local"
import { Tracing } from "@armada/tracing"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Config, Console, Effect, Exit, Layer } from "effect"
import * as Cli from "./Cli.js"
import * as Engine from "./Engine.js"
import { ExitCode } from "./ExitCode.js"
import * as Output from "./Output.js"

// The processors' calls go through node:http with a keep-alive agent, not undici: undici compiles
// its HTTP parser (WebAssembly) at its first request, and 17 calls cost ~0.55 s of CPU through it
// against ~0.23 s through node:http (a fresh process each, 3 runs). The probes use neither.
const HttpLive = Http.layer.pipe(
  Layer.provide(NodeHttpClient.layerWithoutAgent),
  Layer.provide(NodeHttpClient.makeAgentLayer(Http.agentOptions))
)

// Registry credentials the way the Docker CLI finds them (DOCKER_CONFIG), for the Docker engine's
// pulls and for `doctor`. Reading DOCKER_CONFIG cannot fail: it is optional.
const CredentialsLive = Credentials.layerConfig().pipe(Layer.provide(NodeContext.layer), Layer.orDie)

// The Docker engine asks a registry itself which part of a reference is missing when the engine
// finds nothing for it (a missing repository and a missing tag are one answer to the engine).
// node:http too: with undici (and `@effect/platform-node`'s index, which re-exports all of it),
// every command read and ran ~720 KB more at start.
const RegistryClientLive = NodeHttpClient.layerWithoutAgent.pipe(
  Layer.provide(NodeHttpClient.makeAgentLayer())
)

// Discovery's settings are optional variables: reading them cannot fail.
const settings = Effect.orDie(EngineDiscovery.settings)

const EnginesLive = Engine.layer({
  discover: (host) =>
    Effect.flatMap(settings, (found) =>
      EngineDiscovery.report({ ...found, host, pingTimeout: Engine.pingTimeout })
    ),
  docker: (found) =>
    Layer.scoped(
      ContainerEngine,
      Effect.gen(function* () {
        const { timeout } = yield* DockerEngineLive.config.pipe(
          Effect.mapError(
            (error) =>
              new InputError({
                field: "ARMADA_DOCKER_TIMEOUT",
                value: process.env.ARMADA_DOCKER_TIMEOUT ?? "",
                reason: error.message
              })
          )
        )
        const { home, sshAuthSock } = yield* settings
        return yield* DockerEngineLive.makeAt(found.endpoint, { timeout, home, sshAuthSock })
      })
    ).pipe(Layer.provide(Layer.merge(CredentialsLive, RegistryClientLive))),
  local: LocalEngine.layer,
  // Loaded only for `--engine swarm`; its manager is --host, else DOCKER_HOST.
  swarm: (host) =>
    Layer.unwrapEffect(
      Effect.map(
        Effect.promise(() => import("@armada/swarm")),
        ({ SwarmEngine }) =>
          SwarmEngine.layerConfig(
            Config.map(SwarmEngine.config, (options) =>
              host === undefined ? options : { ...options, manager: host }
            )
          ).pipe(
            Layer.catchAll((error) =>
              Layer.fail(
                error._tag === "InputError"
                  ? error
                  : new InputError({
                      field: "ARMADA_SWARM_NODES",
                      value: process.env.ARMADA_SWARM_NODES ?? "",
                      reason: error.message
                    })
              )
            )
          )
      )
    )
})

const MainLive = Layer.mergeAll(Output.layer, HttpLive, EnginesLive, CredentialsLive).pipe(
  Layer.provideMerge(NodeContext.layer)
)

// Spans go to OTEL_EXPORTER_OTLP_ENDPOINT when it is set, one trace per command; a collector that
// cannot be set up leaves the command running, untraced.
const TracingLive = Tracing.layer.pipe(
  Layer.catchAll((error) => Layer.effectDiscard(Console.error(`armada: ${error.message}`)))
)

// runMain turns a Ctrl-C into an interruption of its fiber: isolated, the program below ends with
// it whatever it is doing then, even while closing a scope (see @armada/core's Interruption).
Cli.run(process.argv).pipe(
  Effect.provide(MainLive),
  Effect.tap((code) => Effect.annotateCurrentSpan("armada.exit_code", code)),
  Effect.withSpan(`armada ${process.argv[2] ?? ""}`.trimEnd()),
  Effect.provide(TracingLive),
  Interruption.isolated,
  NodeRuntime.runMain({
    disableErrorReporting: true,
    disablePrettyLogger: true,
    teardown: (exit, onExit) =>
      onExit(
        Exit.isSuccess(exit)
          ? typeof exit.value === "number"
            ? exit.value
            : ExitCode.success
          : Cause.isInterruptedOnly(exit.cause)
            ? ExitCode.interrupted
            : ExitCode.itemsFailed
      )
  })
)
