/**
 * Which `ContainerEngine` a command runs on (`--engine auto|docker|local`, `--host`). The engine is
 * the only layer the flags swap: `Engines` holds how to find the Docker engine and how to build
 * each one (the live ones in `bin.ts`, fakes in tests), and `select` builds the chosen one in the
 * command's scope, saying which and why.
 *
 * @since 0.1.0
 */
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { InputError } from "@armada/core"
import { EngineDiscovery, EngineDiscoveryError } from "@armada/docker"
import { ContainerEngine, ContainerEngineError } from "@armada/engine"
import type { LocalEngine } from "@armada/local"
import { Context, Duration, Effect, Layer, Option, type Scope } from "effect"
import type * as Event from "./Event.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Choice = "auto" | "docker" | "local" | "swarm"

/**
 * @since 0.1.0
 * @category constants
 */
export const choices: ReadonlyArray<Choice> = ["auto", "docker", "local", "swarm"]

/**
 * `--engine` and `--host` together.
 *
 * @since 0.2.0
 * @category models
 */
export interface Selection {
  readonly choice: Choice
  /** `--host`: the Docker engine's address, over `DOCKER_HOST` and the Docker context. */
  readonly host: string | undefined
}

/**
 * What building an engine may fail with: the engine's errors, and discovery's (no engine found, a
 * TLS or ssh failure, a Docker context that cannot be used).
 *
 * @since 0.1.0
 * @category models
 */
export type BuildError = ContainerEngineError.ContainerEngineError | EngineDiscoveryError.EngineDiscoveryError

/**
 * Whether `error` means there is no engine to talk to (exit code 3), rather than a bad setting or
 * an engine that answered wrongly.
 *
 * @since 0.2.0
 * @category getters
 */
export const isUnreachable = (error: BuildError): boolean => {
  switch (error._tag) {
    case "EngineUnreachable":
    case "NoEngineFound":
    case "EngineTlsError":
    case "EngineSshError":
    case "DockerContextError":
      return true
    default:
      return false
  }
}

/**
 * What the local engine is built with: its catalog and, when that is not the spec's `local:`
 * section, where its commands come from.
 *
 * @since 0.3.0
 * @category models
 */
export type LocalOptions = Pick<LocalEngine.Options, "catalog" | "catalogSource">

/**
 * How to find the Docker engine and build each engine.
 *
 * @since 0.1.0
 * @category models
 */
export interface Factories {
  /** Where the Docker engine is, `--host` (if given) first: `EngineDiscovery.report`. */
  readonly discover: (host: string | undefined) => Effect.Effect<EngineDiscovery.Report>
  /** The Docker engine discovery found. */
  readonly docker: (found: EngineDiscovery.Discovered) => Layer.Layer<ContainerEngine, BuildError>
  readonly local: (options: LocalOptions) => Layer.Layer<ContainerEngine, BuildError>
  /**
   * The Docker Swarm engine (`@armada/swarm`) whose manager is at `host` (`--host`; else
   * `DOCKER_HOST`, else the default socket). Absent: `--engine swarm` says it is not built in.
   */
  readonly swarm?: ((host: string | undefined) => Layer.Layer<ContainerEngine, BuildError>) | undefined
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
 * (`apps/test-app/dist/test-app.mjs`). Found from this app's `package.json` (the package resolving
 * its own name), not from this module's URL: the bundler may put this module in any file under
 * `dist/`, at any depth. A function, so that only the commands that need it pay for the lookup
 * (~2 ms), not every command's start.
 *
 * @since 0.1.0
 * @category getters
 */
export const testAppBundle = (): string =>
  join(
    dirname(createRequire(import.meta.url).resolve("@armada/cli/package.json")),
    "..",
    "test-app",
    "dist",
    "test-app.mjs"
  )

/**
 * The local engine's built-in catalog: the test app, run by this very Node.js.
 *
 * @since 0.1.0
 * @category getters
 */
export const builtInCatalog = (): LocalEngine.Catalog => ({
  "armada/test-app:dev": { command: [process.execPath, testAppBundle()] }
})

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
 * What looking for the Docker engine found: discovery's report, and the engine built and pinged.
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
      readonly report: EngineDiscovery.Report
    }
  | { readonly reachable: false; readonly error: BuildError; readonly report: EngineDiscovery.Report }

/** The error of a discovery that found nothing: the named engine's own, else `NoEngineFound`. */
const notFound = (report: EngineDiscovery.Report): BuildError => {
  const [only] = report.attempts
  return report.explicit && only !== undefined
    ? only.error
    : new EngineDiscoveryError.NoEngineFound({ attempts: report.attempts })
}

/**
 * Finds the Docker engine (`--host` first), builds it in the current scope and pings it, waiting
 * at most `pingTimeout` (an ssh engine longer: `EngineDiscovery.pingTimeoutFor`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const probeDocker = (host: string | undefined): Effect.Effect<Probe, never, Engines | Scope.Scope> =>
  Effect.gen(function* () {
    const engines = yield* Engines
    const report = yield* engines.discover(host)
    if (Option.isNone(report.discovered)) {
      return { reachable: false, error: notFound(report), report } satisfies Probe
    }
    const found = report.discovered.value
    const timeout = EngineDiscovery.pingTimeoutFor(found.endpoint, pingTimeout)
    return yield* Layer.build(engines.docker(found)).pipe(
      Effect.flatMap((context) => {
        const engine = Context.get(context, ContainerEngine)
        return engine.ping.pipe(
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () =>
              new ContainerEngineError.EngineUnreachable({
                address: engine.address,
                detail: `no answer within ${Duration.format(timeout)}`
              })
          }),
          Effect.timed,
          Effect.map(
            ([took]): Probe => ({
              reachable: true,
              address: engine.address,
              millis: Math.round(Duration.toMillis(took)),
              context,
              report
            })
          )
        )
      }),
      Effect.catchAll((error: BuildError) => Effect.succeed<Probe>({ reachable: false, error, report }))
    )
  })

const unreachableDetail = (error: BuildError): string =>
  error._tag === "EngineUnreachable" ? error.detail : error.message

/** Why the Docker engine was taken: the flag, and where discovery found it. */
const dockerReason = (choice: Choice, probe: Extract<Probe, { reachable: true }>): string => {
  const found = Option.getOrUndefined(probe.report.discovered)
  const why = found === undefined ? "" : `: ${found.reason}`
  return choice === "docker"
    ? `--engine docker${why}`
    : `auto: the Docker engine answered in ${probe.millis} ms${why}`
}

/** The swarm engine, built in the current scope and pinged (it must be a manager). */
const buildSwarm = (engines: Factories, host: string | undefined) =>
  Effect.gen(function* () {
    if (engines.swarm === undefined) {
      return yield* new InputError({
        field: "--engine",
        value: "swarm",
        reason: "this armada has no swarm engine"
      })
    }
    const context = yield* Layer.build(engines.swarm(host))
    const engine = Context.get(context, ContainerEngine)
    yield* engine.ping
    return {
      context,
      info: {
        kind: "swarm",
        address: engine.address,
        reason:
          "--engine swarm: the swarm manager answered; its services run without no-new-privileges, which a service cannot ask for (docs/scale-out.md, 2.1)"
      }
    } satisfies Selected
  })

/**
 * Builds the chosen engine in the current scope. `docker` must be found and answer a ping (else
 * discovery's error or `EngineUnreachable`); `auto` takes Docker when it does within `pingTimeout`
 * and the local engine otherwise, unless the user named the Docker engine and discovery could not
 * reach it: then its error is the error; `local` runs images through `local.catalog` (plus the
 * built-in test app).
 *
 * @since 0.1.0
 * @category constructors
 */
export const select = (
  selection: Selection,
  local: {
    readonly catalog?: LocalEngine.Catalog | undefined
    readonly catalogSource?: string | undefined
  } = {}
): Effect.Effect<Selected, BuildError, Engines | Scope.Scope> =>
  Effect.gen(function* () {
    const { choice } = selection
    const engines = yield* Engines
    const buildLocal = (reason: string) =>
      Effect.map(
        Layer.build(engines.local({ ...local, catalog: { ...builtInCatalog(), ...local.catalog } })),
        (context): Selected => ({
          context,
          info: { kind: "local", address: Context.get(context, ContainerEngine).address, reason }
        })
      )
    if (choice === "local") return yield* buildLocal("--engine local")
    if (choice === "swarm") return yield* buildSwarm(engines, selection.host)
    const docker = yield* probeDocker(selection.host)
    if (docker.reachable) {
      return {
        context: docker.context,
        info: { kind: "docker", address: docker.address, reason: dockerReason(choice, docker) }
      }
    }
    // An engine the user named (--host, DOCKER_HOST, a context) is never swapped for another.
    if (choice === "docker" || (Option.isNone(docker.report.discovered) && docker.report.explicit)) {
      return yield* docker.error
    }
    return yield* buildLocal(
      `auto: no Docker engine answered (${unreachableDetail(docker.error)}); using the local engine`
    )
  })
