/**
 * Tar archives: how files go into and come out of containers and volumes (the engine's archive
 * API), shared by every `ContainerEngine` and by the orchestrator.
 *
 * Entry layout, as Docker gives it:
 * - `putArchive(target, path, tar)` extracts the entries *into* the directory `path`: an entry
 *   `a/b.txt` lands at `path/a/b.txt`. `packDirectory(dir)` produces exactly that shape (the
 *   contents of `dir`, relative to it).
 * - `getArchive(target, path)` gives entries under the *basename* of `path`: asking for
 *   `/workspace/area` gives `area/`, `area/x.txt`, …; asking for a file gives one entry named
 *   after it. The root of a `Volume` target is named after the volume (`<volume>/…`). Use
 *   `extractToDirectory(tar, dir, { strip: 1 })` to drop that first component.
 *
 * Also here: an in-memory file tree (`Tree`: path → file | directory | symlink, with modes) and
 * its conversion to and from tar, used by the in-memory engine and by tests; gzip for `.tar.gz` exports.
 * This module is Node-only (it reads and writes the host file system with `node:fs`).
 *
 * @since 0.1.0
 */
import { createWriteStream, constants as fsConstants } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as posix from "node:path/posix"
import { finished, pipeline } from "node:stream/promises"
import * as zlib from "node:zlib"
import { Interruption } from "@armada/core"
import { Effect, Option, Stream } from "effect"
import * as tar from "tar-stream"
import { ArchiveError } from "./ContainerEngineError.js"
import { feed, pipeThrough } from "./internal/nodeStream.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface File {
  readonly _tag: "File"
  readonly mode: number
  readonly content: Uint8Array
  readonly mtime: Date
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Directory {
  readonly _tag: "Directory"
  readonly mode: number
  readonly mtime: Date
}

/**
 * A symbolic link, kept as a link (its target is never followed).
 *
 * @since 0.1.0
 * @category models
 */
export interface Symlink {
  readonly _tag: "Symlink"
  readonly target: string
  readonly mtime: Date
}

/**
 * @since 0.1.0
 * @category models
 */
export type Node = File | Directory | Symlink

/**
 * A file tree in memory: normalised relative paths (`a/b.txt`, no leading `/`, no `.` or `..`)
 * to nodes. Every parent of an entry is itself a `Directory` entry; the root is implicit.
 *
 * @since 0.1.0
 * @category models
 */
export type Tree = ReadonlyMap<string, Node>

/**
 * What `extractToDirectory` did.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExtractSummary {
  readonly files: number
  readonly directories: number
  readonly symlinks: number
  /** Entries left out: unsafe ones under `onUnsafe: "skip"`, and device/fifo entries. */
  readonly skipped: ReadonlyArray<{ readonly path: string; readonly reason: string }>
}

const epoch = new Date(0)

/**
 * @since 0.1.0
 * @category constructors
 */
export const file = (
  content: string | Uint8Array,
  options: { readonly mode?: number; readonly mtime?: Date } = {}
): File => ({
  _tag: "File",
  mode: options.mode ?? 0o644,
  content: typeof content === "string" ? new TextEncoder().encode(content) : content,
  mtime: options.mtime ?? epoch
})

/**
 * @since 0.1.0
 * @category constructors
 */
export const directory = (options: { readonly mode?: number; readonly mtime?: Date } = {}): Directory => ({
  _tag: "Directory",
  mode: options.mode ?? 0o755,
  mtime: options.mtime ?? epoch
})

/**
 * @since 0.1.0
 * @category constructors
 */
export const symlink = (target: string, options: { readonly mtime?: Date } = {}): Symlink => ({
  _tag: "Symlink",
  target,
  mtime: options.mtime ?? epoch
})

/**
 * `path` as a normalised path relative to a root (`""` is the root itself); `None` when it climbs
 * above the root. A leading `/` is dropped, as tar does.
 *
 * @since 0.1.0
 * @category getters
 */
export const relativePath = (p: string): Option.Option<string> => {
  const parts: Array<string> = []
  for (const segment of p.split("/")) {
    if (segment === "" || segment === ".") continue
    if (segment === "..") {
      if (parts.length === 0) return Option.none()
      parts.pop()
    } else parts.push(segment)
  }
  return Option.some(parts.join("/"))
}

const parentsOf = (p: string): Array<string> => {
  const parts = p.split("/")
  return parts.slice(0, -1).map((_, index) => parts.slice(0, index + 1).join("/"))
}

/** Sets `p` in `tree`, adding missing parent directories and replacing non-directory parents. */
const setNode = (tree: Map<string, Node>, p: string, node: Node): void => {
  for (const parent of parentsOf(p)) {
    if (tree.get(parent)?._tag !== "Directory") {
      removeNode(tree, parent)
      tree.set(parent, directory())
    }
  }
  const existing = tree.get(p)
  // A directory written over a directory keeps what is inside (tar semantics).
  if (!(existing?._tag === "Directory" && node._tag === "Directory")) removeNode(tree, p)
  tree.set(p, node)
}

