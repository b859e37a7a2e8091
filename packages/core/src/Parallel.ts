/**
 * Bounded parallel execution: run an effect on every item with at most `concurrency` in flight,
 * wait for all of them, and hand back every failure together with its item. Every bulk operation
 * of armada (pulls, container starts, HTTP calls, removals) goes through this module.
 *
 * It is Effect's own idiom, `Effect.forEach(items, (item, i) => Effect.exit(f(item, i)),
 * { concurrency })`, with the limit validated and the exits folded into an `Outcome`. Timeouts and
 * retries belong to the caller's effect: `f` composes `Effect.timeoutFail` and `Effect.retry` as it
 * needs, and their errors join `f`'s error type.
 *
 * @since 0.1.0
 */

import { availableParallelism } from "node:os"
import { Array as Arr, Effect } from "effect"
import { InputError } from "./InputError.js"
import * as Outcome from "./Outcome.js"

/**
 * A positive integer, or `"cpus"` for the machine's available parallelism.
 *
 * @since 0.1.0
 * @category models
 */
export type Concurrency = number | "cpus"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** At most this many items in flight; default `"cpus"`. */
  readonly concurrency?: Concurrency | undefined
}

/**
 * Validates a concurrency setting: a positive integer, or `"cpus"` (also the default).
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolveConcurrency = (
  concurrency: Concurrency | undefined
): Effect.Effect<number, InputError> => {
  if (concurrency === undefined || concurrency === "cpus") return Effect.succeed(availableParallelism())
  if (Number.isSafeInteger(concurrency) && concurrency >= 1) return Effect.succeed(concurrency)
  return Effect.fail(
    new InputError({
      field: "concurrency",
      value: concurrency,
      reason: 'expected a positive integer or "cpus"'
    })
  )
}

/**
 * Runs `f` on every item with at most `concurrency` in flight, waits for all of them and returns
 * an `Outcome` with every success and every failure (typed errors and defects alike, a thrown
 * exception included), each tagged with its item and index, in input order. Zero items return at
 * once. Interrupting the batch interrupts the running items (their finalizers run before the
 * interruption completes) and starts no new one. An invalid `concurrency` fails with `InputError`
 * before any item runs.
 *
 * No span of its own: inside a span, Effect wraps every error and defect in a proxy, and the
 * items' errors should come back as they were raised; the operations that call this carry spans.
 *
 * @since 0.1.0
 * @category combinators
 */
export const forEachCollect = <I, A, E, R>(
  items: Iterable<I>,
  f: (item: I, index: number) => Effect.Effect<A, E, R>,
  options?: Options
): Effect.Effect<Outcome.Outcome<I, A, E>, InputError, R> =>
  Effect.flatMap(resolveConcurrency(options?.concurrency), (concurrency) =>
    Effect.suspend(() => {
      const input = Arr.fromIterable(items)
      return Effect.map(
        Effect.forEach(input, (item, index) => Effect.exit(call(f, item, index)), { concurrency }),
        (exits) => Outcome.fromExits(input, exits)
      )
    })
  )

/**
 * Like `forEachCollect`, but stops at the first failure: no new item starts, the other running
 * items are interrupted, and the failure names its item. On success the values come back in
 * input order.
 *
 * @since 0.1.0
 * @category combinators
 */
export const forEachFailFast = <I, A, E, R>(
  items: Iterable<I>,
  f: (item: I, index: number) => Effect.Effect<A, E, R>,
  options?: Options
): Effect.Effect<Array<A>, Outcome.Failure<I, E> | InputError, R> =>
  Effect.flatMap(resolveConcurrency(options?.concurrency), (concurrency) =>
    Effect.forEach(
      items,
      (item, index) =>
        Effect.catchAllCause(call(f, item, index), (cause) =>
          Effect.fail<Outcome.Failure<I, E>>({ index, item, cause: Outcome.itemCause(cause) })
        ),
      { concurrency }
    )
  )

/**
 * `f(item, index)`, with an exception thrown by `f` itself turned into a defect of that item. A
 * `try` rather than `Effect.suspend`, which would cost every item a closure and a step more.
 */
const call = <I, A, E, R>(
  f: (item: I, index: number) => Effect.Effect<A, E, R>,
  item: I,
  index: number
): Effect.Effect<A, E, R> => {
  try {
    return f(item, index)
  } catch (defect) {
    return Effect.die(defect)
  }
}
