/**
 * The local engine's containers: a process group each, run in a root folder of its own with its
 * mounts laid in (a read-write mount a symbolic link to its volume, a read-only one a copy made
 * at start), listening on a free port of 127.0.0.1.
 *
 * @internal
 */
import { dirname, join } from "node:path"
import {
  type ContainerEngine,
  ContainerEngineError,
  type ContainerInfo,
  type ContainerSpec,
  EngineRules
} from "@armada/engine"
import { Effect } from "effect"
import { copyReadOnly, makeDir, removeTree, symlink } from "./files.js"
import { requireImage } from "./images.js"
import { freePort } from "./ports.js"
import { spawnGroup } from "./process.js"
import {
  type Container,
  conflict,
  engineClosed,
  findContainer,
  findVolume,
  inRoot,
  mounts,
  networkExists,
  randomId,
  type State,
  stateOf
} from "./state.js"

const info = (container: Container): ContainerInfo => {
  const state = stateOf(container)
  return {
    id: container.id,
    name: container.spec.name,
    image: container.spec.image,
    labels: container.spec.labels,
    state,
    exitCode: state === "exited" ? (container.startFailure ?? container.handle?.exitCode()) : undefined,
    createdAt: container.createdAt,
    ports:
      state === "running" && container.spec.publish !== undefined && container.port !== undefined
        ? [{ containerPort: container.spec.publish, hostIp: "127.0.0.1", hostPort: container.port }]
        : [],
    mounts: container.spec.mounts ?? [],
    // What a local process really gets: none of Docker's confinement applies.
    security: {
      privileged: false,
      networkMode: "host",
      capDrop: [],
      capAdd: [],
      securityOpt: [],
      memoryBytes: 0,
      pidsLimit: 0,
      nanoCpus: 0
    }
  }
}

const environment = (container: Container, port: number): Record<string, string> => ({
  ...(process.env.PATH === undefined ? {} : { PATH: process.env.PATH }),
  HOME: container.root,
  TMPDIR: join(container.root, "tmp"),
  ...container.entry.env,
  ...container.spec.env,
  ARMADA_LISTEN_HOST: "127.0.0.1",
  ARMADA_LISTEN_PORT: String(port),
  ARMADA_WORKSPACE_ROOT: container.root
})

/** @internal */
export const make = (
  state: State,
  options: { readonly maxLogLines: number }
): ContainerEngine.ContainerOperations => {
  const usedPorts = (): Set<number> =>
    new Set(
      [...state.containers.values()].flatMap((container) =>
        container.port !== undefined && stateOf(container) === "running" ? [container.port] : []
      )
    )

  const createContainer = (spec: ContainerSpec) =>
    Effect.gen(function* () {
      if (state.closed) return yield* engineClosed("createContainer", spec.name)
      yield* EngineRules.nameFree(state.containers.values(), spec.name)
      const { entry, tag } = yield* requireImage(state, spec.image)
      for (const mount of spec.mounts ?? []) yield* findVolume(state, mount.volume)
      const id = randomId()
      const container: Container = {
        id,
        spec,
        image: tag,
        entry,
        createdAt: new Date(),
        root: join(state.dir, "containers", id),
        lock: Effect.unsafeMakeSemaphore(1),
        removing: false,
        port: undefined,
        handle: undefined,
        startFailure: undefined
      }
      // Reserved before any I/O, so a concurrent create of the same name sees it.
      state.containers.set(id, container)
      yield* Effect.gen(function* () {
        yield* makeDir(join(container.root, "tmp"), spec.name)
        for (const mount of mounts(container)) {
          if (mount.readOnly) continue
          const at = inRoot(container, mount.target)
          yield* makeDir(dirname(at), spec.name)
          yield* symlink(state.volumes.get(mount.volume)!.dir, at)
        }
      }).pipe(
        Effect.onError(() =>
          Effect.zipRight(
            Effect.sync(() => state.containers.delete(id)),
            Effect.ignore(removeTree(container.root))
          )
        )
      )
      return id
    })

  const startContainer = (ref: string) =>
    Effect.gen(function* () {
      const container = yield* findContainer(state, ref)
      yield* container.lock.withPermits(1)(
        Effect.gen(function* () {
          if (stateOf(container) === "running") return
          if (container.removing)
            return yield* conflict("startContainer", ref, "the container is being removed")
          const network = container.spec.network
          if (network !== undefined && !networkExists(state, network)) {
            return yield* new ContainerEngineError.NetworkNotFound({ network })
          }
          for (const mount of mounts(container)) {
            if (!mount.readOnly) continue
            const at = inRoot(container, mount.target)
            yield* removeTree(at, ref)
            yield* makeDir(dirname(at), ref)
            yield* copyReadOnly(state.volumes.get(mount.volume)!.dir, at)
          }
          const port = yield* freePort(usedPorts())
          container.port = port
          container.startFailure = undefined
          const handle = yield* spawnGroup({
            name: container.spec.name,
            command: [...container.entry.command, ...(container.spec.cmd ?? [])],
            env: environment(container, port),
            cwd: container.root,
            maxLogLines: options.maxLogLines
          }).pipe(
            Effect.tapError(() =>
              Effect.sync(() => {
                // As Docker reports a command it cannot execute.
                container.startFailure = 127
                container.handle = undefined
              })
            )
          )
          container.handle = handle
          if (state.closed) {
            yield* handle.kill
            return yield* engineClosed("startContainer", ref)
          }
        })
      )
    })

  const removeContainer = (ref: string) =>
    Effect.gen(function* () {
      const container = yield* findContainer(state, ref)
      yield* container.lock.withPermits(1)(
        Effect.gen(function* () {
          // Removed while this call waited for the lock.
          if (!state.containers.has(container.id))
            return yield* new ContainerEngineError.ContainerNotFound({ container: ref })
          container.removing = true
          // As `docker rm -f`: SIGKILL, no grace (the grace is for closing the engine).
          if (container.handle !== undefined) yield* container.handle.kill
          state.containers.delete(container.id)
          yield* removeTree(container.root, ref)
        })
      )
    })

  return {
    createContainer,
    startContainer,
    inspectContainer: (ref) => Effect.map(findContainer(state, ref), info),
    listContainers: (labels) =>
      Effect.sync(() =>
        [...state.containers.values()]
          .filter((container) => EngineRules.matchesLabels(container.spec.labels, labels))
          .map(info)
      ),
    waitContainer: (ref) =>
      Effect.flatMap(findContainer(state, ref), (container) => {
        if (container.startFailure !== undefined) return Effect.succeed(container.startFailure)
        // Like Docker's default condition ("not-running"): a container never started is not running.
        return container.handle === undefined ? Effect.succeed(0) : container.handle.exited
      }),
    logs: (ref, { tail }) =>
      Effect.map(findContainer(state, ref), (container) => container.handle?.logs.tail(tail) ?? ""),
    removeContainer
  }
}
