/**
 * The swarm's nodes as armada uses them: each node's Docker engine (volumes, images and a task's
 * container live on one node, and in API 1.41 only that node's engine reaches them), the address
 * its published ports are called at, and placement: which node a session's resources go to.
 *
 * @internal
 */
import type { ImageRef } from "@armada/core"
import { type ContainerEngine, ContainerEngineError, type Labels } from "@armada/engine"
import { Effect, Ref } from "effect"
import type { Manager } from "./manager.js"

/** @internal */
export interface Node {
  readonly id: string
  readonly hostname: string
  /** The engine of this node (`@armada/docker`'s service). */
  readonly engine: ContainerEngine.Service
  /** Where armada calls the ports a task publishes on this node. */
  readonly publish: string
}

/** What `Nodes.make` needs of the options. @internal */
export interface NodeSettings {
  readonly engine?: string | undefined
  readonly publish?: string | undefined
}

interface SwarmNode {
  readonly ID: string
  readonly Description?: {
    readonly Hostname?: string
    readonly Resources?: { readonly MemoryBytes?: number }
  }
  readonly Spec?: { readonly Availability?: string }
  readonly Status?: { readonly State?: string; readonly Addr?: string }
}

/** @internal */
export interface Nodes {
  /** Every node armada can use: ready, active and with an engine armada reaches. */
  readonly usable: Effect.Effect<ReadonlyArray<Node>, ContainerEngineError.ContainerEngineError>
  /** The node `id`, or an `EngineError` naming it. */
  readonly byId: (id: string) => Effect.Effect<Node, ContainerEngineError.ContainerEngineError>
  /**
   * The node of the session `labels` name: the one it was placed on, the one that holds its
   * volumes, else the least loaded usable node (fewest sessions; among equals, any), preferring
   * nodes that have `image`. Labels that name no session place on the least loaded node.
   */
  readonly place: (
    labels: Labels,
    image?: ImageRef.ImageRef | undefined
  ) => Effect.Effect<Node, ContainerEngineError.ContainerEngineError>
}

/**
 * The session a resource belongs to: armada labels everything with `<prefix>.session=<id>`;
 * the key keeps the prefix, so two prefixes' sessions of one id are two sessions.
 *
 * @internal
 */
export const sessionOf = (labels: Labels): string | undefined => {
  const key = Object.keys(labels)
    .filter((label) => label.endsWith(".session"))
    .sort()[0]
  return key === undefined ? undefined : `${key}=${labels[key]}`
}

const isLoopback = (host: string) => /^(127\.|localhost$|::1$)/.test(host)

/**
 * The nodes, from the manager's list. `engines` builds a node's engine from its address;
 * `managerNode` is the node the manager runs on: its engine is the manager's own address unless
 * `settings` names another, and a manager reached on a local socket publishes on 127.0.0.1.
 *
 * @internal
 */
export const make = (
  manager: Manager,
  settings: Readonly<Record<string, NodeSettings>>,
  engineAt: (
    address: string
  ) => Effect.Effect<ContainerEngine.Service, ContainerEngineError.ContainerEngineError>
): Effect.Effect<Nodes> =>
  Effect.gen(function* () {
    const engines = new Map<string, ContainerEngine.Service>()
    // Sessions placed by this process, by session key: the node they went to.
    const placed = yield* Ref.make(new Map<string, string>())
    const lock = yield* Effect.makeSemaphore(1)

    const info = manager.dial<{ readonly Swarm?: { readonly NodeID?: string } }>(
      manager.context("info", "engine", manager.address),
      { method: "GET", path: "/info" }
    )

    const usable = Effect.gen(function* () {
      const self = yield* info
      const listed = yield* manager.dial<ReadonlyArray<SwarmNode>>(
        manager.context("listNodes", "node", "*"),
        {
          method: "GET",
          path: "/nodes"
        }
      )
      const found: Array<Node> = []
      for (const node of listed) {
        if (node.Status?.State !== "ready" || node.Spec?.Availability !== "active") continue
        const hostname = node.Description?.Hostname ?? node.ID
        const own = settings[node.ID] ?? settings[hostname] ?? {}
        const isManager = node.ID === self.Swarm?.NodeID
        const address = own.engine ?? (isManager ? manager.address : undefined)
        if (address === undefined) continue
        let engine = engines.get(address)
        if (engine === undefined) {
          engine = yield* engineAt(address)
          engines.set(address, engine)
        }
        const local = isManager && manager.address.startsWith("unix://")
        const publish = own.publish ?? (local ? "127.0.0.1" : (node.Status?.Addr ?? hostname))
        found.push({ id: node.ID, hostname, engine, publish })
      }
      return found
    })

    const byId = (id: string) =>
      Effect.flatMap(usable, (nodes) => {
        const node = nodes.find((candidate) => candidate.id === id)
        return node === undefined
          ? Effect.fail(
              new ContainerEngineError.EngineError({
                operation: "node",
                resource: id,
                detail: `node ${id} is not ready, is drained, or armada has no engine address for it (nodes in the swarm options)`
              })
            )
          : Effect.succeed(node)
      })

    /** The sessions whose volumes a node holds, by session key. */
    const sessionsOn = (node: Node) =>
      Effect.map(
        node.engine.listVolumes(),
        (volumes) =>
          new Set(volumes.map((volume) => sessionOf(volume.labels)).filter((key) => key !== undefined))
      )

    const place = (labels: Labels, image?: ImageRef.ImageRef) =>
      lock.withPermits(1)(
        Effect.gen(function* () {
          const session = sessionOf(labels)
          const nodes = yield* usable
          if (nodes.length === 0) {
            return yield* new ContainerEngineError.EngineError({
              operation: "place",
              resource: session ?? "container",
              detail: `no swarm node is ready, active and reachable from armada (manager ${manager.address})`
            })
          }
          const known = session === undefined ? undefined : (yield* Ref.get(placed)).get(session)
          const already = nodes.find((node) => node.id === known)
          if (already !== undefined) return already
          const loads = yield* Effect.forEach(nodes, sessionsOn, { concurrency: "unbounded" })
          const holding = nodes.find((_, index) => session !== undefined && loads[index]!.has(session))
          const inMemory = yield* Ref.get(placed)
          const hasImage = yield* Effect.forEach(
            nodes,
            (node) => (image === undefined ? Effect.succeed(true) : node.engine.imageExists(image)),
            { concurrency: "unbounded" }
          )
          const scored = nodes.map((node, index) => ({
            node,
            image: hasImage[index]! ? 0 : 1,
            load: new Set([
              ...loads[index]!,
              ...[...inMemory].filter(([, on]) => on === node.id).map(([key]) => key)
            ]).size,
            tie: Math.random()
          }))
          scored.sort((a, b) => a.image - b.image || a.load - b.load || a.tie - b.tie)
          const chosen = holding ?? scored[0]!.node
          if (session !== undefined) yield* Ref.update(placed, (map) => new Map(map).set(session, chosen.id))
          return chosen
        })
      )

    return { usable, byId, place }
  })

/**
 * Whether armada reaches `node`'s published ports on its own loopback, with no forwarder.
 *
 * @internal
 */
export const publishesOnLoopback = (node: Node): boolean => isLoopback(node.publish)
