/**
 * The merger's file endpoints (docs/protocol.md, "Files through the merger"), which let armada
 * move the template in and the result out without the engine's archive API: `put` extracts a tar
 * into a directory with `@armada/engine`'s `Archive.extractToDirectory` (the path-traversal and
 * link protections armada applies everywhere), `get` answers a path as a tar laid out as Docker's
 * archive API lays it. Both stay inside the template dir and the session area, never pass through
 * a symbolic link on the way to the path asked for, and are bounded in bytes.
 *
 * @since 0.3.0
 */
import * as fs from "node:fs/promises"
import { join, posix } from "node:path"
import { Archive, ContainerEngineError } from "@armada/engine"
import { Protocol } from "@armada/http"
import { Chunk, Data, Effect, Option, Stream } from "effect"
import * as Workspace from "./Workspace.js"

/**
 * A refused file request: the HTTP status to answer and the `Protocol.FilesFailure` body.
 *
 * @since 0.3.0
 * @category errors
 */
export class Refused extends Data.TaggedError("FilesRefused")<{
  readonly status: number
  readonly failure: Protocol.FilesFailure
}> {
  override get message(): string {
    return `${this.failure.reason} ${this.failure.path}: ${this.failure.detail}`
  }
}

const statusOf: Record<Protocol.FilesFailure["reason"], number> = {
  UnsafeEntry: 400,
  Malformed: 400,
  TooLarge: 413,
  Forbidden: 403,
  NotFound: 404,
  Io: 500
}

const refuse = (reason: Protocol.FilesFailure["reason"], path: string, detail: string) =>
  new Refused({ status: statusOf[reason], failure: Protocol.FilesFailure.make({ reason, path, detail }) })

const fromArchiveError = (error: ContainerEngineError.ArchiveError) =>
  refuse(error.reason, error.path, error.detail)

/**
 * The host path of `protocolPath` (which must lie in the template dir or the session area), with
 * no symbolic link on the way to it; the path itself may be one.
 */
const locate = (workspace: Workspace.Workspace, protocolPath: string): Effect.Effect<string, Refused> =>
  Effect.gen(function* () {
    const path = yield* Option.match(Protocol.fileRoot(protocolPath), {
      onNone: () =>
        Effect.fail(
          refuse(
            "Forbidden",
            protocolPath,
            `only ${Protocol.templateDir} and ${Protocol.areaDir} are reachable through the merger`
          )
        ),
      onSome: Effect.succeed
    })
    const root = path === Protocol.templateDir || path.startsWith(`${Protocol.templateDir}/`)
    const base = root ? Protocol.templateDir : Protocol.areaDir
    const relative = posix.relative(base, path)
    if (relative === "") return workspace.resolve(base)
    return yield* Effect.mapError(Workspace.noLinkOnTheWay(workspace.resolve(base), relative), (problem) =>
      refuse("Forbidden", protocolPath, problem.detail)
    )
  })

const lstat = (path: string) => Effect.promise(() => fs.lstat(path).catch(() => undefined))

/** `body`, failing with `TooLarge` once more than `maxBytes` went through. */
const bounded = <E>(body: Stream.Stream<Uint8Array, E>, dir: string, maxBytes: number) =>
  Stream.suspend(() => {
    let size = 0
    return Stream.mapEffect(body, (chunk) => {
      size += chunk.length
      return size > maxBytes
        ? Effect.fail(refuse("TooLarge", dir, `the archive is larger than ${maxBytes} bytes`))
        : Effect.succeed(chunk)
    })
  })

/**
 * Extracts the tar `body` into the directory `dir`, which must exist (as Docker's archive API
 * requires). Any unsafe entry fails the whole request (`UnsafeEntry`, 400); entries before it
 * may have been written, inside `dir`.
 *
 * @since 0.3.0
 * @category constructors
 */
