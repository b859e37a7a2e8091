/**
 * The live engine's volumes: create, inspect, list and remove.
 *
 * @internal
 */
import { type ContainerEngine, ContainerEngineError } from "@armada/engine"
import type Docker from "dockerode"
import { Effect } from "effect"
import { type Client, labelFilters, withSignal } from "./client.js"

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
 * Fails with `VolumeNotFound` for the first of `volumes` the engine does not have: one inspect for
 * one volume, one filtered list for several.
 *
 * @internal
 */
export const requireVolumes = (
  client: Client,
  volumes: ReadonlyArray<string>
): Effect.Effect<void, ContainerEngineError.ContainerEngineError> => {
  if (volumes.length === 0) return Effect.void
  if (volumes.length === 1) return Effect.asVoid(inspectVolume(client, volumes[0]!))
  return Effect.gen(function* () {
    // Docker's name filter matches parts of names: the exact names are checked here.
    const listed = yield* client.request(
      client.context("listVolumes", "volume", volumes.join(", ")),
      (signal) =>
        client.docker.listVolumes(withSignal({ filters: JSON.stringify({ name: volumes }) }, signal))
    )
    const present = new Set((listed.Volumes ?? []).map((volume) => volume.Name))
    const missing = volumes.find((volume) => !present.has(volume))
    if (missing !== undefined) return yield* new ContainerEngineError.VolumeNotFound({ volume: missing })
  })
}

/** @internal */
export const make = ({
  context,
  docker,
  request
}: Client): Pick<ContainerEngine.Service, "createVolume" | "listVolumes" | "removeVolume"> => ({
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
    )
})
