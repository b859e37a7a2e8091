/**
 * Conflicting files settled by resolver containers (docs/protocol.md, "Resolvers"), after the
 * merger wrote the last version of each: a path that two or more processors wrote and exactly one
 * resolver's globs match is sent, with every version, to that resolver, and its answer replaces
 * the file in the merge dir (keeping the last version's mode). The files are read from the
 * processors' output dirs and written to the merge dir as the merger container sees them, which
 * mounts the session area (internal/transfer.ts: the engine's archive API or the merger's endpoints).
 *
 * @internal
 */
import * as posix from "node:path/posix"
import type { Names } from "@armada/core"
import { Archive, type ContainerEngine, ContainerEngineError } from "@armada/engine"
import { ProcessorClient, Protocol } from "@armada/http"
import { Array as Arr, Clock, Effect, Option } from "effect"
import picomatch from "picomatch/posix.js"
import type * as Orchestrator from "../Orchestrator.js"
import { AmbiguousResolvers, type Cause, type ItemFailure } from "../OrchestratorError.js"
import * as Progress from "../Progress.js"
import type { Spec } from "../Spec.js"
import * as diagnosis from "./diagnosis.js"
import * as stage from "./stage.js"
import * as transfer from "./transfer.js"

/** The test app's glob rules (picomatch, dotfiles included, bash brackets): one reading of a glob. */
const globOptions: picomatch.PicomatchOptions = { dot: true, posix: true }

interface Candidate {
  readonly resolver: Spec["resolvers"][number]
  readonly container: Orchestrator.Container
  readonly matches: (path: string) => boolean
}

/** One conflicting path and the resolvers whose globs match it (one or more). */
interface Conflict {
  readonly path: string
  readonly candidates: Arr.NonEmptyReadonlyArray<Candidate>
}

/** One processor's version of a file. */
interface Version {
  readonly layer: number
  readonly processor: Names.Id
  readonly file: Archive.File
}

/**
 * The conflicts some resolver's globs match, in the merger's (sorted) order; the others stay as
 * the merger left them (last write wins).
 *
 * @internal
 */
export const matched = (
  started: Orchestrator.Started,
  conflicts: ReadonlyArray<string>
): ReadonlyArray<Conflict> => {
  const candidates: ReadonlyArray<Candidate> = started.session.spec.resolvers.map((resolver, index) => ({
    resolver,
    container: started.resolvers[index]!,
    matches: picomatch([...resolver.files], globOptions)
  }))
  return conflicts.flatMap((path) => {
    const matching = candidates.filter((candidate) => candidate.matches(path))
    return Arr.isNonEmptyReadonlyArray(matching) ? [{ path, candidates: matching }] : []
  })
}

/** `path` below `dir`, unless it would leave it (the merger's list of conflicts is its answer). */
const below = (dir: string, path: string): Effect.Effect<string, ContainerEngineError.ArchiveError> => {
  const normalised = posix.normalize(path)
  return posix.isAbsolute(path) || normalised === "." || normalised.startsWith("../") || normalised === ".."
    ? Effect.fail(
        new ContainerEngineError.ArchiveError({
          reason: "UnsafeEntry",
          path,
          detail: "the merger reported a conflict outside the merge dir"
        })
      )
    : Effect.succeed(posix.join(dir, normalised))
}

/** The file at `path` (absolute, in the merger container), or `None` when there is no file there. */
const readFile = (started: Orchestrator.Started, path: string) =>
  Archive.fromTar(transfer.get(started, path)).pipe(
    Effect.map((tree) =>
      Option.filter(
        Archive.get(tree, posix.basename(path)),
        (node): node is Archive.File => node._tag === "File"
      )
    ),
    Effect.catchIf(transfer.isMissing, () => Effect.succeed(Option.none<Archive.File>()))
  )

/** Every processor's regular-file version of `path`, in declared order. */
const versionsOf = (started: Orchestrator.Started, outputDirs: ReadonlyArray<string>, path: string) =>
  Effect.forEach(outputDirs, (dir, layer) =>
    Effect.flatMap(below(dir, path), (inside) =>
      Effect.map(
        readFile(started, inside),
        Option.map((file): Version => ({ layer, processor: started.processors[layer]!.id, file }))
      )
    )
  ).pipe(Effect.map(Arr.getSomes))

