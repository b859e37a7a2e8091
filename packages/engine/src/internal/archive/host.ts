/**
 * Tar to and from the host file system: a directory packed (links kept as links, file bodies
 * streamed), a tar extracted into a directory without ever writing outside it, and a byte stream
 * written to a file.
 *
 * Hand-written on tar-stream rather than tar-fs: tar-fs neutralises `..` entries instead of
 * refusing them, fails the whole extraction on an unsafe entry (no `onUnsafe: "skip"` with the
 * list of what was left out), turns hard links into links rather than copies, keeps setuid bits,
 * chowns to the archive's owners when run as root and follows a symbolic link standing where a
 * file is written; each of these is a protection or a result `Archive.test.ts` checks.
 *
 * @internal
 */
import { createWriteStream, constants as fsConstants, type Stats } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as posix from "node:path/posix"
import { pipeline } from "node:stream/promises"
import { Interruption } from "@armada/core"
import * as NodeSink from "@effect/platform-node/NodeSink"
import { Effect, Option, Stream } from "effect"
import type * as tar from "tar-stream"
import type { ExtractSummary } from "../../Archive.js"
import type { ArchiveError } from "../../ContainerEngineError.js"
import { io, unsafe } from "./error.js"
import { addEntry, entryName, forEachEntry, packStream } from "./tar.js"
import { relativePath } from "./tree.js"

/**
 * One entry below a host directory: its path relative to the directory (`/`-separated), its
 * absolute path, its `lstat` (links are not followed) and, for a symbolic link, its target.
 *
 * @internal
 */
export interface HostEntry {
  readonly rel: string
  readonly absolute: string
  readonly stat: Stats
  readonly target?: string | undefined
}

/**
 * Visits `dir` itself (`rel` empty), then every directory, regular file and symbolic link below
 * it, depth first, each directory's names in sorted order and a directory before what it holds;
 * sockets, fifos and devices are left out. Fails when `dir` is not a directory.
 *
 * @internal
 */
export const walkDirectory = <E>(
  dir: string,
  visit: (entry: HostEntry) => Effect.Effect<void, E>
): Effect.Effect<void, ArchiveError | E> => {
  const walk = (rel: string): Effect.Effect<void, ArchiveError | E> =>
    Effect.gen(function* () {
      const absolute = path.join(dir, rel)
      const names = yield* Effect.tryPromise({ try: () => fs.readdir(absolute), catch: io(absolute) })
      for (const child of names.sort()) {
        const childRel = rel === "" ? child : `${rel}/${child}`
        const childPath = path.join(dir, childRel)
        const stat = yield* Effect.tryPromise({ try: () => fs.lstat(childPath), catch: io(childPath) })
        if (stat.isDirectory()) {
          yield* visit({ rel: childRel, absolute: childPath, stat })
          yield* walk(childRel)
        } else if (stat.isSymbolicLink()) {
          const target = yield* Effect.tryPromise({ try: () => fs.readlink(childPath), catch: io(childPath) })
          yield* visit({ rel: childRel, absolute: childPath, stat, target })
        } else if (stat.isFile()) yield* visit({ rel: childRel, absolute: childPath, stat })
      }
    })
  return Effect.gen(function* () {
    const root = yield* Effect.tryPromise({ try: () => fs.stat(dir), catch: io(dir) })
    if (!root.isDirectory()) return yield* Effect.fail(io(dir)(new Error("not a directory")))
    yield* visit({ rel: "", absolute: dir, stat: root })
    yield* walk("")
  })
}

/**
 * A regular file opened for reading, never through a symbolic link put in its place since it was
 * listed.
 *
 * @internal
 */
export const openListedFile = (absolute: string): Promise<fs.FileHandle> =>
  fs.open(absolute, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW)

/** @internal */
export const packDirectory = (
  dir: string,
  options: { readonly prefix?: string } = {}
): Stream.Stream<Uint8Array, ArchiveError> =>
  packStream((pack) => {
    const prefix = Option.getOrElse(relativePath(options.prefix ?? ""), () => "")
    const nameOf = (rel: string) => (prefix === "" ? rel : rel === "" ? prefix : `${prefix}/${rel}`)
    const add = ({ rel, absolute, stat, target }: HostEntry): Effect.Effect<void, ArchiveError> => {
      // The root is an entry of its own only under a prefix.
      if (rel === "" && prefix === "") return Effect.void
      const common = { name: nameOf(rel), mode: stat.mode & 0o7777, mtime: stat.mtime }
      if (stat.isDirectory()) return addEntry(pack, { ...common, name: `${common.name}/`, type: "directory" })
      if (target !== undefined) return addEntry(pack, { ...common, type: "symlink", linkname: target })
      return Effect.tryPromise({
        try: async () => {
          const handle = await openListedFile(absolute)
          let finish: (error?: Error | null) => void = () => {}
          const added = new Promise<void>((resolve, reject) => {
            finish = (error) => (error ? reject(error) : resolve())
          })
          const sink = pack.entry({ ...common, type: "file", size: stat.size }, finish)
          // Both at once: a pack destroyed mid-entry (the stream's consumer stopped) fails both,
          // and a rejection nobody awaits would end the process.
          await Promise.all([pipeline(handle.createReadStream(), sink), added])
        },
        catch: io(absolute)
      })
    }
    return walkDirectory(dir, add)
  })

