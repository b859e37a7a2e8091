/**
 * Feeds an Effect `Stream` into a Node writable (the body of an archive upload), with
 * backpressure and cancellation. `@armada/engine` has the same bridge for its tar codec; both go
 * when `@effect/platform-node` streams replace them.
 *
 * @internal
 */
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