export const put = <E>(
  workspace: Workspace.Workspace,
  dir: string,
  body: Stream.Stream<Uint8Array, E>,
  maxBytes: number
): Effect.Effect<Protocol.FilesPutResponse, Refused | E> =>
  Effect.scoped(
    Effect.gen(function* () {
      // The body is read to its end whatever happens (up to `maxBytes` more after a refusal): a
      // client still sending when the answer comes sees its connection reset instead of the answer.
      const pull = yield* Stream.toPull(body)
      const exit = yield* Effect.exit(extract(workspace, dir, Stream.repeatEffectChunkOption(pull), maxBytes))
      yield* drain(pull, maxBytes)
      return yield* exit
    })
  )

/** Pulls and drops what is left of a body, at most `maxBytes` of it; its failure ends it. */
const drain = <E>(pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<E>>, maxBytes: number) =>
  Effect.iterate(0, {
    while: (read) => read >= 0 && read <= maxBytes,
    body: (read) =>
      Effect.match(pull, {
        onFailure: () => -1,
        onSuccess: (chunks) => Chunk.reduce(chunks, read, (total, chunk) => total + chunk.length)
      })
  })

const extract = <E>(
  workspace: Workspace.Workspace,
  dir: string,
  body: Stream.Stream<Uint8Array, E>,
  maxBytes: number
): Effect.Effect<Protocol.FilesPutResponse, Refused | E> =>
  Effect.gen(function* () {
    const target = yield* locate(workspace, dir)
    const stat = yield* lstat(target)
    if (stat === undefined || !stat.isDirectory()) {
      return yield* refuse("NotFound", dir, stat === undefined ? "no such directory" : "not a directory")
    }
    const summary = yield* Archive.extractToDirectory(bounded(body, dir, maxBytes), target, {
      onUnsafe: "fail"
    }).pipe(
      Effect.catchIf(
        (error) => error instanceof ContainerEngineError.ArchiveError,
        (error) => Effect.fail(fromArchiveError(error))
      )
    )
    return Protocol.FilesPutResponse.make({
      files: summary.files,
      directories: summary.directories,
      symlinks: summary.symlinks
    })
  })

/** The bytes of every file below the directory `dir`, links not followed. */
const sizeOf = (dir: string): Effect.Effect<number, Refused> =>
  Effect.map(
    Effect.mapError(Workspace.walk(dir), (error) => refuse("Io", error.path, error.detail)),
    (entries) => entries.filter((entry) => entry.kind === "file").map((entry) => join(dir, entry.path))
  ).pipe(
    Effect.flatMap((files) =>
      Effect.reduce(files, 0, (total, file) => Effect.map(lstat(file), (stat) => total + (stat?.size ?? 0)))
    )
  )

/**
 * `path` as a tar: a directory's entries under its base name (with its own entry first), a file
 * or a symbolic link as one entry named after it. Answers `TooLarge` (413) before sending
 * anything when the files add up to more than `maxBytes`.
 *
 * @since 0.3.0
 * @category constructors
 */
export const get = (
  workspace: Workspace.Workspace,
  path: string,
  maxBytes: number
): Effect.Effect<Stream.Stream<Uint8Array, Refused>, Refused> =>
  Effect.gen(function* () {
    const source = yield* locate(workspace, path)
    const stat = yield* lstat(source)
    if (stat === undefined) return yield* refuse("NotFound", path, "no such file or directory")
    const name = posix.basename(path)
    const size = stat.isDirectory() ? yield* sizeOf(source) : stat.size
    if (size > maxBytes) {
      return yield* refuse("TooLarge", path, `${size} bytes of files, more than ${maxBytes}`)
    }
    if (stat.isDirectory()) {
      return Stream.mapError(Archive.packDirectory(source, { prefix: name }), fromArchiveError)
    }
    const node: Archive.Node = stat.isSymbolicLink()
      ? Archive.symlink(
          yield* Effect.mapError(
            Workspace.attempt("read link", path, () => fs.readlink(source)),
            (error) => refuse("Io", path, error.detail)
          ),
          { mtime: stat.mtime }
        )
      : Archive.file(
          yield* Effect.mapError(
            Workspace.attempt("read", path, () => fs.readFile(source)),
            (error) => refuse("Io", path, error.detail)
          ),
          { mode: stat.mode & 0o777, mtime: stat.mtime }
        )
    return Archive.toTar(Archive.make({ [name]: node }))
  })
