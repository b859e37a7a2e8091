/**
 * The live engine's archive API: tar into and out of a container, and of a volume through a
 * helper container that mounts it (created, never started, removed with the scope), which works
 * on any engine, local or remote.
 *
 * @internal
 */
import { PassThrough } from "node:stream"
import { Interruption } from "@armada/core"
import type { ArchiveTarget, ContainerEngine, ContainerEngineError } from "@armada/engine"
import * as NodeSink from "@effect/platform-node/NodeSink"
import type Docker from "dockerode"
import { Effect, Stream } from "effect"
import { type Client, withSignal } from "./client.js"
import { type RequestContext, toDockerError } from "./error.js"
import { inspectVolume } from "./volumes.js"

/** Where a volume is mounted in the helper container that carries its archives. */
const volumeMountPoint = (volume: string) => `/armada-volumes/${volume}`

const helperLabel = "armada.archive-helper"

const archivePath = (target: ArchiveTarget, path: string) =>
  target._tag === "Container" ? path : `${volumeMountPoint(target.volume)}${path === "/" ? "" : path}`

const putInto = <E>(
  container: Docker.Container,
  ctx: RequestContext,
  path: string,
  tar: Stream.Stream<Uint8Array, E>
): Effect.Effect<void, ContainerEngineError.ContainerEngineError | E> =>
  Effect.scoped(
    Effect.gen(function* () {
      const body = yield* Interruption.acquireRelease(
        Effect.sync(() => new PassThrough()),
        (body) => Effect.sync(() => body.destroy())
      )
      // The body streams while the request runs; either failing stops the other. It is ended
      // only once the whole archive is in it: ended on a failure, it would upload a cut archive.
      const upload = Stream.run(
        tar,
        NodeSink.fromWritable(() => body, toDockerError(ctx), { endOnDone: false })
      ).pipe(Effect.zipRight(Effect.sync(() => body.end())))
      yield* Effect.all(
        [
          upload,
          Effect.tryPromise({
            try: (signal) => container.putArchive(body, withSignal({ path }, signal)),
            catch: toDockerError(ctx)
          })
        ],
        { concurrency: 2, discard: true }
      )
    })
  )

/** @internal */
export const make = (client: Client): Pick<ContainerEngine.Service, "putArchive" | "getArchive"> => {
  const { context, docker, request, responseStream } = client

  /**
   * A container of `image` that is created but never started, mounting `volume`, removed when the
   * scope closes: how archives reach a volume on any engine, local or remote.
   */
  const archiveHelper = (volume: string, image: string) =>
    Effect.gen(function* () {
      const info = yield* inspectVolume(client, volume)
      return yield* Interruption.acquireRelease(
        request(context("putArchive", "container", volume, { image }), (signal) =>
          docker.createContainer(
            withSignal(
              {
                Image: image,
                Labels: { ...(info.Labels ?? {}), [helperLabel]: "true" },
                NetworkDisabled: true,
                HostConfig: {
                  NetworkMode: "none",
                  Privileged: false,
                  CapDrop: ["ALL"],
                  SecurityOpt: ["no-new-privileges"],
                  Mounts: [{ Type: "volume" as const, Source: volume, Target: volumeMountPoint(volume) }]
                }
              },
              signal
            )
          )
        ),
        (helper) =>
          request(context("removeContainer", "container", helper.id), (signal) =>
            helper.remove(withSignal({ force: true }, signal))
          ).pipe(Effect.ignore)
      )
    })

  const getFrom = (container: Docker.Container, ctx: RequestContext, path: string) =>
    responseStream(ctx, (signal) => container.getArchive(withSignal({ path }, signal)))

  return {
    putArchive: (target, path, tar) => {
      if (target._tag === "Container") {
        const ctx = context("putArchive", "archive", target.container)
        return putInto(docker.getContainer(target.container), ctx, path, tar)
      }
      return Effect.scoped(
        Effect.gen(function* () {
          const helper = yield* archiveHelper(target.volume, target.image)
          const ctx = context("putArchive", "archive", `volume ${target.volume}`)
          yield* putInto(helper, ctx, archivePath(target, path), tar)
        })
      )
    },
    getArchive: (target, path) => {
      if (target._tag === "Container") {
        const ctx = context("getArchive", "archive", target.container)
        return getFrom(docker.getContainer(target.container), ctx, path)
      }
      return Stream.unwrapScoped(
        Effect.map(archiveHelper(target.volume, target.image), (helper) =>
          getFrom(
            helper,
            context("getArchive", "archive", `volume ${target.volume}`),
            archivePath(target, path)
          )
        )
      )
    }
  }
}
