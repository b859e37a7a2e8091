/**
 * A container as a swarm service and back: the service spec `createContainer` sends, and the
 * `ContainerInfo` and `ContainerSummary` read from a service and its newest task. Plain data, no
 * requests.
 *
 * @internal
 */
import {
  type ContainerInfo,
  type ContainerSpec,
  type ContainerState,
  type ContainerSummary,
  SecurityProfile
} from "@armada/engine"

/** The fields of a service armada reads. @internal */
export interface Service {
  readonly ID: string
  readonly CreatedAt: string
  readonly Version: { readonly Index: number }
  readonly Spec: ServiceSpec
}

/** @internal */
export interface ServiceSpec {
  readonly Name: string
  readonly Labels?: Record<string, string>
  readonly TaskTemplate: {
    readonly ContainerSpec: {
      readonly Image: string
      readonly Labels?: Record<string, string>
      readonly Mounts?: ReadonlyArray<{
        readonly Source?: string
        readonly Target: string
        readonly ReadOnly?: boolean
      }>
      readonly CapabilityDrop?: ReadonlyArray<string>
      readonly CapabilityAdd?: ReadonlyArray<string>
    }
    readonly Resources?: {
      readonly Limits?: { readonly MemoryBytes?: number; readonly NanoCPUs?: number; readonly Pids?: number }
    }
    readonly Networks?: ReadonlyArray<{ readonly Target: string }>
    readonly Placement?: { readonly Constraints?: ReadonlyArray<string> }
  }
  readonly Mode?: { readonly Replicated?: { readonly Replicas?: number } }
}

/** The fields of a task armada reads. @internal */
export interface Task {
  readonly ID: string
  readonly ServiceID: string
  readonly NodeID?: string
  readonly CreatedAt: string
  readonly Version: { readonly Index: number }
  readonly DesiredState?: string
  readonly Status: {
    readonly State: string
    readonly Err?: string
    readonly ContainerStatus?: { readonly ContainerID?: string; readonly ExitCode?: number }
    readonly PortStatus?: {
      readonly Ports?: ReadonlyArray<{ readonly TargetPort: number; readonly PublishedPort?: number }>
    }
  }
}

/**
 * The node a service is pinned to, from its placement constraint.
 *
 * @internal
 */
export const nodeOf = (service: Service): string | undefined =>
  service.Spec.TaskTemplate.Placement?.Constraints?.map((c) => /^node\.id\s*==\s*(\S+)$/.exec(c)?.[1]).find(
    (id) => id !== undefined
  )

/**
 * The service for `spec`, with no replica (created, not started), pinned to `node`, on the
 * overlay network `networkId`.
 *
 * - `RestartPolicy` none: a crashed container stays crashed and is diagnosed, never restarted.
 * - Ports published in host mode with no published port: the node picks a free one, read back
 *   from the task's `PortStatus`; `dnsrr` so no virtual IP (and no ingress) is involved.
 * - `StopSignal` SIGKILL and no grace period: removal kills at once, as Docker's forced removal.
 * - Every capability dropped but the profile's and `capAdd`; a service spec has no
 *   `SecurityOpt`, so `no-new-privileges` cannot be asked for (docs/scale-out.md, 2.1).
 *
 * @internal
 */
