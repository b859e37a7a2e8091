/**
 * Docker's bookkeeping rules for engines that keep their own state (the in-memory `MemoryEngine`
 * and `@armada/local`'s process engine), in one place so both answer as Docker does: label
 * filters, a container found by name or unique id prefix, predefined networks, and the conflicts
 * Docker refuses with. The live engine gets all of this from Docker itself.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { ContainerSpec, Labels } from "./DockerEngine.js"
import * as DockerError from "./DockerError.js"

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
): Effect.Effect<void, DockerError.NameConflict> =>
  [...containers].some((container) => container.spec.name === name)
    ? Effect.fail(new DockerError.NameConflict({ kind: "container", name }))
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
): Effect.Effect<void, DockerError.EngineError> => {
  const user = [...containers].find(uses)
  return user === undefined
    ? Effect.void
    : Effect.fail(
        new DockerError.EngineError({
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
): Effect.Effect<void, DockerError.VolumeInUse> =>
  [...containers].some((container) => (container.spec.mounts ?? []).some((mount) => mount.volume === volume))
    ? Effect.fail(new DockerError.VolumeInUse({ volume }))
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
): Effect.Effect<void, DockerError.EngineError> =>
  [...containers].some((container) => isRunning(container) && container.spec.network === network)
    ? Effect.fail(
        new DockerError.EngineError({
          operation: "removeNetwork",
          resource: network,
          status: 403,
          detail: `network ${network} has active endpoints`
        })
      )
    : Effect.void
