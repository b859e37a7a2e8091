/**
 * Containers as swarm services: create (pinned to the session's node, no replica), start (one
 * replica, then its task running), inspect and list (service + newest task), wait, logs and
 * remove. A task's container is reached through its node's engine for wait and logs.
 *
 * @internal
 */
import {
  type ContainerEngine,
  ContainerEngineError,
  type ContainerInfo,
  type ContainerSpec,
  type Labels
} from "@armada/engine"
import { Duration, Effect, Option } from "effect"
import type { Forwarders } from "./forward.js"
import type { Manager } from "./manager.js"
import type { Networks } from "./networks.js"
import { type Node, type Nodes, publishesOnLoopback } from "./nodes.js"
import { poll } from "./poll.js"
import * as Spec from "./spec.js"

/** @internal */
export interface Located {
  readonly service: Spec.Service
  readonly task: Spec.Task | undefined
  readonly node: Node
}

/** @internal */
export interface Services extends ContainerEngine.ContainerOperations {
  /** Whether a service (started or not) mounts `volume`: Docker refuses to remove it then. */
  readonly mounting: (volume: string) => Effect.Effect<boolean, ContainerEngineError.ContainerEngineError>
  /** The service `ref` names, its newest task and its node. */
  readonly locate: (
    ref: string,
    operation: string
  ) => Effect.Effect<Located, ContainerEngineError.ContainerEngineError>
}

