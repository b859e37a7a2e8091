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
 * `layer` and `layerConfig` take one address (`unix://`, plain `tcp://`); `layerDiscovery` finds
 * the engine the way the Docker CLI does (`EngineDiscovery`), over any transport, TLS and ssh
 * included, and `makeAt` builds the engine at an endpoint discovery found.
 *
 * @since 0.1.0
 */
import { homedir } from "node:os"
import type { InputError } from "@armada/core"
import { ContainerEngine } from "@armada/engine"
import { Config, type ConfigError, Duration, Effect, Layer, type Scope } from "effect"
import * as EngineDiscovery from "./EngineDiscovery.js"
import type { EngineDiscoveryError, EngineSshError, EngineTlsError } from "./EngineDiscoveryError.js"
import * as Forwarder from "./internal/forwarder.js"
import * as internal from "./internal/liveEngine.js"
import * as Podman from "./internal/podman.js"
import * as Transport from "./internal/transport.js"

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

const timeoutConfig = Config.duration("ARMADA_DOCKER_TIMEOUT").pipe(Config.withDefault(Duration.seconds(30)))

/**
 * `DOCKER_HOST` (default `unix:///var/run/docker.sock`) and `ARMADA_DOCKER_TIMEOUT` (a duration
 * such as `30 seconds`; default 30 seconds).
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Options> = Config.all({
  host: Config.string("DOCKER_HOST").pipe(Config.withDefault(defaultHost)),
  timeout: timeoutConfig
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
  Effect.map(internal.make(options), (engine) => ContainerEngine.make(Podman.adapt(engine)))

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

/**
 * What `makeAt` needs besides the endpoint: the request timeout, and for ssh the home folder
 * (`~/.ssh`, default the user's) and the agent's socket.
 *
 * @since 0.2.0
 * @category models
 */
export interface EndpointOptions {
  readonly timeout?: Duration.DurationInput | undefined
  readonly home?: string | undefined
  readonly sshAuthSock?: string | undefined
}

/**
 * The service at `endpoint`, over its transport. A TLS or ssh engine is reached through a socket
 * of armada's own that dials it once per connection (`internal/forwarder.ts`); the service's
 * `address`, and the one its `EngineUnreachable` errors name, is the endpoint's. Reads the TLS material or the ssh keys now (their errors are
 * `EngineTlsError` and `EngineSshError`) and contacts nothing.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeAt = (
  endpoint: EngineDiscovery.Endpoint,
  options: EndpointOptions = {}
): Effect.Effect<ContainerEngine.Service, InputError | EngineTlsError | EngineSshError, Scope.Scope> =>
  Effect.gen(function* () {
    const timeout = options.timeout ?? Duration.seconds(30)
    const address = EngineDiscovery.address(endpoint)
    const dial = yield* Transport.dialer(endpoint, {
      home: options.home ?? homedir(),
      sshAuthSock: options.sshAuthSock,
      timeout
    })
    if (dial === undefined) {
      return ContainerEngine.make(Podman.adapt(yield* internal.make({ host: address, timeout })))
    }
    const socket = `unix://${yield* Forwarder.listen(dial)}`
    const engine = yield* internal.make({ host: socket, timeout })
    return ContainerEngine.make(Podman.adapt({ ...Forwarder.readdressed(engine, socket, address), address }))
  })

/**
 * Discovery's settings (`EngineDiscovery.settings`) and `ARMADA_DOCKER_TIMEOUT`.
 *
 * @since 0.2.0
 * @category config
 */
export const discoveryConfig: Config.Config<{
  readonly settings: EngineDiscovery.Settings
  readonly timeout: Duration.Duration
}> = Config.all({
  settings: EngineDiscovery.settings,
  timeout: timeoutConfig
})

/**
 * The engine the Docker CLI would use (`EngineDiscovery.discover`): the one `DOCKER_HOST` or the
 * Docker context names, else the first local socket that answers. Fails with discovery's typed
 * error when there is none.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerDiscovery = (
  options: Config.Config<{
    readonly settings: EngineDiscovery.Settings
    readonly timeout: Duration.Duration
  }> = discoveryConfig
): Layer.Layer<ContainerEngine, EngineDiscoveryError | ConfigError.ConfigError> =>
  Layer.scoped(
    ContainerEngine,
    Effect.gen(function* () {
      const { settings, timeout } = yield* options
      const found = yield* EngineDiscovery.discover(settings)
      return yield* makeAt(found.endpoint, {
        timeout,
        home: settings.home,
        sshAuthSock: settings.sshAuthSock
      })
    })
  )