const removeNode = (tree: Map<string, Node>, p: string): void => {
  tree.delete(p)
  const prefix = `${p}/`
  for (const key of [...tree.keys()]) if (key.startsWith(prefix)) tree.delete(key)
}

/**
 * A tree from a record of paths; strings and bytes become files (0644), parents are added.
 * Throws a `RangeError` on a path that climbs above the root: this is a constructor for fixed
 * test data, not for input.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (entries: Readonly<Record<string, string | Uint8Array | Node>>): Tree => {
  const tree = new Map<string, Node>()
  for (const [key, value] of Object.entries(entries)) {
    const p = Option.getOrThrowWith(relativePath(key), () => new RangeError(`${key} climbs above the root`))
    if (p === "") continue
    setNode(tree, p, typeof value === "string" || value instanceof Uint8Array ? file(value) : value)
  }
  return tree
}

/**
 * The node at `p` (a relative path, `""` is the root directory).
 *
 * @since 0.1.0
 * @category getters
 */
export const get = (tree: Tree, p: string): Option.Option<Node> =>
  p === "" ? Option.some(directory()) : Option.fromNullable(tree.get(p))

/**
 * The entries strictly below the directory `p`, keyed relative to it.
 *
 * @since 0.1.0
 * @category getters
 */
export const subtree = (tree: Tree, p: string): Tree => {
  if (p === "") return tree
  const prefix = `${p}/`
  const result = new Map<string, Node>()
  for (const [key, node] of tree) if (key.startsWith(prefix)) result.set(key.slice(prefix.length), node)
  return result
}

/**
 * `tree` with every entry of `entries` written below the directory `at` (created if missing);
 * an entry replaces what was at its path.
 *
 * @since 0.1.0
 * @category combinators
 */
export const put = (tree: Tree, at: string, entries: Tree): Tree => {
  const result = new Map(tree)
  if (at !== "") setNode(result, at, result.get(at)?._tag === "Directory" ? result.get(at)! : directory())
  for (const [key, node] of sorted(entries)) setNode(result, at === "" ? key : `${at}/${key}`, node)
  return result
}

/**
 * `tree` with the node at `p` and everything below it removed.
 *
 * @since 0.1.0
 * @category combinators
 */
export const remove = (tree: Tree, p: string): Tree => {
  const result = new Map(tree)
  removeNode(result, p)
  return result
}

/**
 * The UTF-8 contents of every file, keyed by path: the handy form for assertions.
 *
 * @since 0.1.0
 * @category getters
 */
export const contents = (tree: Tree): Record<string, string> => {
  const decoder = new TextDecoder()
  const result: Record<string, string> = {}
  for (const [key, node] of sorted(tree)) if (node._tag === "File") result[key] = decoder.decode(node.content)
  return result
}

