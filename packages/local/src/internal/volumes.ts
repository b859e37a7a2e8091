/**
 * The local engine's volumes: a folder each in the state folder.
 *
 * @internal
 */
import { join } from "node:path"
import { type ContainerEngine, EngineRules, type VolumeInfo } from "@armada/engine"
import { Effect } from "effect"
import { makeDir, removeTree } from "./files.js"
import { findVolume, type State, type Volume } from "./state.js"

/** @internal */
export const make = (
  state: State
): Pick<ContainerEngine.Service, "createVolume" | "listVolumes" | "removeVolume"> => ({
  createVolume: ({ name, labels }) =>
    Effect.gen(function* () {
      // Docker answers a create of an existing volume with that volume, labels unchanged.
      if (state.volumes.has(name)) return
      const volume: Volume = { name, labels, createdAt: new Date(), dir: join(state.dir, "volumes", name) }
      state.volumes.set(name, volume)
      yield* makeDir(volume.dir, name).pipe(
        Effect.tapError(() => Effect.sync(() => state.volumes.delete(name)))
      )
    }),
  listVolumes: (labels) =>
    Effect.sync(() =>
      [...state.volumes.values()]
        .filter((volume) => EngineRules.matchesLabels(volume.labels, labels))
        .map(
          (volume): VolumeInfo => ({
            name: volume.name,
            labels: volume.labels,
            createdAt: volume.createdAt
          })
        )
    ),
  removeVolume: (name) =>
    Effect.gen(function* () {
      const volume = yield* findVolume(state, name)
      yield* EngineRules.volumeUnused(state.containers.values(), name)
      state.volumes.delete(name)
      yield* removeTree(volume.dir, name)
    })
})