/** @internal */
export const extractToDirectory = <E, R>(
  archive: Stream.Stream<Uint8Array, E, R>,
  dir: string,
  options: { readonly strip?: number; readonly onUnsafe?: "fail" | "skip" } = {}
): Effect.Effect<ExtractSummary, E | ArchiveError, R> =>
  Effect.gen(function* () {
    yield* Effect.tryPromise({ try: () => fs.mkdir(dir, { recursive: true }), catch: io(dir) })
    const root = yield* Effect.tryPromise({ try: () => fs.realpath(dir), catch: io(dir) })
    const strip = options.strip ?? 0
    const summary = {
      files: 0,
      directories: 0,
      symlinks: 0,
      skipped: [] as Array<{ path: string; reason: string }>
    }
    const directoryModes = new Map<string, number>()

    const target = (name: string): Option.Option<string> =>
      Option.flatMap(relativePath(name), (p) => {
        const parts = p === "" ? [] : p.split("/")
        return parts.length > strip ? Option.some(parts.slice(strip).join("/")) : Option.none()
      })

    const handle = (header: tar.Headers, body: tar.Entry): Effect.Effect<void, ArchiveError> =>
      Effect.gen(function* () {
        const name = entryName(header.name)
        if (Option.isNone(relativePath(name)))
          return yield* Effect.fail(unsafe(name, "climbs above the target"))
        const rel = target(name)
        if (Option.isNone(rel)) return
        const p = rel.value
        const absolute = path.join(root, p)
        const mode = (header.mode ?? 0o644) & 0o777
        switch (header.type) {
          case "directory":
            yield* ensureDirectory(root, p)
            directoryModes.set(absolute, mode)
            summary.directories++
            return
          case "file":
          case "contiguous-file":
          case undefined:
          case null:
            yield* ensureDirectory(root, posix.dirname(p))
            yield* Effect.tryPromise({
              try: async () => {
                await clear(absolute)
                const out = await fs.open(
                  absolute,
                  fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW,
                  mode
                )
                await out.chmod(mode).catch(async (error) => {
                  await out.close()
                  throw error
                })
                await pipeline(body, out.createWriteStream())
              },
              catch: io(absolute)
            })
            summary.files++
            return
          case "symlink": {
            const link = header.linkname ?? ""
            if (link.startsWith("/"))
              return yield* Effect.fail(unsafe(name, `absolute symbolic link to ${link}`))
            if (Option.isNone(relativePath(posix.join(posix.dirname(p), link)))) {
              return yield* Effect.fail(unsafe(name, `symbolic link to ${link} points outside the target`))
            }
            yield* ensureDirectory(root, posix.dirname(p))
            yield* Effect.tryPromise({
              try: async () => {
                await clear(absolute)
                await fs.symlink(link, absolute)
              },
              catch: io(absolute)
            })
            summary.symlinks++
            return
          }
          case "link": {
            const linked = target(header.linkname ?? "")
            const source = Option.isSome(linked) ? path.join(root, linked.value) : undefined
            const stat =
              source === undefined
                ? undefined
                : yield* Effect.promise(() => fs.lstat(source).catch(() => undefined))
            if (source === undefined || stat === undefined || !stat.isFile()) {
              return yield* Effect.fail(
                unsafe(name, `hard link to ${header.linkname} which is not a file here`)
              )
            }
            yield* ensureDirectory(root, posix.dirname(p))
            yield* Effect.tryPromise({
              try: async () => {
                await clear(absolute)
                await fs.copyFile(source, absolute, fsConstants.COPYFILE_EXCL)
              },
              catch: io(absolute)
            })
            summary.files++
            return
          }
          default:
            summary.skipped.push({ path: name, reason: `${header.type} entries are not extracted` })
        }
      })

    yield* forEachEntry(archive, (header, body) =>
      options.onUnsafe === "skip"
        ? Effect.catchIf(
            handle(header, body),
            (error) => error.reason === "UnsafeEntry",
            (error) => Effect.sync(() => summary.skipped.push({ path: error.path, reason: error.detail }))
          )
        : handle(header, body)
    )
    // Directory modes last, so a read-only directory does not stop its own entries.
    for (const [directoryPath, mode] of directoryModes) {
      yield* Effect.tryPromise({ try: () => fs.chmod(directoryPath, mode), catch: io(directoryPath) })
    }
    return summary as ExtractSummary
  })

/**
 * Creates `p` (relative to `root`) and its parents as directories, refusing to pass through a
 * symbolic link and replacing a file that stands where a directory must be.
 */
const ensureDirectory = (root: string, p: string): Effect.Effect<void, ArchiveError> =>
  Effect.gen(function* () {
    if (p === "" || p === ".") return
    let current = root
    for (const part of p.split("/")) {
      current = path.join(current, part)
      const at = current
      const stat = yield* Effect.promise(() => fs.lstat(at).catch(() => undefined))
      if (stat?.isDirectory() === true) continue
      if (stat?.isSymbolicLink() === true) {
        return yield* Effect.fail(
          unsafe(p, `would be written through the symbolic link ${path.relative(root, at)}`)
        )
      }
      yield* Effect.tryPromise({
        try: async () => {
          if (stat !== undefined) await fs.rm(at, { force: true })
          await fs.mkdir(at, { mode: 0o755 })
        },
        catch: io(at)
      })
    }
  })

/** Removes whatever is at `absolute` (a link itself, never its target) so a new entry can go there. */
const clear = (absolute: string): Promise<void> => fs.rm(absolute, { recursive: true, force: true })

/** @internal */
export const writeFile = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  file: string
): Effect.Effect<void, E | ArchiveError, R> =>
  Effect.scoped(
    Effect.gen(function* () {
      const out = yield* Interruption.acquireRelease(
        Effect.sync(() => createWriteStream(file)),
        (out) => Effect.sync(() => out.destroy())
      )
      yield* Stream.run(
        bytes,
        NodeSink.fromWritable(() => out, io(file))
      )
    })
  )
