/**
 * The `ContainerEngine` over dockerode, before `ContainerEngine.make` adds validation and spans.
 * The only module that touches the SDK.
 *
 * @internal
 */
import * as http from "node:http"
import { PassThrough } from "node:stream"
import { inspect } from "node:util"
import { InputError, Interruption, Parallel } from "@armada/core"
import type {
  ArchiveTarget,
  ContainerEngine,
  ContainerEngineError,
  ContainerInfo,
  ContainerSpec,
  ContainerState,
  ImageInfo,
  Labels,
  NetworkInfo
} from "@armada/engine"
import { SecurityProfile } from "@armada/engine"
import * as NodeSink from "@effect/platform-node/NodeSink"
import * as NodeStream from "@effect/platform-node/NodeStream"
import Docker from "dockerode"
import { Duration, Effect, Option, Stream } from "effect"
import { Credentials } from "../Credentials.js"
import type { Options } from "../DockerEngineLive.js"
import {
  asPullFailure,
  isAlreadyStarted,
  isAmbiguousName,
  networkNotFound,
  type RequestContext,
  timedOut,
  toDockerError
} from "./error.js"
import * as Pull from "./pull.js"

/** Where a volume is mounted in the helper container that carries its archives. */
const volumeMountPoint = (volume: string) => `/armada-volumes/${volume}`

const helperLabel = "armada.archive-helper"

interface Address {
  readonly display: string
  readonly options: Docker.DockerOptions
}

/**
 * Every connection option is set, even to `undefined`, because docker-modem fills anything
 * missing from the process's own `DOCKER_HOST`, which must not override ours.
 */
const parseHost = (host: string): Effect.Effect<Address, InputError> => {
  const socket = host.startsWith("unix://")
    ? host.slice("unix://".length)
    : host.startsWith("/")
      ? host
      : undefined
  const unset = { ca: undefined, cert: undefined, key: undefined, protocol: "http" as const }
  if (socket !== undefined && socket.length > 0) {
    return Effect.succeed({
      display: `unix://${socket}`,
      options: { ...unset, socketPath: socket, host: undefined, port: undefined }
    })
  }
  const tcp = /^tcp:\/\/([^:/]+|\[[0-9a-fA-F:]+\]):(\d{1,5})\/?$/.exec(host)
  if (tcp !== null) {
    return Effect.succeed({
      display: `tcp://${tcp[1]}:${tcp[2]}`,
      options: {
        ...unset,
        socketPath: undefined,
        host: tcp[1]!.replace(/^\[|\]$/g, ""),
        port: Number(tcp[2])
      }
    })
  }
  return Effect.fail(
    new InputError({
      field: "DOCKER_HOST",
      value: host,
      reason: "expected unix:///path/to/docker.sock, tcp://host:port or a socket path"
    })
  )
}

const labelFilters = (labels: Labels | undefined) =>
  JSON.stringify({ label: Object.entries(labels ?? {}).map(([key, value]) => `${key}=${value}`) })

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

const withSignal = <T extends object>(options: T, signal: AbortSignal): T & { abortSignal: AbortSignal } => ({
  ...options,
  abortSignal: signal
})

