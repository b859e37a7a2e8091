/** @internal */
import type { ImageRef } from "@armada/core"
import { Archive, DockerEngine, type DockerError } from "@armada/docker"
import { Effect } from "effect"

/**
 * Loads the host directory `dir` into the root of `volume`. The template is read completely
 * before the engine is asked, so an unreadable template is an archive error, never a half-written
 * volume.
 *
 * @internal
 */
export const loadTemplate = (
  volume: string,
  image: ImageRef.ImageRef,
  dir: string
): Effect.Effect<void, DockerError.DockerError | DockerError.ArchiveError, DockerEngine> =>
  Effect.gen(function* () {
    const engine = yield* DockerEngine
    const tree = yield* Archive.fromTar(Archive.packDirectory(dir))
    yield* engine.putArchive({ _tag: "Volume", volume, image }, "/", Archive.toTar(tree))
  }).pipe(Effect.withSpan("armada.template.load", { attributes: { volume, dir } }))
