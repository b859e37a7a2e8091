/** @internal */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as posix from "node:path/posix"
import { Archive, ContainerEngineError } from "@armada/engine"
import { Effect } from "effect"
import type * as Orchestrator from "../Orchestrator.js"
import * as Progress from "../Progress.js"
import * as stage from "./stage.js"
import * as transfer from "./transfer.js"

/** @internal */
export const formatOf = (output: string): Orchestrator.ExportFormat =>
  /\.(tar\.gz|tgz)$/i.test(output) ? "tar.gz" : "directory"

const hostIo = (path: string, detail: unknown) =>
  new ContainerEngineError.ArchiveError({
    reason: "Io",
    path,
    detail: detail instanceof Error ? detail.message : String(detail)
  })

/** A directory export goes to a directory that is missing or empty: nothing of the user's is overwritten. */
const ensureEmpty = (dir: string) =>
  Effect.tryPromise({
    try: () =>
      fs
        .readdir(dir)
        .catch((error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? [] : Promise.reject(error))),
    catch: (error) => hostIo(dir, error)
  }).pipe(
    Effect.filterOrFail(
      (entries) => entries.length === 0,
      () => hostIo(dir, "the output directory exists and is not empty")
    )
  )

/** @internal */
export const exportTo = (
  started: Orchestrator.Started,
  result: Orchestrator.RunResult,
  options: Orchestrator.ExportOptions
) =>
  Effect.gen(function* () {
    const output = path.resolve(options.output)
    const format = formatOf(output)
    const { spec } = started.session
    const work = Effect.gen(function* () {
      if (format === "directory") yield* ensureEmpty(output)
      // The merger mounts the session area; the archive of the merge dir it sees has entries under
      // the dir's name. The result is held in memory once, to re-root it and list its files.
      const tree = yield* Effect.withSpan(
        Archive.fromTar(transfer.get(started, result.mergeDir)),
        "armada.export.fetch"
      )
      const merged = Archive.subtree(tree, posix.basename(result.mergeDir))
      const files = [...merged.entries()]
        .filter(([, node]) => node._tag !== "Directory")
        .map(([name]) => name)
        .sort()
      yield* Effect.withSpan(
        format === "directory"
          ? Archive.extractToDirectory(Archive.toTar(merged), output)
          : Effect.tryPromise({
              try: () => fs.mkdir(path.dirname(output), { recursive: true }),
              catch: (error) => hostIo(output, error)
            }).pipe(Effect.zipRight(Archive.writeFile(Archive.gzip(Archive.toTar(merged)), output))),
        "armada.export.write",
        { attributes: { format } }
      )
      yield* Progress.emit(Progress.Exported.make({ output, format, files: files.length }))
      const exported: Orchestrator.Exported = { output, format, files }
      return exported
    }).pipe(
      Effect.catchAll((cause) =>
        stage.fail(spec.session, "export", [
          stage.failure("export", { kind: "volume", id: started.session.sessionVolume }, cause)
        ])
      )
    )
    return yield* stage.run(spec.session, "export", 1, work)
  }).pipe(
    Effect.map(({ value }) => value),
    Effect.annotateLogs("session", started.session.spec.session)
  )
