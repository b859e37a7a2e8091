/**
 * How a run's files go into and out of its volumes (docs/scale-out.md, 1.1): through the
 * engine's archive API on the merger container, or through the merger's own file endpoints
 * (`PUT`/`GET /files`) when the engine has no archive API (`capabilities.archiveApi: false`) or the
 * run asks for it (`ARMADA_FILES=merger`, or `options.files: merger` in the spec). The choice is
 * made once, at warm, and kept in the session; every transfer of a run goes through here.
 *
 * @internal
 */
import { InputError } from "@armada/core"
import { Archive, ContainerEngine, ContainerEngineError, capabilitiesOf } from "@armada/engine"
import { ProcessorClient, ProcessorError, Protocol } from "@armada/http"
import { Config, Effect, Either, Option, Schema, Stream } from "effect"
import type * as Orchestrator from "../Orchestrator.js"
import { FileTransferFailed } from "../OrchestratorError.js"
import type { Spec } from "../Spec.js"
import * as diagnosis from "./diagnosis.js"

/** @internal */
export type Route = Orchestrator.Session["files"]

const settings = Schema.decodeUnknownEither(Schema.Literal("auto", "merger"))

/**
 * `ARMADA_FILES` (read through `Config`, so from the environment unless a `ConfigProvider` says
 * otherwise; empty is unset), else the spec's `options.files`; `auto` is the engine's archive API
 * when the engine has one.
 *
 * @internal
 */
export const route = (spec: Spec): Effect.Effect<Route, InputError, ContainerEngine> =>
  Effect.gen(function* () {
    const engine = yield* ContainerEngine
    const variable = yield* Effect.orElseSucceed(Config.option(Config.string("ARMADA_FILES")), () =>
      Option.none<string>()
    )
    const chosen = yield* Option.match(
      Option.filter(variable, (value) => value !== ""),
      {
        onNone: () => Effect.succeed(spec.options.files),
        onSome: (value) =>
          Either.match(settings(value), {
            onLeft: () =>
              Effect.fail(
                new InputError({ field: "ARMADA_FILES", value, reason: 'expected "auto" or "merger"' })
              ),
            onRight: Effect.succeed
          })
      }
    )
    return chosen === "merger" || !capabilitiesOf(engine).archiveApi ? "merger" : "engine"
  })

/** A merger's refusal (a `BadStatus` carrying a `Protocol.FilesFailure`) as a `FileTransferFailed`. */
const refusal =
  (merger: Orchestrator.Container, direction: "in" | "out", path: string) =>
  <E>(error: E): E | FileTransferFailed => {
    if (!(error instanceof ProcessorError.BadStatus)) return error
    const failure = Option.flatMap(
      Option.liftThrowable(JSON.parse)(error.body),
      Schema.decodeUnknownOption(Protocol.FilesFailure)
    )
    return Option.match(failure, {
      // Not the merger's file endpoint answering (an image without them): the status says it all.
      onNone: () => error,
      onSome: (failure) =>
        new FileTransferFailed({
          container: merger.name,
          direction,
          path,
          status: error.status,
          reason: failure.reason,
          entry: failure.path,
          detail: failure.detail
        })
    })
  }

/**
 * Extracts `tar` into the directory `dir` as the merger container sees it (the template dir or a
 * directory of the session area).
 *
 * @internal
 */
export const put = <E>(
  started: Pick<Orchestrator.Started, "session" | "merger">,
  dir: string,
  tar: Stream.Stream<Uint8Array, E>
) =>
  Effect.gen(function* () {
    const { merger, session } = started
    if (session.files === "engine") {
      const engine = yield* ContainerEngine
      return yield* engine.putArchive({ _tag: "Container", container: merger.containerId }, dir, tar)
    }
    const client = yield* ProcessorClient
    yield* client
      .putFiles(merger.endpoint, dir, tar, { timeout: session.spec.options.timeouts.call })
      .pipe(
        diagnosis.diagnosed(merger, `PUT ${Protocol.filesPath}?dir=${dir}`),
        Effect.mapError(refusal(merger, "in", dir))
      )
  })

type GetError =
  | ContainerEngineError.ContainerEngineError
  | ProcessorError.CallError
  | ProcessorError.ExitedDuringCall
  | FileTransferFailed

/**
 * `path` as the merger container sees it, as a tar whose entries lie under `path`'s base name (a
 * directory's, or one entry for a file), as Docker's archive API gives them.
 *
 * @internal
 */
export const get = (
  started: Pick<Orchestrator.Started, "session" | "merger">,
  path: string
): Stream.Stream<Uint8Array, GetError, ContainerEngine | ProcessorClient> =>
  Stream.unwrap(
    Effect.gen(function* () {
      const { merger, session } = started
      if (session.files === "engine") {
        const engine = yield* ContainerEngine
        const archive: Stream.Stream<Uint8Array, GetError, ContainerEngine> = engine.getArchive(
          { _tag: "Container", container: merger.containerId },
          path
        )
        return archive
      }
      const client = yield* ProcessorClient
      return client.getFiles(merger.endpoint, path, { timeout: session.spec.options.timeouts.call }).pipe(
        Stream.catchAll((error) =>
          Stream.fromEffect(
            Effect.fail(error).pipe(diagnosis.diagnosed(merger, `GET ${Protocol.filesPath}?path=${path}`))
          )
        ),
        Stream.mapError(refusal(merger, "out", path))
      )
    })
  )

/**
 * Whether a failure of `get` means that nothing is at the path (the engine's 404, the merger's
 * `NotFound`).
 *
 * @internal
 */
export const isMissing = (error: unknown): boolean =>
  (error instanceof ContainerEngineError.EngineError && error.status === 404) ||
  (error instanceof FileTransferFailed && error.reason === "NotFound")

/**
 * How a pooled set moves the files of its area (the export, the resolvers' files, the scrub):
 * through the merger's own file endpoints whenever its merger answers them, whatever route the
 * session took for the template, because every warm run pays for these transfers and Docker's
 * archive API runs a tar in the daemon for each (docs/serve.md, "A warm run's cost"). The template
 * stays loaded the session's way (through the archive API, the merger's template mount
 * read-only). A merger without the endpoints (a spec's own image), or one that fails to answer,
 * keeps the session's route. Asked once, when the set is made, the way its runs ask: a `PUT
 * /files` of an empty tar into its area, then a `GET /files` of the area; both must answer (a
 * merger may read a directory it cannot write, as the local engine's merger reads but does not
 * write through its area's link, or take a tar and give nothing back, as a test double may).
 *
 * @internal
 */
export const areaRoute = (
  started: Pick<Orchestrator.Started, "session" | "merger">
): Effect.Effect<Route, never, ProcessorClient> =>
  started.session.files === "merger"
    ? Effect.succeed("merger")
    : Effect.flatMap(ProcessorClient, (client) => {
        const options = { timeout: started.session.spec.options.timeouts.call }
        return client
          .putFiles(started.merger.endpoint, Protocol.areaDir, Archive.toTar(Archive.make({})), options)
          .pipe(
            Effect.zipRight(
              Stream.runDrain(client.getFiles(started.merger.endpoint, Protocol.areaDir, options))
            ),
            Effect.as<Route>("merger"),
            Effect.orElseSucceed((): Route => started.session.files)
          )
      })
