/**
 * The live engine's images: inspect, list, pull (with the registry's credentials) and remove.
 *
 * @internal
 */
import type { ContainerEngine, ImageInfo } from "@armada/engine"
import type { HttpClient } from "@effect/platform"
import type Docker from "dockerode"
import { Effect, Option, Stream } from "effect"
import type { Credentials } from "../Credentials.js"
import { type Client, labelFilters, withSignal } from "./client.js"
import { asPullFailure } from "./error.js"
import * as Pull from "./pull.js"
import * as RegistryDiagnosis from "./registryDiagnosis.js"

const imageInfo = (info: Docker.ImageInspectInfo | Docker.ImageInfo): ImageInfo => ({
  id: info.Id,
  tags: info.RepoTags ?? [],
  labels: ("Config" in info ? info.Config.Labels : info.Labels) ?? {},
  sizeBytes: info.Size
})

/**
 * With a `registryClient`, a pull the engine found nothing for asks the registry which part is
 * missing (`registryDiagnosis.ts`); without one, it stays as the engine said.
 *
 * @internal
 */
export const make = (
  client: Client,
  credentials: Credentials.Service,
  registryClient: Option.Option<HttpClient.HttpClient>
): Pick<ContainerEngine.Service, "listImages" | "inspectImage" | "imageExists" | "pull" | "removeImage"> => {
  const { context, docker, request, responseStream } = client

  const inspectImage = (image: string) =>
    request(context("inspectImage", "image", image), () => docker.getImage(image).inspect()).pipe(
      Effect.map(imageInfo)
    )

  const imageExists = (image: string) =>
    inspectImage(image).pipe(
      Effect.as(true),
      Effect.catchTag("ImageNotFound", () => Effect.succeed(false))
    )

  return {
    listImages: (labels) =>
      request(context("listImages", "image", "*"), (signal) =>
        docker.listImages(withSignal({ filters: labelFilters(labels) }, signal))
      ).pipe(Effect.map((images) => images.map(imageInfo))),
    inspectImage,
    imageExists,
    pull: (image) => {
      const ctx = context("pull", "image", image)
      return Stream.unwrap(
        Effect.map(Pull.credentialsFor(credentials, image), (auth) =>
          Pull.progress(
            image,
            responseStream(ctx, (signal) =>
              docker.createImage(Pull.authConfig(auth), { ...Pull.query(image), abortSignal: signal })
            ),
            imageExists(image)
          ).pipe(
            Stream.mapError(asPullFailure(image)),
            Stream.catchAll((error) =>
              error._tag === "PullFailed" && error.reason === "NotFound" && Option.isSome(registryClient)
                ? Stream.fromEffect(
                    Effect.flatMap(
                      RegistryDiagnosis.diagnose(registryClient.value, image, auth, error),
                      Effect.fail
                    )
                  )
                : Stream.fail(error)
            )
          )
        )
      )
    },
    removeImage: (image) =>
      Effect.asVoid(
        request(context("removeImage", "image", image), (signal) =>
          docker.getImage(image).remove(withSignal({}, signal))
        )
      )
  }
}
