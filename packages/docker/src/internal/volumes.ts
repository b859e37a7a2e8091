/**
 * The live engine's volumes: create, inspect, list and remove.
 *
 * @internal
 */
import { type ContainerEngine, ContainerEngineError } from "@armada/engine"
import type Docker from "dockerode"
import { Effect, Option } from "effect"
import { type Client, labelFilters, withSignal } from "./client.js"
import type * as Remembered from "./remembered.js"

/**
 * The volume's record; `VolumeNotFound` when there is none.
 *
 * @internal
 */
export const inspectVolume = (
  client: Client,
  volume: string
): Effect.Effect<Docker.VolumeInspectInfo, ContainerEngineError.ContainerEngineError> =>
  client.request(client.context("inspectVolume", "volume", volume), (signal) =>
    client.docker.getVolume(volume).inspect(withSignal({}, signal))
  )

/**
 * The volumes this engine found present or made, remembered for a short while (`remembered.ts`):
 * the creates of a run mount the same few volumes.
 *
 * @internal
 */
export type PresentVolumes = Remembered.Remembered<true>

/**
 * Fails with `VolumeNotFound` for the first of `volumes` the engine does not have: one inspect for
 * one volume, one filtered list for several, for those not found present in the last
 * `rememberMillis`. Docker refuses to remove a volume a container uses, so a remembered volume can
 * only have gone if no container mounted it and another process removed it since; a create would
 * then make it again, unlabelled, as it could between any check and the create.
 *
 * @internal
 */
export const requireVolumes = (
  client: Client,
  present: PresentVolumes,
  volumes: ReadonlyArray<string>
): Effect.Effect<void, ContainerEngineError.ContainerEngineError> =>
  Effect.gen(function* () {
    const unknown = yield* Effect.filter(volumes, (volume) =>
      Effect.map(present.recall(volume), Option.isNone)
    )
    if (unknown.length === 0) return
    if (unknown.length === 1) {
      yield* inspectVolume(client, unknown[0]!)
    } else {
      // Docker's name filter matches parts of names: the exact names are checked here.
      const listed = yield* client.request(
        client.context("listVolumes", "volume", unknown.join(", ")),
        (signal) =>
          client.docker.listVolumes(withSignal({ filters: JSON.stringify({ name: unknown }) }, signal))
      )
      const found = new Set((listed.Volumes ?? []).map((volume) => volume.Name))
      const missing = unknown.find((volume) => !found.has(volume))
      if (missing !== undefined) return yield* new ContainerEngineError.VolumeNotFound({ volume: missing })
    }
    yield* Effect.forEach(unknown, (volume) => present.remember(volume, true), { discard: true })
  })

/** @internal */
export const make = (
  { context, docker, request }: Client,
  present: PresentVolumes
): Pick<ContainerEngine.Service, "createVolume" | "listVolumes" | "removeVolume"> => ({
  createVolume: ({ name, labels }) =>
    request(context("createVolume", "volume", name), (signal) =>
      docker.createVolume(withSignal({ Name: name, Labels: { ...labels } }, signal))
    ).pipe(Effect.zipRight(present.remember(name, true))),
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
    Effect.suspend(() => {
      present.forget(name)
      return Effect.asVoid(
        request(context("removeVolume", "volume", name, { conflict: "VolumeInUse" }), (signal) =>
          docker.getVolume(name).remove(withSignal({}, signal))
        )
      )
    })
})
