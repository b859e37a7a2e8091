/**
 * The tar codec over tar-stream: a tar stream written entry by entry, one read entry by entry,
 * and the conversions between a tree and tar. The host side (`host.ts`) builds on the same two.
 *
 * @internal
 */
import type { Writable } from "node:stream"
import { Interruption } from "@armada/core"
import * as NodeSink from "@effect/platform-node/NodeSink"
import { Effect, Option, Stream } from "effect"
import * as tar from "tar-stream"
import type { Node, Tree } from "../../Archive.js"
import type { ArchiveError } from "../../ContainerEngineError.js"
import { malformed, unsafe } from "./error.js"
import { epoch, relativePath, setNode, sorted } from "./tree.js"

/** @internal */
export type Producer = (pack: tar.Pack) => Effect.Effect<void, ArchiveError>

/**
 * A tar stream whose entries `produce` writes; the pack is destroyed when the stream ends.
 *
 * @internal
 */
export const packStream = (produce: Producer): Stream.Stream<Uint8Array, ArchiveError> =>
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

/**
 * Writes one entry with its whole body (or none) and waits until the pack has taken it.
 *
 * @internal
 */
export const addEntry = (
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

/** @internal */
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
 *
 * @internal
 */
export const forEachEntry = <E, R>(
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
      // Ended only once the whole input is in: ended on a failure of the input, the parser would
      // report a cut archive instead of the input's own error.
      const write = Stream.run(
        buffers,
        // A streamx Writable: write, drain, end and error as a Node one, without its types.
        NodeSink.fromWritable(() => extract as unknown as Writable, malformed, { endOnDone: false })
      ).pipe(Effect.zipRight(Effect.sync(() => extract.end())))
      yield* Effect.all([write, consume], { concurrency: 2, discard: true })
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

/** An entry's name without the trailing `/` of a directory. @internal */
export const entryName = (name: string): string => name.replace(/\/+$/, "")

/** @internal */
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
