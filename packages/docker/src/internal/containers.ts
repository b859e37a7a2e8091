/**
 * The live engine's containers: the create request (with the security profile and limits), start,
 * inspect (as `ContainerInfo`), list (as `ContainerSummary`), wait, logs and remove.
 *
 * @internal
 */
import {
  type ContainerEngine,
  type ContainerInfo,
  type ContainerSpec,
  type ContainerState,
  type ContainerSummary,
  SecurityProfile
} from "@armada/engine"
import type Docker from "dockerode"
import { Effect } from "effect"
import { type Client, labelFilters, withSignal } from "./client.js"
import { isAlreadyStarted, toDockerError } from "./error.js"
import type { NetworkIds } from "./networkIds.js"
import { networkModes } from "./networks.js"
import { type PresentVolumes, requireVolumes } from "./volumes.js"

/**
 * `networkId`: the container joins that network by id (its endpoint named after it too), so a
 * second network of the same name cannot make it ambiguous when the container starts.
 */
const createBody = (spec: ContainerSpec, networkId: string | undefined): Docker.ContainerCreateOptions => {
  const port = spec.publish === undefined ? undefined : `${spec.publish}/tcp`
  return {
    name: spec.name,
    Image: spec.image,
    ...(spec.cmd === undefined ? {} : { Cmd: [...spec.cmd] }),
    Env: Object.entries(spec.env ?? {}).map(([key, value]) => `${key}=${value}`),
    Labels: { ...spec.labels },
    ...(port === undefined ? {} : { ExposedPorts: { [port]: {} } }),
    HostConfig: {
      Mounts: (spec.mounts ?? []).map((mount) => ({
        Type: "volume" as const,
        Source: mount.volume,
        Target: mount.target,
        ReadOnly: mount.readOnly
      })),
      ...(port === undefined ? {} : { PortBindings: { [port]: [{ HostIp: "127.0.0.1", HostPort: "" }] } }),
      NetworkMode: networkId ?? spec.network ?? "bridge",
      Privileged: false,
      SecurityOpt: ["no-new-privileges"],
      CapDrop: ["ALL"],
      CapAdd: [...SecurityProfile.effective(spec)],
      ...(spec.limits?.memoryBytes === undefined ? {} : { Memory: spec.limits.memoryBytes }),
      ...(spec.limits?.nanoCpus === undefined ? {} : { NanoCpus: spec.limits.nanoCpus }),
      ...(spec.limits?.pids === undefined ? {} : { PidsLimit: spec.limits.pids })
    },
    ...(networkId === undefined
      ? {}
      : { NetworkingConfig: { EndpointsConfig: { [networkId]: { NetworkID: networkId } } } })
  }
}

// The SDK types some of these as `any`: keep only strings.
const asStrings = (value: unknown): Array<string> =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : []

const toContainerInfo = (info: Docker.ContainerInspectInfo): ContainerInfo => {
  const state = info.State.Status as ContainerState
  const host = info.HostConfig
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ""),
    image: info.Config.Image,
    labels: info.Config.Labels ?? {},
    state,
    exitCode: state === "exited" || state === "dead" ? info.State.ExitCode : undefined,
    createdAt: new Date(info.Created),
    ports: Object.entries(info.NetworkSettings.Ports ?? {}).flatMap(([key, bindings]) =>
      (bindings ?? []).map((binding) => ({
        containerPort: Number.parseInt(key, 10),
        hostIp: binding.HostIp,
        hostPort: Number(binding.HostPort)
      }))
    ),
    mounts: (info.Mounts ?? [])
      .filter((mount) => mount.Type === "volume" && mount.Name !== undefined)
      .map((mount) => ({ volume: mount.Name!, target: mount.Destination, readOnly: !mount.RW })),
    security: {
      privileged: host.Privileged === true,
      // A network joined by id is reported by its name, as it was asked for.
      networkMode:
        Object.entries(info.NetworkSettings.Networks ?? {}).find(
          ([, endpoint]) => endpoint.NetworkID !== "" && endpoint.NetworkID === host.NetworkMode
        )?.[0] ??
        host.NetworkMode ??
        "",
      capDrop: asStrings(host.CapDrop),
      capAdd: asStrings(host.CapAdd).map((capability) => capability.replace(/^CAP_/, "")),
      securityOpt: asStrings(host.SecurityOpt),
      memoryBytes: host.Memory ?? 0,
      pidsLimit: host.PidsLimit ?? 0,
      nanoCpus: host.NanoCpus ?? 0
    }
  }
}