export const serviceSpec = (spec: ContainerSpec, node: string, networkId: string | undefined) => ({
  Name: spec.name,
  Labels: { ...spec.labels },
  TaskTemplate: {
    ContainerSpec: {
      Image: spec.image,
      ...(spec.cmd === undefined ? {} : { Args: [...spec.cmd] }),
      Env: Object.entries(spec.env ?? {}).map(([key, value]) => `${key}=${value}`),
      Labels: { ...spec.labels },
      Mounts: (spec.mounts ?? []).map((mount) => ({
        Type: "volume",
        Source: mount.volume,
        Target: mount.target,
        ReadOnly: mount.readOnly
      })),
      StopSignal: "SIGKILL",
      StopGracePeriod: 0,
      CapabilityDrop: ["ALL"],
      CapabilityAdd: SecurityProfile.effective(spec).map((capability) => `CAP_${capability}`)
    },
    Resources: {
      Limits: {
        ...(spec.limits?.memoryBytes === undefined ? {} : { MemoryBytes: spec.limits.memoryBytes }),
        ...(spec.limits?.nanoCpus === undefined ? {} : { NanoCPUs: spec.limits.nanoCpus }),
        ...(spec.limits?.pids === undefined ? {} : { Pids: spec.limits.pids })
      }
    },
    RestartPolicy: { Condition: "none", MaxAttempts: 0 },
    Placement: { Constraints: [`node.id==${node}`] },
    ...(networkId === undefined ? {} : { Networks: [{ Target: networkId }] })
  },
  Mode: { Replicated: { Replicas: 0 } },
  EndpointSpec: {
    Mode: "dnsrr",
    Ports:
      spec.publish === undefined ? [] : [{ Protocol: "tcp", TargetPort: spec.publish, PublishMode: "host" }]
  }
})

/** Task states (swarmkit's, in order) as container states. */
const states: Readonly<Record<string, ContainerState>> = {
  new: "created",
  pending: "created",
  assigned: "created",
  accepted: "created",
  preparing: "created",
  ready: "created",
  starting: "created",
  running: "running",
  complete: "exited",
  shutdown: "exited",
  failed: "exited",
  rejected: "exited",
  orphaned: "exited",
  remove: "removing"
}

/**
 * Whether a task has ended (its container, if it had one, is no longer running).
 *
 * @internal
 */
export const isTerminal = (task: Task): boolean => states[task.Status.State] === "exited"

/**
 * The task that stands for the container: the newest one (a service has one replica and never
 * restarts, so there is at most one, but a scale to 0 and back would leave an old one).
 *
 * @internal
 */
export const newest = (tasks: ReadonlyArray<Task>): Task | undefined =>
  [...tasks].sort((a, b) => b.Version.Index - a.Version.Index)[0]

/**
 * A task's exit code: its container's, or -1 for a task that ended without running one
 * (rejected: no such image, a mount that failed).
 *
 * @internal
 */
export const exitCodeOf = (task: Task): number =>
  task.Status.ContainerStatus?.ContainerID ? (task.Status.ContainerStatus.ExitCode ?? -1) : -1

/**
 * What a listing says of the container a service stands for.
 *
 * @internal
 */
export const toContainerSummary = (service: Service, task: Task | undefined): ContainerSummary => {
  const state = task === undefined ? "created" : (states[task.Status.State] ?? "created")
  return {
    id: service.ID,
    name: service.Spec.Name,
    image: service.Spec.TaskTemplate.ContainerSpec.Image,
    labels: service.Spec.Labels ?? {},
    state,
    exitCode: state === "exited" && task !== undefined ? exitCodeOf(task) : undefined,
    createdAt: new Date(service.CreatedAt)
  }
}

/**
 * The container a service stands for. `ports` are the bindings armada calls (see `forward.ts`);
 * `network` the name of the overlay network it joined.
 *
 * @internal
 */
export const toContainerInfo = (
  service: Service,
  task: Task | undefined,
  ports: ContainerInfo["ports"],
  network: string | undefined
): ContainerInfo => {
  const container = service.Spec.TaskTemplate.ContainerSpec
  const limits = service.Spec.TaskTemplate.Resources?.Limits
  return {
    ...toContainerSummary(service, task),
    ports,
    mounts: (container.Mounts ?? []).map((mount) => ({
      volume: mount.Source ?? "",
      target: mount.Target,
      readOnly: mount.ReadOnly === true
    })),
    security: {
      privileged: false,
      networkMode: network ?? "default",
      capDrop: [...(container.CapabilityDrop ?? [])],
      capAdd: (container.CapabilityAdd ?? []).map((capability) => capability.replace(/^CAP_/, "")),
      securityOpt: [],
      memoryBytes: limits?.MemoryBytes ?? 0,
      pidsLimit: limits?.Pids ?? 0,
      nanoCpus: limits?.NanoCPUs ?? 0
    }
  }
}
