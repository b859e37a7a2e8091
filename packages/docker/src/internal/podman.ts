/**
 * Where Podman's Docker-compatible API (4.x) answers differently from Docker's, and the live
 * engine read the Docker way (`adapt`). Each is harmless on Docker, which never answers so.
 *
 * @internal
 */
import { type ContainerEngine, ContainerEngineError, type ImageInfo } from "@armada/engine"
import { Effect } from "effect"

/**
 * Podman qualifies every image name: an image loaded or built locally is `localhost/<name>`, one
 * from Docker Hub `docker.io/<name>` (`docker.io/library/<name>` for official images). Docker
 * reports them as `<name>`; so does armada.
 *
 * @internal
 */
export const familiarTag = (tag: string): string =>
  tag.replace(/^localhost\//, "").replace(/^docker\.io\/(?:library\/(?=[^/]+$))?/, "")

/**
 * Podman answers a create whose name is taken with HTTP 500 ("the container name … is already in
 * use"), where Docker answers 409.
 *
 * @internal
 */
export const isNameInUse = (status: number | undefined, message: string): boolean =>
  status === 500 && /name .* is already in use/i.test(message)

const familiar = (info: ImageInfo): ImageInfo => ({ ...info, tags: info.tags.map(familiarTag) })

/**
 * The live engine with Podman's answers read the Docker way: image tags without Podman's
 * qualification, a create whose name is taken a `NameConflict`.
 *
 * @internal
 */
export const adapt = (engine: ContainerEngine.Service): ContainerEngine.Service => ({
  ...engine,
  listImages: (labels) => Effect.map(engine.listImages(labels), (images) => images.map(familiar)),
  inspectImage: (image) => Effect.map(engine.inspectImage(image), familiar),
  createContainer: (spec) =>
    Effect.mapError(engine.createContainer(spec), (error) =>
      error._tag === "EngineError" && isNameInUse(error.status, error.detail)
        ? new ContainerEngineError.NameConflict({ kind: "container", name: spec.name })
        : error
    )
})
