/**
 * The live engine's volumes: create, inspect, list and remove.
 *
 * @internal
 */
import type { ContainerEngine, ContainerEngineError } from "@armada/engine"
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