/**
 * A list entry carries the exit code only in its status line, which Docker and Podman write as
 * `Exited (<code>) <how long> ago`.
 */
const exitCodeOfStatus = (status: string): number | undefined => {
  const code = /^Exited \((-?\d+)\)/.exec(status)?.[1]
  return code === undefined ? undefined : Number(code)
}

const toContainerSummary = (summary: Docker.ContainerInfo): ContainerSummary => {
  const state = summary.State as ContainerState
  // A container's own name is the one without a further slash (links add `/<other>/<alias>`).
  const names = summary.Names.map((name) => name.replace(/^\//, ""))
  return {
    id: summary.Id,
    name: names.find((name) => !name.includes("/")) ?? names[0] ?? summary.Id,
    image: summary.Image,
    labels: summary.Labels ?? {},
    state,
    exitCode: state === "exited" || state === "dead" ? exitCodeOfStatus(summary.Status) : undefined,
    createdAt: new Date(summary.Created * 1000)
  }
}

/** Docker's log stream without a TTY: frames of [stream, 0, 0, 0, size (4 bytes BE)] + payload. */
const demux = (buffer: Buffer): string => {
  const parts: Array<Buffer> = []
  let offset = 0
  while (offset + 8 <= buffer.length) {
    const kind = buffer[offset]!
    const size = buffer.readUInt32BE(offset + 4)
    if (kind > 2 || buffer[offset + 1] !== 0 || offset + 8 + size > buffer.length) {
      return buffer.toString("utf8") // not multiplexed (a TTY container)
    }
    parts.push(buffer.subarray(offset + 8, offset + 8 + size))
    offset += 8 + size
  }
  return Buffer.concat(parts).toString("utf8")
}

/** @internal */
export const make = (
  client: Client,
  networkIds: NetworkIds,
  presentVolumes: PresentVolumes
): ContainerEngine.ContainerOperations => {
  const { context, docker, request } = client

  return {
    createContainer: (spec) =>
      Effect.gen(function* () {
        // Docker would create a missing named volume on the fly, unlabelled: refuse instead.
        yield* requireVolumes(
          client,
          presentVolumes,
          (spec.mounts ?? []).map((mount) => mount.volume)
        )
        // A named network is joined by the id of the one every process keeps: two processes'
        // concurrent ensures may have made two of that name for a moment.
        const network = spec.network
        const networkId =
          network === undefined || networkModes.has(network) ? undefined : yield* networkIds.resolve(network)
        const ctx = context("createContainer", "container", spec.name, {
          image: spec.image,
          conflict: "NameConflict"
        })
        const created = yield* request(ctx, (signal) =>
          docker.createContainer(withSignal(createBody(spec, networkId), signal))
        )
        return created.id
      }),
    startContainer: (ref) =>
      request(context("startContainer", "container", ref), async (signal) => {
        try {
          await docker.getContainer(ref).start(withSignal({}, signal))
        } catch (error) {
          if (!isAlreadyStarted(error)) throw error
        }
      }),
    inspectContainer: (ref) =>
      request(context("inspectContainer", "container", ref), (signal) =>
        docker.getContainer(ref).inspect(withSignal({}, signal))
      ).pipe(Effect.map(toContainerInfo)),
    listContainers: (labels) =>
      request(context("listContainers", "container", "*"), (signal) =>
        docker.listContainers(withSignal({ all: true, filters: labelFilters(labels) }, signal))
      ).pipe(Effect.map((listed) => listed.map(toContainerSummary))),
    waitContainer: (ref) =>
      Effect.gen(function* () {
        const result = yield* Effect.tryPromise({
          try: (signal) =>
            docker.getContainer(ref).wait(withSignal({ condition: "not-running" as const }, signal)),
          catch: toDockerError(context("waitContainer", "container", ref))
        })
        const code: unknown = result?.StatusCode
        return typeof code === "number" ? code : -1
      }),
    logs: (ref, { tail }) =>
      Effect.gen(function* () {
        const raw = yield* request(context("logs", "container", ref), (signal) =>
          docker
            .getContainer(ref)
            .logs(
              withSignal(
                { stdout: true, stderr: true, tail: Math.max(0, tail), follow: false as const },
                signal
              )
            )
        )
        return demux(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw)))
      }),
    removeContainer: (ref) =>
      Effect.asVoid(
        request(context("removeContainer", "container", ref), (signal) =>
          docker.getContainer(ref).remove(withSignal({ force: true }, signal))
        )
      )
  }
}
