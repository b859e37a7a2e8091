/**
 * The Swarm `ContainerEngine` before `ContainerEngine.make` adds validation and spans: the
 * manager's client, the nodes and their engines, and the service put together from one module
 * per concern (`services`, `networks`, `onNodes`).
 *
 * @internal
 */
import type { InputError } from "@armada/core"
import { DockerEngineLive } from "@armada/docker"
import type { ContainerEngine } from "@armada/engine"
import { Duration, Effect, Scope } from "effect"
import type { Options } from "../SwarmEngine.js"
import { notAManager } from "./error.js"
import * as Forward from "./forward.js"
import * as Manager from "./manager.js"
import * as Networks from "./networks.js"
import * as Nodes from "./nodes.js"
import * as OnNodes from "./onNodes.js"
import * as Services from "./services.js"

/** @internal */
export const make = (options: Options): Effect.Effect<ContainerEngine.Service, InputError, Scope.Scope> =>
  Effect.gen(function* () {
    const timeout = Duration.decode(options.timeout ?? Duration.seconds(30))
    const manager = yield* Manager.make(options.manager ?? "unix:///var/run/docker.sock", timeout, "manager")
    const scope = yield* Effect.scope
    // A node's engine lives as long as this engine; it is built when the node is first listed.
    const engineAt = (address: string) =>
      Scope.extend(DockerEngineLive.make({ host: address, timeout }), scope)
    const nodes = yield* Nodes.make(manager, options.nodes ?? {}, engineAt)
    const networks = yield* Networks.make(manager)
    const forwarders = yield* Forward.make
    const services = Services.make(manager, nodes, networks, forwarders)
    const { context, dial } = manager

    const engine: ContainerEngine.Service = {
      address: manager.address,
      // Archives go through the engine of the node that holds the volume or the task's container;
      // nodes without an engine address are never used, so every node armada uses has them.
      capabilities: { archiveApi: true },
      ping: Effect.gen(function* () {
        const info = yield* dial<{
          readonly Swarm?: { readonly ControlAvailable?: boolean; readonly LocalNodeState?: string }
        }>(context("ping", "engine", manager.address), { method: "GET", path: "/info" })
        if (info.Swarm?.ControlAvailable !== true) {
          return yield* notAManager(
            context("ping", "engine", manager.address),
            `swarm state ${info.Swarm?.LocalNodeState ?? "unknown"}`
          )
        }
      }),
      version: Effect.map(
        dial<{
          readonly Version: string
          readonly ApiVersion: string
          readonly Os: string
          readonly Arch: string
        }>(context("version", "engine", manager.address), { method: "GET", path: "/version" }),
        (version) => ({
          engine: "docker swarm",
          version: version.Version,
          apiVersion: version.ApiVersion,
          os: version.Os,
          arch: version.Arch
        })
      ),
      ...services,
      ...networks,
      ...OnNodes.make(nodes, services)
    }
    return engine
  })