/** Replaces the file at `path` of the merge dir with `content`, with `mode`. */
const writeFile = (
  started: Orchestrator.Started,
  mergeDir: string,
  path: string,
  content: string,
  mode: number
) =>
  Effect.gen(function* () {
    const inside = yield* below(mergeDir, path)
    const mtime = new Date(yield* Clock.currentTimeMillis)
    yield* transfer.put(
      started,
      posix.dirname(inside),
      Archive.toTar(Archive.make({ [posix.basename(inside)]: Archive.file(content, { mode, mtime }) }))
    )
  })

/** Settles one conflict; `None` when fewer than two regular files were written there (a link won). */
const settle = (
  started: Orchestrator.Started,
  outputDirs: ReadonlyArray<string>,
  mergeDir: string,
  conflict: Conflict
): Effect.Effect<Option.Option<Orchestrator.Resolved>, Cause, ContainerEngine | ProcessorClient> =>
  Effect.gen(function* () {
    const [first, ...others] = conflict.candidates
    if (others.length > 0) {
      return yield* new AmbiguousResolvers({
        path: conflict.path,
        resolvers: conflict.candidates.map((candidate) => candidate.resolver.id)
      })
    }
    const versions = yield* versionsOf(started, outputDirs, conflict.path)
    const last = versions.at(-1)
    if (versions.length < 2 || last === undefined) return Option.none()
    const client = yield* ProcessorClient
    const decoder = new TextDecoder()
    const request = Protocol.ResolveRequest.make({
      config: first.resolver.config,
      files: versions.map((version) =>
        Protocol.FileVersion.make({
          path: conflict.path,
          content: decoder.decode(version.file.content),
          origin: Protocol.FileOrigin.make({ template: version.processor, layer: version.layer })
        })
      )
    })
    const answer = yield* client
      .resolve(first.container.endpoint, request, { timeout: started.session.spec.options.timeouts.call })
      .pipe(diagnosis.diagnosed(first.container, "POST /api/resolve"))
    yield* writeFile(started, mergeDir, conflict.path, answer.content, last.file.mode)
    return Option.some({ path: conflict.path, resolver: first.resolver.id })
  })

/**
 * Settles every conflict some resolver matches, in parallel under the spec's limit. Every file
 * that could not be settled is one `ItemFailure` (kind `file`, its path as id), all of them
 * together; the files settled are returned, sorted.
 *
 * @internal
 */
export const resolveAll = (
  started: Orchestrator.Started,
  outputDirs: ReadonlyArray<string>,
  mergeDir: string,
  conflicts: ReadonlyArray<string>
): Effect.Effect<
  { readonly resolved: ReadonlyArray<Orchestrator.Resolved>; readonly failures: ReadonlyArray<ItemFailure> },
  never,
  ContainerEngine | ProcessorClient
> =>
  Effect.gen(function* () {
    const { spec } = started.session
    const outcome = yield* stage.forEach(
      matched(started, conflicts),
      (conflict) =>
        stage
          .measured(settle(started, outputDirs, mergeDir, conflict), {
            done: (settled, durationMillis) =>
              Option.match(settled, {
                onNone: () => Effect.void,
                onSome: ({ path, resolver }) =>
                  Progress.emit(Progress.ConflictResolved.make({ path, resolver, durationMillis }))
              }),
            failed: (cause, durationMillis) =>
              Progress.emit(Progress.ConflictFailed.make({ path: conflict.path, cause, durationMillis }))
          })
          .pipe(
            Effect.map(({ value }) => value),
            Effect.withSpan("armada.resolve.item", {
              attributes: { path: conflict.path, resolvers: conflict.candidates.map((c) => c.resolver.id) }
            })
          ),
      spec.options.concurrency
    )
    return {
      resolved: Arr.getSomes(outcome.successes.map((success) => success.value)),
      failures: outcome.failures.map((failure) => {
        const [only, ...others] = failure.item.candidates
        return stage.failure(
          "merge",
          {
            kind: "file",
            id: failure.item.path,
            image: others.length === 0 ? only.resolver.image : undefined
          },
          stage.causeOf(failure.cause)
        )
      })
    }
  })
