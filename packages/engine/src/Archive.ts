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
 * Four parts, each a module of its own under `internal/archive/`: an in-memory file tree (`Tree`:
 * path → file | directory | symlink, with modes) used by the in-memory engine and by tests; its
 * tar codec (`toTar`, `fromTar`); the host side (`packDirectory`, `extractToDirectory`,
 * `writeFile`), which reads and writes the host file system with `node:fs`; and gzip for
 * `.tar.gz` exports. This module is Node-only.
 *
 * @since 0.1.0
 */
import type { FileHandle } from "node:fs/promises"
import type { Effect, Option, Stream } from "effect"
import type { ArchiveError } from "./ContainerEngineError.js"
import * as compression from "./internal/archive/compression.js"
import * as host from "./internal/archive/host.js"
import * as codec from "./internal/archive/tar.js"
import * as tree from "./internal/archive/tree.js"

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

/**
 * A file node; its mode defaults to 0644, its mtime to the epoch.
 *
 * @since 0.1.0
 * @category constructors
 */
export const file: (
  content: string | Uint8Array,
  options?: { readonly mode?: number; readonly mtime?: Date }
) => File = tree.file

/**
 * A directory node; its mode defaults to 0755, its mtime to the epoch.
 *
 * @since 0.1.0
 * @category constructors
 */
export const directory: (options?: { readonly mode?: number; readonly mtime?: Date }) => Directory =
  tree.directory

/**
 * @since 0.1.0
 * @category constructors
 */
export const symlink: (target: string, options?: { readonly mtime?: Date }) => Symlink = tree.symlink

/**
 * `path` as a normalised path relative to a root (`""` is the root itself); `None` when it climbs
 * above the root. A leading `/` is dropped, as tar does.
 *
 * @since 0.1.0
 * @category getters
 */
export const relativePath: (p: string) => Option.Option<string> = tree.relativePath

/**
 * A tree from a record of paths; strings and bytes become files (0644), parents are added.
 * Throws a `RangeError` on a path that climbs above the root: this is a constructor for fixed
 * test data, not for input.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (entries: Readonly<Record<string, string | Uint8Array | Node>>) => Tree = tree.make

/**
 * The node at `p` (a relative path, `""` is the root directory).
 *
 * @since 0.1.0
 * @category getters
 */
export const get: (tree: Tree, p: string) => Option.Option<Node> = tree.get

/**
 * The entries strictly below the directory `p`, keyed relative to it.
 *
 * @since 0.1.0
 * @category getters
 */
export const subtree: (tree: Tree, p: string) => Tree = tree.subtree

/**
 * `tree` with every entry of `entries` written below the directory `at` (created if missing);
 * an entry replaces what was at its path.
 *
 * @since 0.1.0
 * @category combinators
 */
export const put: (tree: Tree, at: string, entries: Tree) => Tree = tree.put

/**
 * `tree` with the node at `p` and everything below it removed.
 *
 * @since 0.1.0
 * @category combinators
 */
export const remove: (tree: Tree, p: string) => Tree = tree.remove

/**
 * The UTF-8 contents of every file, keyed by path: the handy form for assertions.
 *
 * @since 0.1.0
 * @category getters
 */
export const contents: (tree: Tree) => Record<string, string> = tree.contents

/**
 * The tree as a tar stream, parents before children, in path order.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toTar: (tree: Tree) => Stream.Stream<Uint8Array> = codec.toTar

/**
 * Reads a tar stream into a tree. Entries that climb above the root fail with `UnsafeEntry`;
 * a hard link becomes a copy of the file it names; device and fifo entries are left out.
 *
 * @since 0.1.0
 * @category conversions
 */
export const fromTar: <E, R>(
  archive: Stream.Stream<Uint8Array, E, R>
) => Effect.Effect<Tree, E | ArchiveError, R> = codec.fromTar

/**
 * The contents of the host directory `dir` as a tar stream, entries relative to `dir` (or below
 * `prefix`, which then gets its own directory entry first). Symbolic links are archived as links,
 * never followed; sockets, fifos and devices are left out. File bodies are streamed.
 *
 * @since 0.1.0
 * @category host
 */
export const packDirectory: (
  dir: string,
  options?: { readonly prefix?: string }
) => Stream.Stream<Uint8Array, ArchiveError> = host.packDirectory

/**
 * One entry below a host directory, as `walkDirectory` visits it.
 *
 * @since 0.1.0
 * @category host
 */
export type HostEntry = host.HostEntry

/**
 * Visits the host directory `dir` (`rel` empty) and every directory, regular file and symbolic
 * link below it (links not followed), depth first in sorted order: the walk `packDirectory` makes.
 *
 * @since 0.1.0
 * @category host
 */
export const walkDirectory: <E>(
  dir: string,
  visit: (entry: HostEntry) => Effect.Effect<void, E>
) => Effect.Effect<void, ArchiveError | E> = host.walkDirectory

/**
 * Opens a file `walkDirectory` listed for reading, never through a symbolic link put in its place
 * since.
 *
 * @since 0.1.0
 * @category host
 */
export const openListedFile: (absolute: string) => Promise<FileHandle> = host.openListedFile

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
export const extractToDirectory: <E, R>(
  archive: Stream.Stream<Uint8Array, E, R>,
  dir: string,
  options?: { readonly strip?: number; readonly onUnsafe?: "fail" | "skip" }
) => Effect.Effect<ExtractSummary, E | ArchiveError, R> = host.extractToDirectory

/**
 * @since 0.1.0
 * @category compression
 */
export const gzip: <E, R>(
  archive: Stream.Stream<Uint8Array, E, R>,
  options?: { readonly level?: number }
) => Stream.Stream<Uint8Array, E | ArchiveError, R> = compression.gzip

/**
 * @since 0.1.0
 * @category compression
 */
export const gunzip: <E, R>(
  archive: Stream.Stream<Uint8Array, E, R>
) => Stream.Stream<Uint8Array, E | ArchiveError, R> = compression.gunzip

/**
 * Writes a byte stream to a host file (replacing it), e.g. `writeFile(gzip(tar), "out.tar.gz")`.
 *
 * @since 0.1.0
 * @category host
 */
export const writeFile: <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  file: string
) => Effect.Effect<void, E | ArchiveError, R> = host.writeFile