/** @internal */
export const make = (options: Options) =>
  Effect.gen(function* () {
    const address = yield* parseHost(options.host ?? "unix:///var/run/docker.sock")
    const timeout = Duration.decode(options.timeout ?? Duration.seconds(30))
    const credentials = yield* Credentials
    const agent = yield* Interruption.acquireRelease(
      Effect.sync(() => {
        const agent = new http.Agent({ keepAlive: true })
        // docker-modem renders every request's options with util.inspect (debug output or not),
        // sockets and all: without this, that costs ~10 ms of CPU per request.
        Object.defineProperty(agent, inspect.custom, { value: () => "[http.Agent]" })
        return agent
      }),
      (agent) => Effect.sync(() => agent.destroy())
    )
    // `agent` is a docker-modem option its types leave out.
    const docker = new Docker({ ...address.options, agent } as Docker.DockerOptions)
    const networkLock = yield* Effect.makeSemaphore(1)

    const context = (
      operation: string,
      kind: RequestContext["kind"],
      name: string,
      extra: Partial<Pick<RequestContext, "image" | "conflict">> = {}
    ): RequestContext => ({ address: address.display, operation, kind, name, ...extra })

    /**
     * One request, aborted on interruption or once `timeout` has passed. The deadline aborts the
     * request itself, so it holds in an uninterruptible region too: a create or start that the
     * orchestrator will not abort on interruption still fails when the engine stops answering
     * (a containerd that hangs on a task). The Effect timeout covers the few calls that take no
     * signal (image inspect, ping, version), which are never made uninterruptible.
     */
    const request = <A>(ctx: RequestContext, run: (signal: AbortSignal) => Promise<A>) =>
      Effect.suspend(() => {
        const deadline = AbortSignal.timeout(Duration.toMillis(timeout))
        return Effect.tryPromise({
          try: (interrupted) => run(AbortSignal.any([interrupted, deadline])),
          catch: (error) => (deadline.aborted ? timedOut(ctx, timeout) : toDockerError(ctx)(error))
        })
      }).pipe(Effect.timeoutFail({ duration: timeout, onTimeout: () => timedOut(ctx, timeout) }))

    /**
     * A response body as a stream, its request aborted when the stream ends early. Read through
     * `NodeStream.fromReadable`, which destroys the body when the stream ends: the async iterator
     * of `Stream.fromAsyncIterable` would be closed by awaiting its `return()`, which Node queues
     * behind the `next()` in flight, so an interruption while the engine sends nothing (a pull
     * waiting on a slow layer) would wait for the engine's next line.
     */
    const responseStream = (
      ctx: RequestContext,
      open: (signal: AbortSignal) => Promise<NodeJS.ReadableStream>
    ): Stream.Stream<Uint8Array, ContainerEngineError.ContainerEngineError> =>
      Stream.unwrapScoped(
        Effect.gen(function* () {
          const controller = yield* Interruption.acquireRelease(
            Effect.sync(() => new AbortController()),
            (controller) => Effect.sync(() => controller.abort())
          )
          const body = yield* request(ctx, () => open(controller.signal))
          return NodeStream.fromReadable<ContainerEngineError.ContainerEngineError, Uint8Array>(
            () => body,
            toDockerError(ctx)
          ).pipe(Stream.timeoutFail(() => timedOut(ctx, timeout), timeout))
        })
      )

    const imageInfo = (info: Docker.ImageInspectInfo | Docker.ImageInfo): ImageInfo => ({
      id: info.Id,
      tags: info.RepoTags ?? [],
      labels: ("Config" in info ? info.Config.Labels : info.Labels) ?? {},
      sizeBytes: info.Size
    })

    const inspectImage = (image: string) =>
      request(context("inspectImage", "image", image), () => docker.getImage(image).inspect()).pipe(
        Effect.map(imageInfo)
      )

    const imageExists = (image: string) =>
      inspectImage(image).pipe(
        Effect.as(true),
        Effect.catchTag("ImageNotFound", () => Effect.succeed(false))
      )

    const inspectContainer = (ref: string) =>
      request(context("inspectContainer", "container", ref), (signal) =>
        docker.getContainer(ref).inspect(withSignal({}, signal))
      ).pipe(Effect.map(toContainerInfo))

    const inspectVolume = (volume: string) =>
      request(context("inspectVolume", "volume", volume), (signal) =>
        docker.getVolume(volume).inspect(withSignal({}, signal))
      )

    /**
     * The networks called exactly `name`, oldest first: the one every process keeps. Listed, not
     * inspected: while two processes' concurrent ensures have made two, Docker refuses the name as
     * ambiguous.
     */
    const networksNamed = (name: string) =>
      request(context("listNetworks", "network", name), (signal) =>
        docker.listNetworks(withSignal({ filters: JSON.stringify({ name: [name] }) }, signal))
      ).pipe(
        Effect.map((all) =>
          all
            .filter((network) => network.Name === name)
            .sort((a, b) => {
              const [x, y] = [sortableTime(a.Created), sortableTime(b.Created)]
              return x === y ? (a.Id < b.Id ? -1 : 1) : x < y ? -1 : 1
            })
        )
      )

    /**
     * `networkId`: the container joins that network by id (its endpoint named after it too), so a
     * second network of the same name cannot make it ambiguous when the container starts.
     */
    const createBody = (
      spec: ContainerSpec,
      networkId: string | undefined
    ): Docker.ContainerCreateOptions => {
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
          ...(port === undefined
            ? {}
            : { PortBindings: { [port]: [{ HostIp: "127.0.0.1", HostPort: "" }] } }),
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

    /**
     * A container of `image` that is created but never started, mounting `volume`, removed when the
     * scope closes: how archives reach a volume on any engine, local or remote.
     */
    const archiveHelper = (volume: string, image: string) =>
      Effect.gen(function* () {
        const info = yield* inspectVolume(volume)
        return yield* Interruption.acquireRelease(
          request(context("putArchive", "container", volume, { image }), (signal) =>
            docker.createContainer(
              withSignal(
                {
                  Image: image,
                  Labels: { ...(info.Labels ?? {}), [helperLabel]: "true" },
                  NetworkDisabled: true,
                  HostConfig: {
                    NetworkMode: "none",
                    Privileged: false,
                    CapDrop: ["ALL"],
                    SecurityOpt: ["no-new-privileges"],
                    Mounts: [{ Type: "volume" as const, Source: volume, Target: volumeMountPoint(volume) }]
                  }
                },
                signal
              )
            )
          ),
          (helper) =>
            request(context("removeContainer", "container", helper.id), (signal) =>
              helper.remove(withSignal({ force: true }, signal))
            ).pipe(Effect.ignore)
        )
      })

    const archivePath = (target: ArchiveTarget, path: string) =>
      target._tag === "Container" ? path : `${volumeMountPoint(target.volume)}${path === "/" ? "" : path}`

    const putInto = <E>(
      container: Docker.Container,
      ctx: RequestContext,
      path: string,
      tar: Stream.Stream<Uint8Array, E>
    ): Effect.Effect<void, ContainerEngineError.ContainerEngineError | E> =>
      Effect.scoped(
        Effect.gen(function* () {
          const body = yield* Interruption.acquireRelease(
            Effect.sync(() => new PassThrough()),
            (body) => Effect.sync(() => body.destroy())
          )
          // The body streams while the request runs; either failing stops the other. It is ended
          // only once the whole archive is in it: ended on a failure, it would upload a cut archive.
          const upload = Stream.run(
            tar,
            NodeSink.fromWritable(() => body, toDockerError(ctx), { endOnDone: false })
          ).pipe(Effect.zipRight(Effect.sync(() => body.end())))
          yield* Effect.all(
            [
              upload,
              Effect.tryPromise({
                try: (signal) => container.putArchive(body, withSignal({ path }, signal)),
                catch: toDockerError(ctx)
              })
            ],
            { concurrency: 2, discard: true }
          )
        })
      )

    const getFrom = (container: Docker.Container, ctx: RequestContext, path: string) =>
      responseStream(ctx, (signal) => container.getArchive(withSignal({ path }, signal)))

    const engine: ContainerEngine.Service = {
      address: address.display,
      ping: Effect.asVoid(request(context("ping", "engine", address.display), () => docker.ping())),
      version: request(context("version", "engine", address.display), () => docker.version()).pipe(
        Effect.map((version) => ({
          engine: "docker",
          version: version.Version,
          apiVersion: version.ApiVersion,
          os: version.Os,
          arch: version.Arch
        }))
      ),

      listImages: (labels) =>
        request(context("listImages", "image", "*"), (signal) =>
          docker.listImages(withSignal({ filters: labelFilters(labels) }, signal))
        ).pipe(Effect.map((images) => images.map(imageInfo))),
      inspectImage,
      imageExists,
      pull: (image) => {
        const ctx = context("pull", "image", image)
        return Stream.unwrap(
          Effect.map(Pull.credentialsFor(credentials, image), (auth) =>
            Pull.progress(
              image,
              responseStream(ctx, (signal) =>
                docker.createImage(Pull.authConfig(auth), { ...Pull.query(image), abortSignal: signal })
              ),
              imageExists(image)
            )
          )
        ).pipe(Stream.mapError(asPullFailure(image)))
      },
      removeImage: (image) =>
        Effect.asVoid(
          request(context("removeImage", "image", image), (signal) =>
            docker.getImage(image).remove(withSignal({}, signal))
          )
        ),

      createContainer: (spec) =>
        Effect.gen(function* () {
          // Docker would create a missing named volume on the fly, unlabelled: refuse instead.
          yield* Effect.forEach(spec.mounts ?? [], (mount) => inspectVolume(mount.volume), {
            concurrency: "unbounded",
            discard: true
          })
          const ctx = context("createContainer", "container", spec.name, {
            image: spec.image,
            conflict: "NameConflict"
          })
          // A named network is joined by the id of the one every process keeps: two processes'
          // concurrent ensures may have made two of that name for a moment.
          const network = spec.network
          const networkId =
            network === undefined || networkModes.has(network)
              ? undefined
              : yield* Effect.flatMap(networksNamed(network), ([keeper]) =>
                  keeper === undefined ? Effect.fail(networkNotFound(network)) : Effect.succeed(keeper.Id)
                )
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
      inspectContainer,
      listContainers: (labels) =>
        Effect.gen(function* () {
          const listed = yield* request(context("listContainers", "container", "*"), (signal) =>
            docker.listContainers(withSignal({ all: true, filters: labelFilters(labels) }, signal))
          )
          const outcome = yield* Parallel.forEachCollect(listed, (summary) => inspectContainer(summary.Id), {
            concurrency: 8
          }).pipe(Effect.orDie)
          // A container removed between the list and its inspect is simply gone.
          const failure = outcome.failures.find(
            (f) => !(f.cause._tag === "Fail" && f.cause.error._tag === "ContainerNotFound")
          )
          if (failure !== undefined) {
            return yield* failure.cause._tag === "Fail"
              ? Effect.fail(failure.cause.error)
              : Effect.die(failure.cause.defect)
          }
          return outcome.successes.map((success) => success.value)
        }),
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
        ),

      createVolume: ({ name, labels }) =>
        Effect.asVoid(
          request(context("createVolume", "volume", name), (signal) =>
            docker.createVolume(withSignal({ Name: name, Labels: { ...labels } }, signal))
          )
        ),
      listVolumes: (labels) =>
        Effect.gen(function* () {
          const listed = yield* request(context("listVolumes", "volume", "*"), (signal) =>
            docker.listVolumes(withSignal({ filters: labelFilters(labels) }, signal))
          )
          return (listed.Volumes ?? []).map((volume) => ({
            name: volume.Name,
            labels: volume.Labels ?? {},
            createdAt: new Date((volume as { CreatedAt?: string }).CreatedAt ?? 0)
          }))
        }),
      removeVolume: (name) =>
        Effect.asVoid(
          request(context("removeVolume", "volume", name, { conflict: "VolumeInUse" }), (signal) =>
            docker.getVolume(name).remove(withSignal({}, signal))
          )
        ),

      ensureNetwork: ({ name, labels }) =>
        Effect.gen(function* () {
          // One ensure at a time in this process; create-then-inspect-on-409 and the de-duplication
          // below cover other processes, since Docker's own duplicate check is best effort.
          return yield* networkLock.withPermits(1)(
            Effect.gen(function* () {
              const [existing] = yield* networksNamed(name)
              if (existing !== undefined) return networkInfo(existing)
              const ctx = context("ensureNetwork", "network", name, { conflict: "NameConflict" })
              const created = yield* request(ctx, (signal) =>
                docker.createNetwork(
                  withSignal(
                    { Name: name, Driver: "bridge", CheckDuplicate: true, Labels: { ...labels } },
                    signal
                  )
                )
              ).pipe(
                Effect.map((network) => Option.some(network.id)),
                Effect.catchTag("NameConflict", () => Effect.succeed(Option.none<string>()))
              )
              const [keeper] = yield* networksNamed(name)
              // Created, then removed at once by another process's cleanup.
              if (keeper === undefined) return yield* networkNotFound(name)
              if (Option.isSome(created) && created.value !== keeper.Id) {
                yield* request(context("removeNetwork", "network", created.value), (signal) =>
                  docker.getNetwork(created.value).remove(withSignal({}, signal))
                ).pipe(Effect.ignore)
              }
              return networkInfo(keeper)
            })
          )
        }),
      listNetworks: (labels) =>
        Effect.gen(function* () {
          const listed = yield* request(context("listNetworks", "network", "*"), (signal) =>
            docker.listNetworks(withSignal({ filters: labelFilters(labels) }, signal))
          )
          return listed.map((network) => ({
            id: network.Id,
            name: network.Name,
            labels: network.Labels ?? {}
          }))
        }),
      removeNetwork: (name) =>
        Effect.gen(function* () {
          const removeRef = (ref: string) =>
            request(context("removeNetwork", "network", name), (signal) =>
              docker.getNetwork(ref).remove(withSignal({}, signal))
            )
          yield* removeRef(name).pipe(
            // Two networks of that name (concurrent ensures of two processes): remove each, by id.
            Effect.catchIf(isAmbiguousName, () =>
              Effect.flatMap(networksNamed(name), (found) =>
                Effect.forEach(found, (network) => removeRef(network.Id), { discard: true })
              )
            )
          )
        }),

      putArchive: (target, path, tar) => {
        if (target._tag === "Container") {
          const ctx = context("putArchive", "archive", target.container)
          return putInto(docker.getContainer(target.container), ctx, path, tar)
        }
        return Effect.scoped(
          Effect.gen(function* () {
            const helper = yield* archiveHelper(target.volume, target.image)
            const ctx = context("putArchive", "archive", `volume ${target.volume}`)
            yield* putInto(helper, ctx, archivePath(target, path), tar)
          })
        )
      },
      getArchive: (target, path) => {
        if (target._tag === "Container") {
          const ctx = context("getArchive", "archive", target.container)
          return getFrom(docker.getContainer(target.container), ctx, path)
        }
        return Stream.unwrapScoped(
          Effect.map(archiveHelper(target.volume, target.image), (helper) =>
            getFrom(
              helper,
              context("getArchive", "archive", `volume ${target.volume}`),
              archivePath(target, path)
            )
          )
        )
      }
    }
    return engine
  })

/** Network modes Docker reads as modes, not as the names of networks. */
const networkModes = new Set(["bridge", "default", "none"])

const networkInfo = (network: Docker.NetworkInspectInfo): NetworkInfo => ({
  id: network.Id,
  name: network.Name,
  labels: network.Labels ?? {}
})

/**
 * Docker's RFC 3339 times drop the trailing zeros of their nanoseconds (`.1Z` is later than
 * `.10001Z` as a string); padded, they compare as strings in time order.
 */
const sortableTime = (time: string): string =>
  time.replace(
    /(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/,
    (_, fraction: string | undefined, zone: string) => `.${(fraction ?? "").padEnd(9, "0")}${zone}`
  )

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

// The SDK types some of these as `any`: keep only strings.
const asStrings = (value: unknown): Array<string> =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : []
