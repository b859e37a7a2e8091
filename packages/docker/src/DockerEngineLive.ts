/**
 * The `ContainerEngine` over a real Docker engine, through dockerode. The SDK client (and its HTTP
 * agent) is a scoped resource: it lives as long as the layer and its sockets are closed with it.
 *
 * Each request fails after `timeout`; the long ones have no fixed length and are bounded
 * differently: `waitContainer` waits as long as the container runs, `pull` and `getArchive` fail
 * when the engine has sent nothing for `timeout`. Interrupting any operation aborts its request.
 *
 * A pull asks for the exact reference (one tag, or the digest) and sends the credentials the
 * `Credentials` service has for its registry: by default none; provide `Credentials.layerConfig()`
 * to the layer to find them the way the Docker CLI does. Its failures are `PullFailed`, typed by
 * their `reason`.
 *
 * @since 0.1.0
 */
import type { InputError } from "@armada/core"
import { ContainerEngine } from "@armada/engine"
import { Config, type ConfigError, Duration, Effect, Layer, type Scope } from "effect"
import * as internal from "./internal/liveEngine.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Where the engine is: `unix:///path/to/docker.sock`, `tcp://host:port` (plain HTTP), or a bare
   * socket path. Default `unix:///var/run/docker.sock`.
   */
  readonly host?: string | undefined
  /** Default 30 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * The default address.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultHost = "unix:///var/run/docker.sock"

/**
 * `DOCKER_HOST` (default `unix:///var/run/docker.sock`) and `ARMADA_DOCKER_TIMEOUT` (a duration
 * such as `30 seconds`; default 30 seconds).
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Options> = Config.all({
  host: Config.string("DOCKER_HOST").pipe(Config.withDefault(defaultHost)),
  timeout: Config.duration("ARMADA_DOCKER_TIMEOUT").pipe(Config.withDefault(Duration.seconds(30)))
})

/**
 * The service, its client released with the scope. Fails with an `InputError` (field
 * `DOCKER_HOST`) when the address is not one it can use; it does not contact the engine, so an
 * engine that is down shows up on the first operation, as `EngineUnreachable`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<ContainerEngine.Service, InputError, Scope.Scope> =>
  Effect.map(internal.make(options), ContainerEngine.make)

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<ContainerEngine, InputError> =>
  Layer.scoped(ContainerEngine, make(options))

/**
 * The layer configured from `config` (by default `DOCKER_HOST` and `ARMADA_DOCKER_TIMEOUT`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config<Options> = config
): Layer.Layer<ContainerEngine, InputError | ConfigError.ConfigError> =>
  Layer.scoped(ContainerEngine, Effect.flatMap(options, make))
