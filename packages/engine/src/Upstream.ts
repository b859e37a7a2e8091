/**
 * Keeps a failure of the caller's own tar stream apart from the engine's failures while an engine
 * reads that stream, so `putArchive` fails with the caller's error unchanged (as its contract
 * says) and only the engine's own failures are mapped to engine errors.
 *
 * @since 0.1.0
 */
import { Effect, Stream } from "effect"

/**
 * A failure of the caller's stream, marked.
 *
 * @since 0.1.0
 * @category models
 */
export class Upstream<E> {
  constructor(readonly error: E) {}
}

/**
 * The stream with each of its failures marked as the caller's.
 *
 * @since 0.1.0
 * @category constructors
 */
export const mark = <A, E, R>(stream: Stream.Stream<A, E, R>): Stream.Stream<A, Upstream<E>, R> =>
  Stream.mapError(stream, (error) => new Upstream(error))

/**
 * The caller's errors of a marked stream.
 *
 * @since 0.1.0
 * @category models
 */
export type Unmarked<X> = X extends Upstream<infer E> ? E : never

/**
 * The effect with the caller's failures given back as they were and every other failure mapped
 * by `own`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const unmark = <A, X, R, E2>(
  effect: Effect.Effect<A, X, R>,
  own: (error: Exclude<X, Upstream<unknown>>) => E2
): Effect.Effect<A, Unmarked<X> | E2, R> =>
  Effect.mapError(effect, (error) =>
    error instanceof Upstream ? (error.error as Unmarked<X>) : own(error as Exclude<X, Upstream<unknown>>)
  )
