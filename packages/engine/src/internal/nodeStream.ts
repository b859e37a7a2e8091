/**
 * Bridges between Effect `Stream`s and Node (or streamx) streams, with backpressure and
 * cancellation, so no other module hand-writes event plumbing: the tar codec's parser, gzip and
 * file writing use them. `@effect/platform-node`'s `NodeSink` and `NodeStream` do the same (the
 * Docker engine's archive upload uses `NodeSink`), but `@armada/engine` does not depend on that
 * package; this module goes when it does.
 *
 * @internal
 */
import { Interruption } from "@armada/core"
import { Effect, Stream } from "effect"

/** The writable side we use: Node's `Writable` and streamx's both fit. @internal */
export interface WritableLike {
  write(chunk: Uint8Array): boolean
  end(): unknown
  destroy(error?: Error): unknown
  once(event: "drain" | "close", listener: () => void): unknown
  off(event: "drain" | "close", listener: () => void): unknown
  readonly destroyed: boolean
}

/** Writes one chunk and waits for `drain` when the writable asks for it. @internal */
export const writeChunk = (writable: WritableLike, chunk: Uint8Array): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (writable.destroyed || writable.write(chunk)) return resume(Effect.void)
    // A writable destroyed while we wait never drains: stop waiting, the reader reports why.
    const done = () => {
      writable.off("drain", done)
      writable.off("close", done)
      resume(Effect.void)
    }
    writable.once("drain", done)
    writable.once("close", done)
    return Effect.sync(() => {
      writable.off("drain", done)
      writable.off("close", done)
    })
  })

/**
 * Runs `stream` into `writable` and ends it. On failure the writable is left as is: its owner
 * runs this beside the reader (which the failure interrupts) and destroys it in a finalizer, so
 * the stream's own typed error is the one reported.
 *
 * @internal
 */
export const feed = <E, R>(
  stream: Stream.Stream<Uint8Array, E, R>,
  writable: WritableLike
): Effect.Effect<void, E, R> =>
  Stream.runForEach(stream, (chunk) => writeChunk(writable, chunk)).pipe(
    Effect.zipRight(Effect.sync(() => writable.end()))
  )

/** The readable side: anything async-iterable that can be destroyed. @internal */
export interface ReadableLike extends AsyncIterable<Uint8Array> {
  destroy(error?: Error): unknown
}

/**
 * Pipes `stream` through a transform (gzip, gunzip): the transform is created per run and
 * destroyed when the run ends; a failure of `stream` fails the result with that same error.
 *
 * @internal
 */
export const pipeThrough = <E, R, E2>(
  stream: Stream.Stream<Uint8Array, E, R>,
  make: () => ReadableLike & WritableLike,
  onError: (cause: unknown) => E2
): Stream.Stream<Uint8Array, E | E2, R> =>
  Stream.unwrapScoped(
    Effect.map(
      Interruption.acquireRelease(Effect.sync(make), (transform) => Effect.sync(() => transform.destroy())),
      (transform) =>
        Stream.merge(
          Stream.fromAsyncIterable(transform, onError),
          Stream.drain(Stream.fromEffect(feed(stream, transform))),
          { haltStrategy: "left" }
        )
    )
  )
