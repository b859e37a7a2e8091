/**
 * Runs the CLI in-process: the real command tree and handlers, with the engines, the HTTP client
 * and the terminal replaced by test layers. Returns the exit code and everything printed.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { EngineDiscovery } from "@armada/docker"
import { ContainerEngine, ContainerEngineError, MemoryEngine } from "@armada/engine"
import * as Http from "@armada/http"
import { NodeContext } from "@effect/platform-node"
import { Context, Effect, Layer, Option, Ref } from "effect"
import * as Cli from "../src/Cli.js"
import * as Engine from "../src/Engine.js"
import * as Output from "../src/Output.js"

export interface Result {
  readonly code: number
  /** stdout of the commands and what @effect/cli printed with `Console.log`. */
  readonly stdout: string
  readonly stderr: string
}

export interface Engines {
  readonly docker?: Layer.Layer<ContainerEngine, Engine.BuildError> | undefined
  readonly local?: Layer.Layer<ContainerEngine, Engine.BuildError> | undefined
  /** What discovery reports; by default it found `docker` through DOCKER_HOST. */
  readonly discovery?: ((host: string | undefined) => EngineDiscovery.Report) | undefined
}

/** Discovery that found the engine at `address`, named by `--host` when given, else DOCKER_HOST. */
export const foundAt =
  (address = "memory://") =>
  (host: string | undefined): EngineDiscovery.Report => ({
    discovered: Option.some({
      source: host === undefined ? "DOCKER_HOST" : "--host",
      address: host ?? address,
      endpoint: { _tag: "Unix", path: "/memory" },
      reason: host === undefined ? "DOCKER_HOST is set" : "--host was given",
      millis: 0
    }),
    attempts: [],
    explicit: true
  })

/** A memory engine with the test app's image present. */
export const memoryEngine = (): Layer.Layer<ContainerEngine> =>
  MemoryEngine.layerMemory({ images: [{ ref: "armada/test-app:dev" }] })

/**
 * A memory engine scripted by `script` (faults, latency) before the command uses it; `address`
 * replaces the engine's own.
 */
export const scriptedEngine = (
  script: (memory: MemoryEngine.MemoryEngine.Service) => Effect.Effect<void>,
  options: MemoryEngine.Options & { readonly address?: string | undefined } = {}
): Layer.Layer<ContainerEngine> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const context = yield* Layer.build(MemoryEngine.layerMemory(options))
      yield* script(Context.get(context, MemoryEngine.MemoryEngine))
      const engine = Context.get(context, ContainerEngine)
      return Context.make(ContainerEngine, { ...engine, address: options.address ?? engine.address })
    })
  ).pipe(Layer.orDie) as Layer.Layer<ContainerEngine>

/** An engine that never answers. */
export const unreachableEngine = (address = "tcp://127.0.0.1:1"): Layer.Layer<ContainerEngine> =>
  scriptedEngine(
    (memory) =>
      memory.fail({
        operation: "*",
        error: new ContainerEngineError.EngineUnreachable({
          address,
          detail: "connect ECONNREFUSED 127.0.0.1:1"
        })
      }),
    { address }
  )

/**
 * The answers of the in-memory containers. As a function, it is given what the command has printed
 * to stdout so far, so that an answer can wait until an earlier one has been reported.
 */
export type Routes = Http.TestRoutes | ((stdout: Effect.Effect<string>) => Http.TestRoutes)

export const run = (
  args: ReadonlyArray<string>,
  engines: Engines = {},
  options: { readonly isTTY?: boolean; readonly http?: Routes } = {}
): Promise<Result> =>
  Effect.gen(function* () {
    const console = yield* Effect.console
    const printed = yield* Ref.make("")
    const captured = yield* Output.CapturedOutput
    const output = yield* Output.Output
    const stdout = Effect.zipWith(
      Ref.get(printed),
      Ref.get(captured.stdout),
      (logged, written) => logged + written
    )
    const routes = typeof options.http === "function" ? options.http(stdout) : options.http
    const code = yield* Effect.withConsole(Cli.run(["node", "armada", ...args]), {
      ...console,
      log: (...parts) => Ref.update(printed, (all) => `${all}${parts.join(" ")}\n`),
      error: (...parts) => output.stderr(`${parts.join(" ")}\n`)
    }).pipe(Effect.provide(Http.layerTest(routes)))
    return { code, stdout: yield* stdout, stderr: yield* Ref.get(captured.stderr) }
  }).pipe(
    Effect.provide(
      Layer.mergeAll(
        NodeContext.layer,
        Output.layerTest({ isTTY: options.isTTY ?? false }),
        Engine.layer({
          discover: (host) => Effect.sync(() => (engines.discovery ?? foundAt())(host)),
          docker: () => engines.docker ?? memoryEngine(),
          local: () => engines.local ?? memoryEngine()
        })
      )
    ),
    Effect.runPromise
  )

const specDirs: Array<string> = []

/** Writes a spec (and a template file beside it) into a fresh temp dir; returns the spec's path. */
export const specFile = (yaml: string, name = "pipeline.yaml"): string => {
  const dir = mkdtempSync(join(tmpdir(), "armada-cli-test-"))
  specDirs.push(dir)
  writeFileSync(join(dir, "README.md"), "# {{name}}\n")
  writeFileSync(join(dir, name), yaml)
  return join(dir, name)
}

/** Removes the spec dirs `specFile` made. */
export const removeSpecFiles = (): void => {
  for (const dir of specDirs.splice(0)) rmSync(dir, { recursive: true, force: true })
}
