/**
 * The local engine's images: the catalog's entries, each a command instead of an image. Present
 * until removed; a pull of a catalog entry puts it back.
 *
 * @internal
 */
import { createHash } from "node:crypto"
import { ImageRef } from "@armada/core"
import { type ContainerEngine, ContainerEngineError, EngineRules, type ImageInfo } from "@armada/engine"
import { Effect, Stream } from "effect"
import type { CatalogEntry } from "../LocalEngine.js"
import type { State } from "./state.js"

/**
 * What an image without a local command gets told.
 *
 * @internal
 */
export const catalogHint = (image: string, source: string = specSection): string =>
  source === specSection
    ? `no local command for ${image}; add one to ${source}, e.g. ` +
      `local: { ${JSON.stringify(image)}: { command: ["node", "/path/to/main.mjs"] } }`
    : `no local command for ${image}; the commands are ${source}`

/** Where a command for an image is added, unless the engine's options say otherwise. */
const specSection = "the pipeline spec's `local:` section"

const imageInfo = (tag: string, entry: CatalogEntry): ImageInfo => ({
  id: `sha256:${createHash("sha256").update(JSON.stringify(entry)).digest("hex")}`,
  tags: [tag],
  labels: entry.labels ?? {},
  sizeBytes: 0
})

/**
 * The catalog entry of a present image, with the reference it is listed under.
 *
 * @internal
 */
export const requireImage = (
  state: State,
  image: ImageRef.ImageRef
): Effect.Effect<
  { readonly tag: string; readonly entry: CatalogEntry },
  ContainerEngineError.ImageNotFound
> =>
  Effect.suspend(() => {
    const tag = ImageRef.withDefaultTag(image)
    const entry = state.catalog.get(tag)
    if (entry === undefined)
      return Effect.fail(
        new ContainerEngineError.ImageNotFound({ image, detail: catalogHint(image, state.catalogSource) })
      )
    if (!state.present.has(tag)) {
      return Effect.fail(
        new ContainerEngineError.ImageNotFound({
          image,
          detail: "removed from the local engine; pull it again"
        })
      )
    }
    return Effect.succeed({ tag, entry })
  })

/** @internal */
export const make = (
  state: State
): Pick<ContainerEngine.Service, "listImages" | "inspectImage" | "imageExists" | "pull" | "removeImage"> => ({
  listImages: (labels) =>
    Effect.sync(() =>
      [...state.present]
        .map((tag) => imageInfo(tag, state.catalog.get(tag)!))
        .filter((image) => EngineRules.matchesLabels(image.labels, labels))
    ),
  inspectImage: (image) => Effect.map(requireImage(state, image), ({ tag, entry }) => imageInfo(tag, entry)),
  imageExists: (image) => Effect.sync(() => state.present.has(ImageRef.withDefaultTag(image))),
  pull: (image) =>
    Stream.fromEffect(
      Effect.gen(function* () {
        const tag = ImageRef.withDefaultTag(image)
        if (!state.catalog.has(tag))
          return yield* new ContainerEngineError.PullFailed({
            image,
            reason: "Failed",
            detail: catalogHint(image, state.catalogSource)
          })
        state.present.add(tag)
        return {
          image,
          layer: undefined,
          status: `Resolved ${tag} to its local command`,
          current: undefined,
          total: undefined
        }
      })
    ),
  removeImage: (image) =>
    Effect.gen(function* () {
      const { tag } = yield* requireImage(state, image)
      yield* EngineRules.imageUnused(state.containers.values(), image, (container) => container.image === tag)
      state.present.delete(tag)
    })
})
