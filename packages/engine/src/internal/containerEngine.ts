/** @internal */
import { Effect, Stream } from "effect"
import type { ArchiveTarget, ContainerEngine, Labels } from "../ContainerEngine.js"
import * as Validation from "../Validation.js"

type Attributes = Readonly<Record<string, unknown>>

const targetName = (target: ArchiveTarget): string =>
  target._tag === "Container" ? `container ${target.container}` : `volume ${target.volume}`

const filter = (labels: Labels | undefined): Attributes =>
  labels === undefined ? {} : { labels: JSON.stringify(labels) }

/** @internal */
export const make = (impl: ContainerEngine.Service): ContainerEngine.Service => {
  // No stack trace per span: it would name this module, where every span starts, and capturing
  // one costs an Error per engine call.
  const attributes = (extra: Attributes) => ({
    attributes: { engine: impl.address, ...extra },
    captureStackTrace: false
  })
  const traced =
    (operation: string, extra: Attributes = {}) =>
    <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.withSpan(effect, `ContainerEngine.${operation}`, attributes(extra))
  const tracedStream =
    (operation: string, extra: Attributes = {}) =>
    <A, E, R>(stream: Stream.Stream<A, E, R>) =>
      Stream.withSpan(stream, `ContainerEngine.${operation}`, attributes(extra))

  return {
    address: impl.address,
    ping: traced("ping")(impl.ping),
    version: traced("version")(impl.version),

    listImages: (labels) =>
      Effect.flatMap(Validation.labels("labels", labels), () => impl.listImages(labels)).pipe(
        traced("listImages", filter(labels))
      ),
    inspectImage: (image) =>
      Effect.flatMap(Validation.image("image", image), (valid) => impl.inspectImage(valid)).pipe(
        traced("inspectImage", { image })
      ),
    imageExists: (image) =>
      Effect.flatMap(Validation.image("image", image), (valid) => impl.imageExists(valid)).pipe(
        traced("imageExists", { image })
      ),
    pull: (image) =>
      Stream.unwrap(Effect.map(Validation.image("image", image), (valid) => impl.pull(valid))).pipe(
        tracedStream("pull", { image })
      ),
    removeImage: (image) =>
      Effect.flatMap(Validation.image("image", image), (valid) => impl.removeImage(valid)).pipe(
        traced("removeImage", { image })
      ),

    createContainer: (spec) =>
      Effect.flatMap(Validation.containerSpec(spec), (valid) => impl.createContainer(valid)).pipe(
        traced("createContainer", { container: spec.name, image: spec.image })
      ),
    startContainer: (container) =>
      Effect.flatMap(Validation.name("container", container), (valid) => impl.startContainer(valid)).pipe(
        traced("startContainer", { container })
      ),
    inspectContainer: (container) =>
      Effect.flatMap(Validation.name("container", container), (valid) => impl.inspectContainer(valid)).pipe(
        traced("inspectContainer", { container })
      ),
    listContainers: (labels) =>
      Effect.flatMap(Validation.labels("labels", labels), () => impl.listContainers(labels)).pipe(
        traced("listContainers", filter(labels))
      ),
    waitContainer: (container) =>
      Effect.flatMap(Validation.name("container", container), (valid) => impl.waitContainer(valid)).pipe(
        traced("waitContainer", { container })
      ),
    logs: (container, options) =>
      Effect.flatMap(Validation.name("container", container), () => impl.logs(container, options)).pipe(
        traced("logs", { container, tail: options.tail })
      ),
    removeContainer: (container) =>
      Effect.flatMap(Validation.name("container", container), (valid) => impl.removeContainer(valid)).pipe(
        traced("removeContainer", { container })
      ),

    createVolume: (options) =>
      Effect.zipRight(
        Validation.name("name", options.name),
        Validation.labels("labels", options.labels)
      ).pipe(
        Effect.flatMap(() => impl.createVolume(options)),
        traced("createVolume", { volume: options.name })
      ),
    listVolumes: (labels) =>
      Effect.flatMap(Validation.labels("labels", labels), () => impl.listVolumes(labels)).pipe(
        traced("listVolumes", filter(labels))
      ),
    removeVolume: (volume) =>
      Effect.flatMap(Validation.name("volume", volume), (valid) => impl.removeVolume(valid)).pipe(
        traced("removeVolume", { volume })
      ),

    ensureNetwork: (options) =>
      Effect.zipRight(
        Validation.name("name", options.name),
        Validation.labels("labels", options.labels)
      ).pipe(
        Effect.flatMap(() => impl.ensureNetwork(options)),
        traced("ensureNetwork", { network: options.name })
      ),
    listNetworks: (labels) =>
      Effect.flatMap(Validation.labels("labels", labels), () => impl.listNetworks(labels)).pipe(
        traced("listNetworks", filter(labels))
      ),
    removeNetwork: (network) =>
      Effect.flatMap(Validation.name("network", network), (valid) => impl.removeNetwork(valid)).pipe(
        traced("removeNetwork", { network })
      ),

    putArchive: (target, path, tar) =>
      Effect.flatMap(Validation.archive(target, path), (normalised) =>
        impl.putArchive(target, normalised, tar)
      ).pipe(traced("putArchive", { target: targetName(target), path })),
    getArchive: (target, path) =>
      Stream.unwrap(
        Effect.map(Validation.archive(target, path), (normalised) => impl.getArchive(target, normalised))
      ).pipe(tracedStream("getArchive", { target: targetName(target), path }))
  }
}
