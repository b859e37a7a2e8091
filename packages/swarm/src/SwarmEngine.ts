/**
 * The `ContainerEngine` over Docker Swarm services, through dockerode: each container is a
 * service of one replica that never restarts, pinned to one node, its port published in host
 * mode. Every container and volume of a session lands on one node (placement at the session's
 * first volume: the node with the fewest sessions, preferring one that has the images), because
 * volumes are node-local.
 *
 * The manager runs services, tasks and overlay networks. Images, volumes, logs, `wait` and
 * archives live on a node and, in API 1.41, only that node's own engine reaches them: the manager
 * node's engine is the manager's address; every other node needs its engine address in `nodes`,
 * and a node without one is never used. Ports are called at the node's `publish` address (for a
 * manager on a local socket, 127.0.0.1); one that is not a loopback address is reached through a
 * forwarder the engine opens on 127.0.0.1, so armada calls every container on 127.0.0.1.
 *
 * What a swarm service cannot express: `no-new-privileges` (a service spec has no `SecurityOpt` in
 * API 1.41; inspect reports none), and a port bound on 127.0.0.1 only (host-mode ports bind every
 * address of their node). See docs/scale-out.md, section 2.
 *
 * @since 0.3.0
 */
import type { InputError } from "@armada/core"
import { ContainerEngine } from "@armada/engine"
import { Config, type ConfigError, Duration, Effect, Layer, Schema, type Scope } from "effect"
import * as internal from "./internal/swarmEngine.js"

/**
 * How armada reaches one node: its Docker engine (`unix://…`, `tcp://host:port`) and the address
 * its published ports are called at.
 *
 * @since 0.3.0
 * @category models
 */
export interface NodeOptions {
  readonly engine?: string | undefined
  readonly publish?: string | undefined
}

/**
 * @since 0.3.0
 * @category models
 */
export interface Options {
  /** The manager's engine. Default `unix:///var/run/docker.sock`. */
  readonly manager?: string | undefined
  /** By node id or hostname. A single-node swarm reached on a local socket needs none. */
  readonly nodes?: Readonly<Record<string, NodeOptions>> | undefined
  /** Per request; default 30 seconds. Also how long a task may take to start. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * The `nodes` option as JSON, as `ARMADA_SWARM_NODES` holds it.
 *
 * @since 0.3.0
 * @category schemas
 */
export const NodesJson = Schema.parseJson(
  Schema.Record({
    key: Schema.String,
    value: Schema.Struct({ engine: Schema.optional(Schema.String), publish: Schema.optional(Schema.String) })
  })
)

/**
 * `DOCKER_HOST` (the manager; default `unix:///var/run/docker.sock`), `ARMADA_SWARM_NODES` (JSON:
 * `{"<node id or hostname>": {"engine": "tcp://…", "publish": "10.0.0.5"}}`) and
 * `ARMADA_DOCKER_TIMEOUT` (default 30 seconds).
 *
 * @since 0.3.0
 * @category config
 */
export const config: Config.Config<Options> = Config.all({
  manager: Config.string("DOCKER_HOST").pipe(Config.withDefault("unix:///var/run/docker.sock")),
  nodes: Schema.Config("ARMADA_SWARM_NODES", NodesJson).pipe(Config.withDefault({})),
  timeout: Config.duration("ARMADA_DOCKER_TIMEOUT").pipe(Config.withDefault(Duration.seconds(30)))
})

/**
 * The service; its clients, node engines and forwarders are released with the scope. Contacts
 * nothing: a manager that is down, or an engine that is no manager, shows on the first operation
 * (`ping` says which).
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<ContainerEngine.Service, InputError, Scope.Scope> =>
  Effect.map(internal.make(options), ContainerEngine.make)

/**
 * @since 0.3.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<ContainerEngine, InputError> =>
  Layer.scoped(ContainerEngine, make(options))

/**
 * The layer configured from `config`.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config<Options> = config
): Layer.Layer<ContainerEngine, InputError | ConfigError.ConfigError> =>
  Layer.scoped(ContainerEngine, Effect.flatMap(options, make))
