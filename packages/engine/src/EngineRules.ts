/**
 * Docker's bookkeeping rules for engines that keep their own state (the in-memory `MemoryEngine`
 * and `@armada/local`'s process engine), in one place so both answer as Docker does: label
 * filters, a container found by name or unique id prefix, predefined networks, the conflicts
 * Docker refuses with, and the errors of its archive API. The Docker engine gets all of this from
 * Docker itself.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { ContainerSpec, Labels } from "./ContainerEngine.js"
import * as ContainerEngineError from "./ContainerEngineError.js"

/**
 * A container as the rules see it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Container {
  readonly id: string
  readonly spec: ContainerSpec
}

/**
 * Whether `labels` carry every key and value of `filter` (no filter matches all).
 *
 * @since 0.1.0
 * @category rules
 */
export const matchesLabels = (labels: Labels, filter: Labels | undefined): boolean =>
  filter === undefined || Object.entries(filter).every(([key, value]) => labels[key] === value)

/**
 * The container named `ref`, else the one container whose id starts with `ref`.
 *
 * @since 0.1.0
 * @category rules
 */
export const findContainer = <C extends Container>(containers: Iterable<C>, ref: string): C | undefined => {
  const all = [...containers]
  const byPrefix = all.filter((container) => container.id.startsWith(ref))
  return (
    all.find((container) => container.spec.name === ref) ?? (byPrefix.length === 1 ? byPrefix[0] : undefined)
  )
}

/**
 * Docker's predefined networks, which exist without being created.
 *
 * @since 0.1.0
 * @category rules
 */
export const isPredefinedNetwork = (name: string): boolean => name === "bridge" || name === "none"

/**
 * A new container's name must not be taken.
 *
 * @since 0.1.0
 * @category rules
 */
export const nameFree = (
  containers: Iterable<Container>,
  name: string
): Effect.Effect<void, ContainerEngineError.NameConflict> =>
  [...containers].some((container) => container.spec.name === name)
    ? Effect.fail(new ContainerEngineError.NameConflict({ kind: "container", name }))
    : Effect.void

/**
 * An image is removed only when no container (in any state) uses it: Docker's 409.
 *
 * @since 0.1.0
 * @category rules
 */
export const imageUnused = <C extends Container>(
  containers: Iterable<C>,
  image: string,
  uses: (container: C) => boolean
): Effect.Effect<void, ContainerEngineError.EngineError> => {
  const user = [...containers].find(uses)
  return user === undefined
    ? Effect.void
    : Effect.fail(
        new ContainerEngineError.EngineError({
          operation: "removeImage",
          resource: image,
          status: 409,
          detail: `image is being used by container ${user.id.slice(0, 12)}`
        })
      )
}

/**
 * A volume is removed only when no container (in any state) mounts it.
 *
 * @since 0.1.0
 * @category rules
 */
export const volumeUnused = (
  containers: Iterable<Container>,
  volume: string
): Effect.Effect<void, ContainerEngineError.VolumeInUse> =>
  [...containers].some((container) => (container.spec.mounts ?? []).some((mount) => mount.volume === volume))
    ? Effect.fail(new ContainerEngineError.VolumeInUse({ volume }))
    : Effect.void

/**
 * A network is removed only when no running container is attached to it: Docker's 403 "has
 * active endpoints".
 *
 * @since 0.1.0
 * @category rules
 */
export const networkUnused = <C extends Container>(
  containers: Iterable<C>,
  network: string,
  isRunning: (container: C) => boolean
): Effect.Effect<void, ContainerEngineError.EngineError> =>
  [...containers].some((container) => isRunning(container) && container.spec.network === network)
    ? Effect.fail(
        new ContainerEngineError.EngineError({
          operation: "removeNetwork",
          resource: network,
          status: 403,
          detail: `network ${network} has active endpoints`
        })
      )
    : Effect.void

/**
 * An archive path that is not there: Docker's 404.
 *
 * @since 0.1.0
 * @category rules
 */
export const pathNotFound = (
  operation: "putArchive" | "getArchive",
  resource: string,
  path: string
): ContainerEngineError.EngineError =>
  new ContainerEngineError.EngineError({
    operation,
    resource,
    status: 404,
    detail: `Could not find the file ${path} in ${resource}`
  })

/**
 * An archive written into a read-only mount: Docker's 500.
 *
 * @since 0.1.0
 * @category rules
 */
export const readOnlyMount = (resource: string): ContainerEngineError.EngineError =>
  new ContainerEngineError.EngineError({
    operation: "putArchive",
    resource,
    status: 500,
    detail: "mounted volume is marked read-only"
  })

/**
 * An archive that could not be read or written: a bad or unsafe archive is Docker's 400, a
 * failure of the host a 500.
 *
 * @since 0.1.0
 * @category rules
 */
export const archiveFailed =
  (operation: "putArchive" | "getArchive", resource: string) =>
  (error: ContainerEngineError.ArchiveError): ContainerEngineError.EngineError =>
    new ContainerEngineError.EngineError({
      operation,
      resource,
      status: error.reason === "Io" ? 500 : 400,
      detail: error.message
    })
