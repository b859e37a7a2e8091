/**
 * Which `ContainerEngine` a command runs on (`--engine auto|docker|local`). The engine is the only
 * layer the flag swaps: `Engines` holds how to build each one (the live layers in `bin.ts`, fakes
 * in tests), and `select` builds the chosen one in the command's scope, saying which and why.
 *
 * @since 0.1.0
 */
import { fileURLToPath } from "node:url"
import { ContainerEngine, ContainerEngineError } from "@armada/engine"
import type { LocalEngine } from "@armada/local"
import { Context, Duration, Effect, Layer, type Scope } from "effect"
import type * as Event from "./Event.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Choice = "auto" | "docker" | "local"

/**
 * @since 0.1.0
 * @category constants
 */
export const choices: ReadonlyArray<Choice> = ["auto", "docker", "local"]

/**
 * What building an engine may fail with.
 *
 * @since 0.1.0
 * @category models
 */
export type BuildError = ContainerEngineError.ContainerEngineError

/**
 * How to build each engine.
 *
 * @since 0.1.0
 * @category models
 */
export interface Factories {
  readonly docker: Layer.Layer<ContainerEngine, BuildError>
  readonly local: (catalog: LocalEngine.Catalog) => Layer.Layer<ContainerEngine, BuildError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Engines extends Context.Tag("@armada/cli/Engines")<Engines, Factories>() {}

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (factories: Factories): Layer.Layer<Engines> => Layer.succeed(Engines, factories)

/**
 * The bundle of the reference test app, next to this app in the repository
 * (`apps/test-app/dist/test-app.mjs`); the same relative path works from `src/` and `dist/`.
 *
 * @since 0.1.0
 * @category constants
 */
export const testAppBundle: string = fileURLToPath(
  new URL("../../test-app/dist/test-app.mjs", import.meta.url)
)

/**
 * The local engine's built-in catalog: the test app, run by this very Node.js.
 *
 * @since 0.1.0
 * @category constants
 */
export const builtInCatalog: LocalEngine.Catalog = {
  "armada/test-app:dev": { command: [process.execPath, testAppBundle] }
}

/**
 * How long `auto` waits for the Docker engine to answer before it takes the local one.
 *
 * @since 0.1.0
 * @category constants
 */
export const pingTimeout: Duration.Duration = Duration.millis(1500)

/**
 * @since 0.1.0
 * @category models
 */
export interface Selected {
  readonly info: Event.EngineInfo
  readonly context: Context.Context<ContainerEngine>
}

/**
 * What pinging the Docker engine found.
 *
 * @since 0.1.0
 * @category models
 */
export type Probe =
  | {
      readonly reachable: true
      readonly address: string
      readonly millis: number
      readonly context: Context.Context<ContainerEngine>
    }
  | { readonly reachable: false; readonly error: BuildError }

/**
 * Builds the Docker engine in the current scope and pings it, waiting at most `pingTimeout`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const probeDocker: Effect.Effect<Probe, never, Engines | Scope.Scope> = Effect.gen(function* () {
  const engines = yield* Engines
  return yield* Layer.build(engines.docker).pipe(
    Effect.flatMap((context) => {
      const engine = Context.get(context, ContainerEngine)
      return engine.ping.pipe(
        Effect.timeoutFail({
          duration: pingTimeout,
          onTimeout: () =>
            new ContainerEngineError.EngineUnreachable({
              address: engine.address,
              detail: `no answer within ${Duration.format(pingTimeout)}`
            })
        }),
        Effect.timed,
        Effect.map(
          ([took]): Probe => ({
            reachable: true,
            address: engine.address,
            millis: Math.round(Duration.toMillis(took)),
            context
          })
        )
      )
    }),
    Effect.catchAll((error) => Effect.succeed<Probe>({ reachable: false, error }))
  )
})

const unreachableDetail = (error: BuildError): string =>
  error._tag === "EngineUnreachable" ? error.detail : error.message

/**
 * Builds the chosen engine in the current scope. `docker` must answer a ping (else
 * `EngineUnreachable`); `auto` takes Docker when it answers within `pingTimeout` and the local
 * engine otherwise; `local` runs images through `catalog` (plus the built-in test app).
 *
 * @since 0.1.0
 * @category constructors
 */
export const select = (
  choice: Choice,
  catalog: LocalEngine.Catalog = {}
): Effect.Effect<Selected, BuildError, Engines | Scope.Scope> =>
  Effect.gen(function* () {
    const engines = yield* Engines
    const buildLocal = (reason: string) =>
      Effect.map(
        Layer.build(engines.local({ ...builtInCatalog, ...catalog })),
        (context): Selected => ({
          context,
          info: { kind: "local", address: Context.get(context, ContainerEngine).address, reason }
        })
      )
    if (choice === "local") return yield* buildLocal("--engine local")
    const docker = yield* probeDocker
    if (docker.reachable) {
      const reason =
        choice === "docker" ? "--engine docker" : `auto: the Docker engine answered in ${docker.millis} ms`
      return { context: docker.context, info: { kind: "docker", address: docker.address, reason } }
    }
    if (choice === "docker") return yield* docker.error
    return yield* buildLocal(
      `auto: no Docker engine answered (${unreachableDetail(docker.error)}); using the local engine`
    )
  })
