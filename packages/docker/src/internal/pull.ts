/**
 * A pull over the engine API: the request for the exact reference, the registry's credentials as
 * the engine takes them (`X-Registry-Auth`), and the progress lines read into `PullProgress` or
 * into a failure typed by its cause.
 *
 * @internal
 */
import { ImageRef } from "@armada/core"
import { ContainerEngineError, type PullProgress } from "@armada/engine"
import { Effect, Option, Redacted, Ref, Schema, Stream } from "effect"
import type { Credentials, RegistryAuth } from "../Credentials.js"
import { pullFailed } from "./error.js"

/**
 * The query of `POST /images/create` that pulls `image` and nothing else: the repository (with its
 * registry) and one tag or digest. Without a tag the engine would pull every tag of the
 * repository; with both a tag and a digest it pulls by the digest, as the Docker CLI does.
 *
 * @internal
 */
export const query = (image: ImageRef.ImageRef): { readonly fromImage: string; readonly tag: string } => {
  const parts = ImageRef.parts(image)
  return {
    fromImage: Option.match(parts.registry, {
      onNone: () => parts.repository,
      onSome: (registry) => `${registry}/${parts.repository}`
    }),
    tag: Option.getOrElse(
      Option.orElse(parts.digest, () => parts.tag),
      () => "latest"
    )
  }
}

/**
 * The credentials for the registry of `image`; a source that cannot give them fails the pull
 * before the engine is asked.
 *
 * @internal
 */
export const credentialsFor = (
  credentials: Credentials.Service,
  image: ImageRef.ImageRef
): Effect.Effect<Option.Option<RegistryAuth>, ContainerEngineError.PullFailed> =>
  credentials
    .lookup(ImageRef.registryOf(image))
    .pipe(
      Effect.mapError(
        (error) =>
          new ContainerEngineError.PullFailed({ image, reason: "Credentials", detail: error.message })
      )
    )

/**
 * The engine's `AuthConfig`, secrets unwrapped: made as the request is sent, and handed to the SDK
 * only, which encodes it into the `X-Registry-Auth` header.
 *
 * @internal
 */
export const authConfig = (auth: Option.Option<RegistryAuth>): Record<string, string> | undefined =>
  Option.match(auth, {
    onNone: () => undefined,
    onSome: (auth) => ({
      serveraddress: auth.serverAddress,
      ...(auth.username === undefined ? {} : { username: auth.username }),
      ...(auth.password === undefined ? {} : { password: Redacted.value(auth.password) }),
      ...(auth.identityToken === undefined ? {} : { identitytoken: Redacted.value(auth.identityToken) })
    })
  })

/** One line of `POST /images/create`. */
const Line = Schema.parseJson(
  Schema.Struct({
    status: Schema.optional(Schema.String),
    id: Schema.optional(Schema.String),
    progressDetail: Schema.optional(
      Schema.Struct({ current: Schema.optional(Schema.Number), total: Schema.optional(Schema.Number) })
    ),
    error: Schema.optional(Schema.String),
    errorDetail: Schema.optional(Schema.Struct({ message: Schema.optional(Schema.String) }))
  })
)
const decodeLine = Schema.decodeUnknownEither(Line)

/** Docker's last line of a pull that got its image: `Status: Downloaded newer image for …`. */
const isFinal = (progress: PullProgress) => progress.layer === undefined && /^Status: /.test(progress.status)

/**
 * The progress of a pull from the body of its response: an `error` line fails it (typed by what
 * it says), and a body that ends without the image (no final status, and the engine does not
 * have it: the engine dropped the pull) fails it as `Interrupted`. `isPresent` is asked only
 * then, for engines that end without Docker's final status line.
 *
 * @internal
 */
export const progress = <E, E2>(
  image: ImageRef.ImageRef,
  body: Stream.Stream<Uint8Array, E>,
  isPresent: Effect.Effect<boolean, E2>
): Stream.Stream<PullProgress, E | E2 | ContainerEngineError.PullFailed> =>
  Stream.unwrap(
    Effect.map(Ref.make(false), (finished) => {
      const lines = body.pipe(
        Stream.decodeText(),
        Stream.splitLines,
        Stream.filter((line) => line.trim().length > 0),
        Stream.mapEffect((line) => {
          const decoded = decodeLine(line)
          if (decoded._tag === "Left") {
            return Effect.fail(
              new ContainerEngineError.PullFailed({
                image,
                reason: "InStream",
                detail: `the engine sent a progress line that is not JSON: ${line.slice(0, 200)}`
              })
            )
          }
          const event = decoded.right
          if (event.error !== undefined || event.errorDetail !== undefined) {
            const message = event.errorDetail?.message ?? event.error ?? "unknown error"
            return Effect.fail(pullFailed(image, message, { _tag: "Stream" }))
          }
          const reported: PullProgress = {
            image,
            layer: event.id,
            status: event.status ?? "",
            current: event.progressDetail?.current,
            total: event.progressDetail?.total
          }
          return Effect.as(isFinal(reported) ? Ref.set(finished, true) : Effect.void, reported)
        })
      )
      const complete = Effect.gen(function* () {
        if ((yield* Ref.get(finished)) || (yield* isPresent)) return
        return yield* new ContainerEngineError.PullFailed({
          image,
          reason: "Interrupted",
          detail: "the engine ended the pull before the image was complete"
        })
      })
      return Stream.concat(lines, Stream.drain(Stream.fromEffect(complete)))
    })
  )