/** @internal */
export const make = (
  manager: Manager,
  nodes: Nodes,
  networks: Networks,
  forwarders: Forwarders
): Services => {
  const { context, dial } = manager

  const inspectService = (ref: string, operation: string) =>
    dial<Spec.Service>(context(operation, "container", ref), { method: "GET", path: `/services/${ref}` })

  const tasksOf = (serviceIds: ReadonlyArray<string>, operation: string) =>
    serviceIds.length === 0
      ? Effect.succeed<ReadonlyArray<Spec.Task>>([])
      : dial<ReadonlyArray<Spec.Task>>(context(operation, "container", serviceIds.join(",")), {
          method: "GET",
          path: "/tasks",
          query: { filters: JSON.stringify({ service: serviceIds }) }
        })

  const nodeOfService = (service: Spec.Service) => {
    const id = Spec.nodeOf(service)
    return id === undefined
      ? Effect.fail(
          new ContainerEngineError.EngineError({
            operation: "locate",
            resource: service.Spec.Name,
            detail: "the service is not pinned to a node (it was not made by armada)"
          })
        )
      : nodes.byId(id)
  }

  const locate = (ref: string, operation: string) =>
    Effect.gen(function* () {
      const service = yield* inspectService(ref, operation)
      const task = Spec.newest(yield* tasksOf([service.ID], operation))
      const node = yield* nodeOfService(service)
      return { service, task, node } satisfies Located
    })

  const portsOf = (located: Located) =>
    Effect.gen(function* () {
      const published = located.task?.Status.PortStatus?.Ports ?? []
      const seen = new Set<number>()
      const bindings: Array<ContainerInfo["ports"][number]> = []
      for (const port of published) {
        if (port.PublishedPort === undefined || seen.has(port.TargetPort)) continue
        seen.add(port.TargetPort)
        const hostPort = publishesOnLoopback(located.node)
          ? port.PublishedPort
          : yield* forwarders.portFor(located.service.ID, located.node.publish, port.PublishedPort)
        bindings.push({ containerPort: port.TargetPort, hostIp: "127.0.0.1", hostPort })
      }
      return bindings
    })

  const infoOf = (located: Located) =>
    Effect.gen(function* () {
      const network = located.service.Spec.TaskTemplate.Networks?.[0]?.Target
      const ports = located.task?.Status.State === "running" ? yield* portsOf(located) : []
      const networkName = network === undefined ? undefined : yield* networks.nameOf(network)
      return Spec.toContainerInfo(located.service, located.task, ports, networkName)
    })

  /** The node for a new container: where its volumes are, else the session's (placement). */
  const nodeFor = (spec: ContainerSpec) =>
    Effect.gen(function* () {
      const [first] = spec.mounts ?? []
      if (first === undefined) return yield* nodes.place(spec.labels, spec.image)
      const usable = yield* nodes.usable
      const held = yield* Effect.forEach(
        usable,
        (node) => Effect.map(node.engine.listVolumes(), (volumes) => new Set(volumes.map((v) => v.name))),
        { concurrency: "unbounded" }
      )
      const index = held.findIndex((names) => names.has(first.volume))
      if (index < 0) return yield* new ContainerEngineError.VolumeNotFound({ volume: first.volume })
      const missing = (spec.mounts ?? []).find((mount) => !held[index]!.has(mount.volume))
      if (missing !== undefined)
        return yield* new ContainerEngineError.VolumeNotFound({ volume: missing.volume })
      return usable[index]!
    })

  /** Waits until the service's task runs or has ended; its failure to get there is typed. */
  const awaitStarted = (ref: string, serviceId: string) =>
    poll(
      Effect.map(tasksOf([serviceId], "startContainer"), (tasks) => {
        const task = Spec.newest(tasks)
        return task !== undefined && (task.Status.State === "running" || Spec.isTerminal(task))
          ? Option.some(task)
          : Option.none()
      }),
      manager.timeout,
      () =>
        new ContainerEngineError.EngineError({
          operation: "startContainer",
          resource: ref,
          detail: `its task did not start within ${Duration.format(manager.timeout)} (no node could run it, or the node is busy); \`docker service ps ${ref}\` on the manager says why`
        })
    ).pipe(
      Effect.flatMap((task) =>
        task.Status.State === "rejected" && /no such image/i.test(task.Status.Err ?? "")
          ? Effect.fail(new ContainerEngineError.ImageNotFound({ image: ref, detail: task.Status.Err }))
          : Effect.void
      )
    )

  /** Removes what is left of the service's containers on its node, until none is. */
  const sweepContainers = (located: Located) =>
    poll(
      Effect.gen(function* () {
        const left = yield* located.node.engine.listContainers({
          "com.docker.swarm.service.id": located.service.ID
        })
        yield* Effect.forEach(
          left,
          (container) =>
            located.node.engine
              .removeContainer(container.id)
              .pipe(Effect.catchTag("ContainerNotFound", () => Effect.void)),
          { concurrency: "unbounded", discard: true }
        )
        return left.length === 0 ? Option.some(undefined) : Option.none()
      }),
      manager.timeout,
      () =>
        new ContainerEngineError.EngineError({
          operation: "removeContainer",
          resource: located.service.Spec.Name,
          detail: `its container on node ${located.node.id} was still there after ${Duration.format(manager.timeout)}`
        })
    )

  const listServices = (labels: Labels | undefined, operation: string) =>
    dial<ReadonlyArray<Spec.Service>>(context(operation, "container", "*"), {
      method: "GET",
      path: "/services",
      query: {
        filters: JSON.stringify({
          label: Object.entries(labels ?? {}).map(([key, value]) => `${key}=${value}`)
        })
      }
    })

  return {
    locate,
    mounting: (volume) =>
      Effect.map(listServices(undefined, "removeVolume"), (services) =>
        services.some((service) =>
          (service.Spec.TaskTemplate.ContainerSpec.Mounts ?? []).some((mount) => mount.Source === volume)
        )
      ),
    createContainer: (spec) =>
      Effect.gen(function* () {
        const node = yield* nodeFor(spec)
        if (!(yield* node.engine.imageExists(spec.image))) {
          return yield* new ContainerEngineError.ImageNotFound({
            image: spec.image,
            detail: `not on node ${node.hostname} (${node.id})`
          })
        }
        const networkId = spec.network === undefined ? undefined : yield* networks.idOf(spec.network)
        const created = yield* dial<{ readonly ID: string }>(
          context("createContainer", "container", spec.name),
          {
            method: "POST",
            path: "/services/create",
            body: Spec.serviceSpec(spec, node.id, networkId)
          }
        )
        return created.ID
      }),
    startContainer: (ref) =>
      Effect.gen(function* () {
        const update = Effect.gen(function* () {
          const service = yield* inspectService(ref, "startContainer")
          if (service.Spec.Mode?.Replicated?.Replicas === 1) return service.ID
          yield* dial(context("startContainer", "container", ref), {
            method: "POST",
            path: `/services/${service.ID}/update`,
            query: { version: String(service.Version.Index) },
            body: { ...service.Spec, Mode: { Replicated: { Replicas: 1 } } }
          })
          return service.ID
        })
        // Two updates at once: the second is "out of sequence"; it reads the new version and goes on.
        const id = yield* update.pipe(
          Effect.retry({
            times: 3,
            while: (error) => error._tag === "EngineError" && /out of sequence/i.test(error.detail)
          })
        )
        yield* awaitStarted(ref, id)
      }),
    inspectContainer: (ref) => Effect.flatMap(locate(ref, "inspectContainer"), infoOf),
    listContainers: (labels?: Labels) =>
      Effect.gen(function* () {
        const services = yield* listServices(labels, "listContainers")
        const tasks = yield* tasksOf(
          services.map((service) => service.ID),
          "listContainers"
        )
        return services.map((service) =>
          Spec.toContainerSummary(service, Spec.newest(tasks.filter((task) => task.ServiceID === service.ID)))
        )
      }),
    waitContainer: (ref) =>
      Effect.gen(function* () {
        // No deadline: a created container is waited for as long as it takes to start and end;
        // its removal meanwhile is ContainerNotFound.
        const { node, task } = yield* poll(
          Effect.map(locate(ref, "waitContainer"), (located) =>
            located.task !== undefined &&
            (located.task.Status.ContainerStatus?.ContainerID || Spec.isTerminal(located.task))
              ? Option.some({ node: located.node, task: located.task })
              : Option.none()
          ),
          Duration.infinity,
          () => new ContainerEngineError.ContainerNotFound({ container: ref })
        )
        const container = task.Status.ContainerStatus?.ContainerID
        if (Spec.isTerminal(task) || !container) return Spec.exitCodeOf(task)
        // Gone before the node's wait arrived: the service was removed, which kills with SIGKILL.
        const code = yield* node.engine
          .waitContainer(container)
          .pipe(Effect.catchTag("ContainerNotFound", () => Effect.succeed(137)))
        // The task's state follows the container's exit a moment later: once wait has answered,
        // inspect says exited too. A service removed meanwhile has nothing more to say.
        yield* poll(
          Effect.map(locate(ref, "waitContainer"), ({ task }) =>
            task === undefined || Spec.isTerminal(task) ? Option.some(task) : Option.none()
          ),
          manager.timeout,
          () => new ContainerEngineError.ContainerNotFound({ container: ref })
        ).pipe(Effect.catchTag("ContainerNotFound", () => Effect.void))
        return code
      }),
    logs: (ref, options) =>
      Effect.gen(function* () {
        const { node, task } = yield* locate(ref, "logs")
        const container = task?.Status.ContainerStatus?.ContainerID
        if (!container) return ""
        return yield* node.engine
          .logs(container, options)
          .pipe(Effect.catchTag("ContainerNotFound", () => Effect.succeed("")))
      }),
    removeContainer: (ref) =>
      Effect.gen(function* () {
        const located = yield* locate(ref, "removeContainer")
        yield* dial(context("removeContainer", "container", ref), {
          method: "DELETE",
          path: `/services/${located.service.ID}`
        })
        yield* forwarders.close(located.service.ID)
        // Gone as Docker's forced removal is gone: its volumes can be removed next.
        yield* sweepContainers(located)
      })
  }
}
