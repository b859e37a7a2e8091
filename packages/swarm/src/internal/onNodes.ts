/**
 * What lives on one node and only its engine reaches (API 1.41): images, volumes, and the files
 * of a task's container or of a volume. Each operation goes to the node that holds the resource,
 * or to every node: an image counts as present when every usable node has it, so a session can
 * be placed on any of them, and a pull brings it to those that lack it.
 *
 * @internal
 */
import type { ImageRef } from "@armada/core"
import {
  type ArchiveTarget,
  type ContainerEngine,
  ContainerEngineError,
  type ImageInfo
} from "@armada/engine"
import { Effect, Stream } from "effect"
import type { Node, Nodes } from "./nodes.js"
import type { Services } from "./services.js"

type OnNodes = Pick<
  ContainerEngine.Service,
  | "listImages"
  | "inspectImage"
  | "imageExists"
  | "pull"
  | "removeImage"
  | "createVolume"
  | "listVolumes"
  | "removeVolume"
  | "putArchive"
  | "getArchive"
>

/** @internal */
export const make = (nodes: Nodes, services: Services): OnNodes => {
  const each = <A, E>(f: (node: Node) => Effect.Effect<A, E>) =>
    Effect.flatMap(nodes.usable, (usable) => Effect.forEach(usable, f, { concurrency: "unbounded" }))

  const having = (image: ImageRef.ImageRef) =>
    Effect.flatMap(nodes.usable, (usable) =>
      Effect.filter(usable, (node) => node.engine.imageExists(image), { concurrency: "unbounded" })
    )

  const holding = (volume: string) =>
    Effect.flatMap(nodes.usable, (usable) =>
      Effect.filter(
        usable,
        (node) => Effect.map(node.engine.listVolumes(), (volumes) => volumes.some((v) => v.name === volume)),
        { concurrency: "unbounded" }
      )
    )

  const volumeNode = (volume: string) =>
    Effect.flatMap(holding(volume), ([node]) =>
      node === undefined
        ? Effect.fail(new ContainerEngineError.VolumeNotFound({ volume }))
        : Effect.succeed(node)
    )

  /** Where an archive goes: the node and the target as that node's engine names it. */
  const reach = (
    target: ArchiveTarget,
    operation: string
  ): Effect.Effect<
    { readonly node: Node; readonly target: ArchiveTarget },
    ContainerEngineError.ContainerEngineError
  > =>
    target._tag === "Volume"
      ? Effect.map(volumeNode(target.volume), (node) => ({ node, target }))
      : Effect.flatMap(services.locate(target.container, operation), ({ node, task, service }) => {
          const container = task?.Status.ContainerStatus?.ContainerID
          return container
            ? Effect.succeed({ node, target: { _tag: "Container" as const, container } })
            : Effect.fail(
                new ContainerEngineError.EngineError({
                  operation,
                  resource: target.container,
                  status: 409,
                  detail: `service ${service.Spec.Name} has no container yet: swarm makes a task's container when the service starts`
                })
              )
        })

  return {
    listImages: (labels) =>
      Effect.map(
        each((node) => node.engine.listImages(labels)),
        (perNode) => {
          const byId = new Map<string, ImageInfo>()
          for (const image of perNode.flat()) byId.set(image.id, image)
          return [...byId.values()]
        }
      ),
    inspectImage: (image) =>
      Effect.flatMap(having(image), ([node]) =>
        node === undefined
          ? Effect.fail(new ContainerEngineError.ImageNotFound({ image }))
          : node.engine.inspectImage(image)
      ),
    imageExists: (image) =>
      Effect.map(
        each((node) => node.engine.imageExists(image)),
        (present) => present.length > 0 && present.every(Boolean)
      ),
    pull: (image) =>
      Stream.unwrap(
        Effect.map(
          each((node) => Effect.map(node.engine.imageExists(image), (present) => (present ? [] : [node]))),
          (lacking) =>
            Stream.mergeAll(
              lacking.flat().map((node) => node.engine.pull(image)),
              { concurrency: "unbounded" }
            )
        )
      ),
    removeImage: (image) =>
      Effect.flatMap(having(image), (found) =>
        found.length === 0
          ? Effect.fail(new ContainerEngineError.ImageNotFound({ image }))
          : Effect.forEach(found, (node) => node.engine.removeImage(image), { discard: true })
      ),

    createVolume: (options) =>
      Effect.flatMap(nodes.place(options.labels), (node) => node.engine.createVolume(options)),
    listVolumes: (labels) =>
      Effect.map(
        each((node) => node.engine.listVolumes(labels)),
        (perNode) => perNode.flat()
      ),
    removeVolume: (volume) =>
      Effect.gen(function* () {
        const found = yield* holding(volume)
        if (found.length === 0) return yield* new ContainerEngineError.VolumeNotFound({ volume })
        // A service not started yet has no container on the node to hold the volume.
        if (yield* services.mounting(volume)) return yield* new ContainerEngineError.VolumeInUse({ volume })
        yield* Effect.forEach(found, (node) => node.engine.removeVolume(volume), { discard: true })
      }),

    putArchive: (target, path, tar) =>
      Effect.flatMap(reach(target, "putArchive"), (at) => at.node.engine.putArchive(at.target, path, tar)),
    getArchive: (target, path) =>
      Stream.unwrap(
        Effect.map(reach(target, "getArchive"), (at) => at.node.engine.getArchive(at.target, path))
      )
  }
}