const sorted = (tree: Tree): Array<[string, Node]> =>
  [...tree.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

const io =
  (p: string) =>
  (cause: unknown): ArchiveError =>
    new ArchiveError({
      reason: "Io",
      path: p,
      detail: cause instanceof Error ? cause.message : String(cause)
    })

const malformed = (cause: unknown): ArchiveError =>
  new ArchiveError({
    reason: "Malformed",
    path: "archive",
    detail: cause instanceof Error ? cause.message : String(cause)
  })

const unsafe = (p: string, detail: string) => new ArchiveError({ reason: "UnsafeEntry", path: p, detail })

type Producer = (pack: tar.Pack) => Effect.Effect<void, ArchiveError>

/** A tar stream whose entries `produce` writes; the pack is destroyed when the stream ends. */
const packStream = (produce: Producer): Stream.Stream<Uint8Array, ArchiveError> =>
  Stream.unwrapScoped(
    Effect.map(
      Interruption.acquireRelease(
        Effect.sync(() => tar.pack()),
        (pack) => Effect.sync(() => pack.destroy())
      ),
      (pack) =>
        Stream.merge(
          Stream.fromAsyncIterable(pack, malformed),
          Stream.drain(
            Stream.fromEffect(
              Effect.zipRight(
                produce(pack),
                Effect.sync(() => pack.finalize())
              )
            )
          ),
          { haltStrategy: "left" }
        )
    )
  )

const addEntry = (
  pack: tar.Pack,
  header: tar.Headers,
  body?: Uint8Array
): Effect.Effect<void, ArchiveError> =>
  Effect.async<void, ArchiveError>((resume) => {
    const done = (error?: Error | null) => resume(error ? Effect.fail(malformed(error)) : Effect.void)
    if (body === undefined) pack.entry(header, done)
    else pack.entry(header, Buffer.from(body.buffer, body.byteOffset, body.byteLength), done)
  })

const headerOf = (name: string, node: Node): tar.Headers => {
  switch (node._tag) {
    case "File":
      return { name, type: "file", mode: node.mode, mtime: node.mtime, size: node.content.byteLength }
    case "Directory":
      return { name: `${name}/`, type: "directory", mode: node.mode, mtime: node.mtime }
    case "Symlink":
      return { name, type: "symlink", linkname: node.target, mode: 0o777, mtime: node.mtime }
  }
}

/**
 * The tree as a tar stream, parents before children, in path order.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toTar = (tree: Tree): Stream.Stream<Uint8Array> =>
  packStream((pack) =>
    Effect.forEach(
      sorted(tree),
      ([name, node]) => addEntry(pack, headerOf(name, node), node._tag === "File" ? node.content : undefined),
      { discard: true }
    )
  ).pipe(Stream.orDie)

/**
 * Feeds `archive` into a tar parser and calls `onEntry` for each entry in order; its body must be
 * read (or is drained) before the next entry comes.
 */
const forEachEntry = <E, R>(
  archive: Stream.Stream<Uint8Array, E, R>,
  onEntry: (header: tar.Headers, body: tar.Entry) => Effect.Effect<void, ArchiveError>
): Effect.Effect<void, E | ArchiveError, R> =>
  Effect.scoped(
    Effect.gen(function* () {
      const extract = yield* Interruption.acquireRelease(
        Effect.sync(() => tar.extract()),
        (extract) => Effect.sync(() => extract.destroy())
      )
      const entries = extract[Symbol.asyncIterator]()
      const consume = Effect.gen(function* () {
        while (true) {
          const next = yield* Effect.tryPromise({ try: () => entries.next(), catch: malformed })
          if (next.done === true) return
          const entry: tar.Entry = next.value
          yield* onEntry(entry.header, entry)
          yield* Effect.tryPromise({ try: () => drain(entry), catch: malformed })
        }
      })
      // tar-stream misreads plain Uint8Arrays: hand it Buffers (views, no copy).
      const buffers = Stream.map(archive, (chunk) =>
        Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
      )
      yield* Effect.all([feed(buffers, extract), consume], { concurrency: 2, discard: true })
    })
  )

const drain = async (body: AsyncIterable<Uint8Array>): Promise<void> => {
  for await (const _ of body) {
    // discard
  }
}

const readAll = (body: tar.Entry): Effect.Effect<Uint8Array, ArchiveError> =>
  Effect.tryPromise({
    try: async () => {
      const chunks: Array<Uint8Array> = []
      for await (const chunk of body) chunks.push(chunk)
      return new Uint8Array(Buffer.concat(chunks))
    },
    catch: malformed
  })

const entryName = (name: string): string => name.replace(/\/+$/, "")

/**
 * Reads a tar stream into a tree. Entries that climb above the root fail with `UnsafeEntry`;
 * a hard link becomes a copy of the file it names; device and fifo entries are left out.
 *
 * @since 0.1.0
 * @category conversions
 */
export const fromTar = <E, R>(
  archive: Stream.Stream<Uint8Array, E, R>
): Effect.Effect<Tree, E | ArchiveError, R> =>
  Effect.suspend(() => {
    const tree = new Map<string, Node>()
    return forEachEntry(archive, (header, body) =>
      Effect.gen(function* () {
        const name = entryName(header.name)
        const p = yield* Option.match(relativePath(name), {
          onNone: () => Effect.fail(unsafe(name, "climbs above the root")),
          onSome: Effect.succeed
        })
        if (p === "") return
        const mode = (header.mode ?? 0o644) & 0o7777
        const mtime = header.mtime ?? epoch
        switch (header.type) {
          case "directory":
            return setNode(tree, p, { _tag: "Directory", mode, mtime })
          case "file":
          case "contiguous-file":
          case undefined:
          case null:
            return setNode(tree, p, { _tag: "File", mode, mtime, content: yield* readAll(body) })
          case "symlink":
            return setNode(tree, p, { _tag: "Symlink", target: header.linkname ?? "", mtime })
          case "link": {
            const linked = Option.flatMap(relativePath(header.linkname ?? ""), (target) =>
              Option.fromNullable(tree.get(target))
            )
            if (Option.isNone(linked) || linked.value._tag !== "File") {
              return yield* Effect.fail(
                unsafe(name, `hard link to ${header.linkname} which is not a file here`)
              )
            }
            return setNode(tree, p, linked.value)
          }
          default:
            return
        }
      })
    ).pipe(Effect.as(tree as Tree))
  })

/**
 * The contents of the host directory `dir` as a tar stream, entries relative to `dir` (or below
 * `prefix`, which then gets its own directory entry first). Symbolic links are archived as links,
 * never followed; sockets, fifos and devices are left out. File bodies are streamed.
 *
 * @since 0.1.0
 * @category host
 */
export const packDirectory = (
  dir: string,
  options: { readonly prefix?: string } = {}
): Stream.Stream<Uint8Array, ArchiveError> =>
  packStream((pack) => {
    const prefix = Option.getOrElse(relativePath(options.prefix ?? ""), () => "")
    const nameOf = (rel: string) => (prefix === "" ? rel : rel === "" ? prefix : `${prefix}/${rel}`)
    const walk = (rel: string): Effect.Effect<void, ArchiveError> =>
      Effect.gen(function* () {
        const absolute = path.join(dir, rel)
        const names = yield* Effect.tryPromise({ try: () => fs.readdir(absolute), catch: io(absolute) })
        for (const child of names.sort()) {
          const childRel = rel === "" ? child : `${rel}/${child}`
          const childPath = path.join(dir, childRel)
          const stat = yield* Effect.tryPromise({ try: () => fs.lstat(childPath), catch: io(childPath) })
          const common = { name: nameOf(childRel), mode: stat.mode & 0o7777, mtime: stat.mtime }
          if (stat.isDirectory()) {
            yield* addEntry(pack, { ...common, name: `${common.name}/`, type: "directory" })
            yield* walk(childRel)
          } else if (stat.isSymbolicLink()) {
            const target = yield* Effect.tryPromise({
              try: () => fs.readlink(childPath),
              catch: io(childPath)
            })
            yield* addEntry(pack, { ...common, type: "symlink", linkname: target })
          } else if (stat.isFile()) {
            yield* Effect.tryPromise({
              try: async () => {
                const handle = await fs.open(childPath, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW)
                let finish: (error?: Error | null) => void = () => {}
                const added = new Promise<void>((resolve, reject) => {
                  finish = (error) => (error ? reject(error) : resolve())
                })
                const sink = pack.entry({ ...common, type: "file", size: stat.size }, finish)
                // Both at once: a pack destroyed mid-entry (the stream's consumer stopped) fails both,
                // and a rejection nobody awaits would end the process.
                await Promise.all([pipeline(handle.createReadStream(), sink), added])
              },
              catch: io(childPath)
            })
          }
        }
      })
    return Effect.gen(function* () {
      const root = yield* Effect.tryPromise({ try: () => fs.stat(dir), catch: io(dir) })
      if (!root.isDirectory()) return yield* Effect.fail(io(dir)(new Error("not a directory")))
      if (prefix !== "") {
        yield* addEntry(pack, {
          name: `${prefix}/`,
          type: "directory",
          mode: root.mode & 0o7777,
          mtime: root.mtime
        })
      }
      yield* walk("")
    })
  })

/**
 * Extracts a tar stream into the host directory `dir` (created if missing), never writing outside
 * it: entries whose path climbs above `dir`, symbolic links that are absolute or point above
 * `dir`, hard links to anything but a file already extracted, and entries that would be written
 * through a symbolic link are unsafe, and fail the extraction (`onUnsafe: "fail"`, the default)
 * or are skipped and listed (`"skip"`). Modes keep their permission bits only (no setuid/setgid).
 * `strip` drops that many leading path components (like `tar --strip-components`); entries left
 * with no path are skipped silently. Not safe against another process changing `dir` meanwhile.
 *
 * @since 0.1.0
 * @category host
 */
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

/**
 * @since 0.1.0
 * @category compression
 */
export const gzip = <E, R>(
  archive: Stream.Stream<Uint8Array, E, R>,
  options: { readonly level?: number } = {}
): Stream.Stream<Uint8Array, E | ArchiveError, R> =>
  pipeThrough(
    archive,
    () => zlib.createGzip({ level: options.level ?? zlib.constants.Z_DEFAULT_COMPRESSION }),
    io("gzip")
  )

/**
 * @since 0.1.0
 * @category compression
 */
export const gunzip = <E, R>(
  archive: Stream.Stream<Uint8Array, E, R>
): Stream.Stream<Uint8Array, E | ArchiveError, R> =>
  pipeThrough(archive, () => zlib.createGunzip(), malformed)

/**
 * Writes a byte stream to a host file (replacing it), e.g. `writeFile(gzip(tar), "out.tar.gz")`.
 *
 * @since 0.1.0
 * @category host
 */
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
      const done = Effect.tryPromise({ try: () => finished(out), catch: io(file) })
      // A write error ends the race at once instead of after the whole input is read.
      yield* Effect.raceFirst(Effect.zipRight(feed(bytes, out), done), Effect.zipRight(done, Effect.never))
    })
  )
