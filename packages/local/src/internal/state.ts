/**
 * What the local engine keeps in memory: its images, containers, volumes and networks, the
 * lookups every operation shares, and where a container's files are on disk. The operations live
 * in one module per resource (`images`, `containers`, `volumes`, `networks`, `archive`).
 *
 * @internal
 */
import { randomBytes } from "node:crypto"
import { join } from "node:path"
import {
  Archive,
  ContainerEngineError,
  type ContainerSpec,
  type ContainerState,
  EngineRules,
  type Labels,
  type Mount
} from "@armada/engine"
import { Effect, Option } from "effect"
import type { CatalogEntry } from "../LocalEngine.js"
import type { Handle } from "./process.js"

/** @internal */
export interface Volume {
  readonly name: string
  readonly labels: Labels
  readonly createdAt: Date
  readonly dir: string
}

/** @internal */
export interface Network {
  readonly id: string
  readonly name: string
  readonly labels: Labels
}

/** @internal */
export interface Container {
  readonly id: string
  readonly spec: ContainerSpec
  readonly image: string
  readonly entry: CatalogEntry
  readonly createdAt: Date
  readonly root: string
  /** Start and remove take it, so neither runs twice at once on one container. */
  readonly lock: Effect.Semaphore
  removing: boolean
  port: number | undefined
  handle: Handle | undefined
  /** Set when the command could not be started at all. */
  startFailure: number | undefined
}

/** @internal */
export interface State {
  /** The engine's state folder. */
  readonly dir: string
  /** The catalog, keyed by image reference with its tag (`repo:latest`). */
  readonly catalog: ReadonlyMap<string, CatalogEntry>
  /** Where a command for an image is added, as an image without one is told; undefined: the spec's. */
  readonly catalogSource: string | undefined
  /** Images present: every catalog entry at first; removeImage takes one out, pull puts it back. */
  readonly present: Set<string>
  readonly containers: Map<string, Container>
  readonly volumes: Map<string, Volume>
  readonly networks: Map<string, Network>
  /** Set when the engine's scope closes: no container is created or started after. */
  closed: boolean
}

/** @internal */
export const make = (
  dir: string,
  catalog: ReadonlyMap<string, CatalogEntry>,
  catalogSource: string | undefined
): State => ({
  dir,
  catalog,
  catalogSource,
  present: new Set(catalog.keys()),
  containers: new Map(),
  volumes: new Map(),
  networks: new Map(),
  closed: false
})

/** A fresh id, as long as Docker's. @internal */
export const randomId = (): string => randomBytes(32).toString("hex")

/** @internal */
export const findContainer = (
  state: State,
  ref: string
): Effect.Effect<Container, ContainerEngineError.ContainerNotFound> =>
  Effect.suspend(() => {
    const found = EngineRules.findContainer(state.containers.values(), ref)
    return found === undefined
      ? Effect.fail(new ContainerEngineError.ContainerNotFound({ container: ref }))
      : Effect.succeed(found)
  })

/** @internal */
export const findVolume = (
  state: State,
  name: string
): Effect.Effect<Volume, ContainerEngineError.VolumeNotFound> =>
  Effect.suspend(() => {
    const volume = state.volumes.get(name)
    return volume === undefined
      ? Effect.fail(new ContainerEngineError.VolumeNotFound({ volume: name }))
      : Effect.succeed(volume)
  })

/** Docker's predefined networks need no creating. @internal */
export const networkExists = (state: State, name: string): boolean =>
  EngineRules.isPredefinedNetwork(name) || state.networks.has(name)

/** @internal */
export const stateOf = (container: Container): ContainerState => {
  if (container.removing) return "removing"
  if (container.startFailure !== undefined) return "exited"
  if (container.handle === undefined) return "created"
  return container.handle.exitCode() === undefined ? "running" : "exited"
}

/** A container path relative to its root: `/workspace/area` → `workspace/area`. @internal */
export const relative = (absolute: string): string =>
  Option.getOrElse(Archive.relativePath(absolute), () => "")

/** Where a container path is inside the container's root folder. @internal */
export const inRoot = (container: Container, absolute: string): string =>
  join(container.root, ...relative(absolute).split("/"))

/** @internal */
export const mounts = (container: Container): ReadonlyArray<Mount> => container.spec.mounts ?? []

/** @internal */
export const conflict = (operation: string, resource: string, detail: string) =>
  new ContainerEngineError.EngineError({ operation, resource, status: 409, detail })

/** @internal */
export const engineClosed = (operation: string, resource: string) =>
  new ContainerEngineError.EngineError({
    operation,
    resource,
    status: 503,
    detail: "the local engine is closed"
  })
