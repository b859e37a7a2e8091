/**
 * Bounded parallel execution: run an effect on every item with at most `concurrency` in flight,
 * wait for all of them, and hand back every failure together with its item. Every bulk operation
 * of armada (pulls, container starts, HTTP calls, removals) goes through this module.
 *
 * @since 0.1.0
 */

import { availableParallelism } from "node:os"
import { type Cause, Duration, Effect, type Schedule, Schema } from "effect"
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
 * What happened to one item, with the running totals, for a progress display. Each item yields
 * `Started` and then exactly one of `Succeeded` or `Failed` (retries happen between the two);
 * an item interrupted with its batch yields no second event.
 *
 * @since 0.1.0
 * @category models
 */
export type ProgressEvent<I, E> =
  | { readonly _tag: "Started"; readonly index: number; readonly item: I; readonly counts: Counts }
  | { readonly _tag: "Succeeded"; readonly index: number; readonly item: I; readonly counts: Counts }
  | {
      readonly _tag: "Failed"
      readonly index: number
      readonly item: I
      readonly cause: Outcome.ItemCause<E>
      readonly counts: Counts
    }

/**
 * The totals right after an event: `running` items have started and not finished yet.
 *
 * @since 0.1.0
 * @category models
 */
export interface Counts {
  readonly total: number
  readonly running: number
  readonly succeeded: number
  readonly failed: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options<I, E> {
  /** At most this many items in flight; default `"cpus"`. */
  readonly concurrency?: Concurrency | undefined
  /** Each attempt of an item fails with `ItemTimeout` after this long (the attempt is interrupted). */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * Retries an item whose attempt failed with a typed error (its own, or `ItemTimeout`) on this
   * schedule; a defect is never retried. Each attempt calls `f` anew.
   */
  readonly retry?: Schedule.Schedule<unknown, E | ItemTimeout> | undefined
  /**
   * Called as each item starts, succeeds or fails, in the order these happen; the item's worker
   * waits for it, so a slow observer slows the batch down. A defect in it is a defect of the batch.
   */
  readonly onEvent?: ((event: ProgressEvent<I, E | ItemTimeout>) => Effect.Effect<void>) | undefined
}

/**
 * The typed failure of an item whose attempt ran longer than `options.timeout`.
 *
 * @since 0.1.0
 * @category errors
 */
export class ItemTimeout extends Schema.TaggedError<ItemTimeout>("@armada/core/ItemTimeout")("ItemTimeout", {
  index: Schema.Number,
  after: Schema.Duration
}) {
  override get message(): string {
    return `item ${this.index} did not finish within ${Duration.format(this.after)}`
  }
}

/**
 * The error type of an item under options `O`: `ItemTimeout` joins `E` unless `O` surely sets no
 * timeout (no options, or a literal options object without one); options typed as `Options` may
 * hold one, so they get it too.
 *
 * @since 0.1.0
 * @category models
 */
export type ItemError<E, O> = "timeout" extends keyof O
  ? [O["timeout" & keyof O]] extends [undefined]
    ? E
    : E | ItemTimeout
  : E

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
 * once; one item runs in the caller's fiber without waiting on the limit. Interrupting the batch
 * interrupts the running items (their finalizers run before the interruption completes) and
 * starts no new one. An invalid `concurrency` fails with `InputError` before any item runs.
 *
 * @since 0.1.0
 * @category combinators
 */
export const forEachCollect = <I, A, E, R, const O extends Options<I, E> = {}>(
  items: Iterable<I>,
  f: (item: I, index: number) => Effect.Effect<A, E, R>,
  // `& Options` keeps the callbacks in the options contextually typed (`onEvent: (event) => ...`).
  options?: O & Options<I, E>
): Effect.Effect<Outcome.Outcome<I, A, ItemError<E, O>>, InputError, R> =>
  run(items, f, options, (input) => {
    // One slot per item, so successes land in input order whatever the completion order.
    const successes = new Array<Outcome.Success<I, A>>(input.length)
    const failures: Array<Outcome.Failure<I, ItemError<E, O>>> = []
    return {
      succeed: (index, value) => {
        successes[index] = { index, item: input[index]!, value }
      },
      fail: (index, cause) => {
        failures.push({ index, item: input[index]!, cause: cause as Outcome.ItemCause<ItemError<E, O>> })
        return Effect.void
      },
      done: () =>
        failures.length === 0
          ? { successes, failures }
          : {
              // `filter` skips the failed items' empty slots.
              successes: successes.filter(() => true),
              failures: failures.sort(byIndex)
            }
    }
  })

/**
 * Like `forEachCollect`, but stops at the first failure: no new item starts, the other running
 * items are interrupted, and the failure names its item. On success the values come back in
 * input order.
 *
 * @since 0.1.0
 * @category combinators
 */
export const forEachFailFast = <I, A, E, R, const O extends Options<I, E> = {}>(
  items: Iterable<I>,
  f: (item: I, index: number) => Effect.Effect<A, E, R>,
  // `& Options` keeps the callbacks in the options contextually typed (`onEvent: (event) => ...`).
  options?: O & Options<I, E>
): Effect.Effect<Array<A>, Outcome.Failure<I, ItemError<E, O>> | InputError, R> =>
  run(items, f, options, (input, stop) => {
    const values = new Array<A>(input.length)
    return {
      succeed: (index, value) => {
        values[index] = value
      },
      fail: (index, cause) => {
        stop()
        return Effect.fail({ index, item: input[index]!, cause: cause as Outcome.ItemCause<ItemError<E, O>> })
      },
      done: () => values
    }
  })

/**
 * Where the results of one batch go; `fail` may fail the batch (fail-fast) or not (collect). The
 * variants cast the cause to `ItemError<E, O>`: the pool produces `ItemTimeout` only when
 * `options.timeout` is set, which is what `ItemError` reads off `O`.
 */
interface Collector<A, E, X, B> {
  readonly succeed: (index: number, value: A) => void
  readonly fail: (index: number, cause: Outcome.ItemCause<E>) => Effect.Effect<void, X>
  readonly done: () => B
}

/**
 * The worker pool behind both variants: `min(concurrency, items)` workers each take the next
 * index until none is left (or `stop` was called), so the per-item cost is one `matchCauseEffect`
 * and no fiber; a single worker runs in the caller's fiber. No span of its own: inside a span,
 * Effect wraps every error and defect in a proxy, and the items' errors should come back as they
 * were raised; the operations that call this carry the spans.
 */
const run = <I, A, E, R, X, B>(
  items: Iterable<I>,
  f: (item: I, index: number) => Effect.Effect<A, E, R>,
  options: Options<I, E> | undefined,
  makeCollector: (input: ReadonlyArray<I>, stop: () => void) => Collector<A, E | ItemTimeout, X, B>
): Effect.Effect<B, X | InputError, R> =>
  Effect.flatMap(resolveConcurrency(options?.concurrency), (concurrency) =>
    Effect.suspend(() => {
      const input = Array.from(items)
      const total = input.length
      let next = 0
      const collector = makeCollector(input, () => {
        next = total
      })
      if (total === 0) return Effect.succeed(collector.done())
      const attempt = prepare(f, options)
      const reporter = options?.onEvent === undefined ? undefined : makeReporter(input, options.onEvent)
      // A worker settles one item at a time, so its handlers can read the item's index from the
      // worker rather than be allocated again for every item.
      const makeWorker = (): Effect.Effect<void, X, R> => {
        let index = 0
        const handlers = {
          onSuccess: (value: A) => {
            collector.succeed(index, value)
            return reporter === undefined ? Effect.void : reporter.succeeded(index)
          },
          onFailure: (cause: Cause.Cause<E | ItemTimeout>) => {
            const itemCause = Outcome.itemCause(cause)
            return reporter === undefined
              ? collector.fail(index, itemCause)
              : Effect.zipRight(reporter.failed(index, itemCause), collector.fail(index, itemCause))
          }
        }
        const settle = (): Effect.Effect<void, X, R> => {
          index = next++
          const settled = Effect.matchCauseEffect(attempt(input[index]!, index), handlers)
          return reporter === undefined ? settled : Effect.zipRight(reporter.started(index), settled)
        }
        return Effect.whileLoop({ while: () => next < total, body: settle, step: noop })
      }
      const workers = Math.min(concurrency, total)
      const pool =
        workers === 1
          ? makeWorker()
          : Effect.all(Array.from({ length: workers }, makeWorker), {
              concurrency: "unbounded",
              discard: true
            })
      return Effect.map(pool, collector.done)
    })
  )

const noop = (): void => {}

const byIndex = (a: { readonly index: number }, b: { readonly index: number }): number => a.index - b.index

/** `f` with its options applied, and a synchronous throw turned into a defect of that item. */
const prepare = <I, A, E, R>(
  f: (item: I, index: number) => Effect.Effect<A, E, R>,
  options: Options<I, E> | undefined
): ((item: I, index: number) => Effect.Effect<A, E | ItemTimeout, R>) => {
  const call = (item: I, index: number): Effect.Effect<A, E, R> => {
    try {
      return f(item, index)
    } catch (defect) {
      return Effect.die(defect)
    }
  }
  const timeout = options?.timeout === undefined ? undefined : Duration.decode(options.timeout)
  const retry = options?.retry
  if (timeout === undefined && retry === undefined) return call
  return (item, index) => {
    // Suspended so that each retried attempt calls `f` again.
    const once = Effect.suspend(() => call(item, index))
    const timed: Effect.Effect<A, E | ItemTimeout, R> =
      timeout === undefined
        ? once
        : Effect.timeoutFail(once, {
            duration: timeout,
            onTimeout: () => new ItemTimeout({ index, after: timeout })
          })
    return retry === undefined ? timed : Effect.retry(timed, retry)
  }
}

const makeReporter = <I, E>(
  input: ReadonlyArray<I>,
  onEvent: (event: ProgressEvent<I, E>) => Effect.Effect<void>
) => {
  const counts = { total: input.length, running: 0, succeeded: 0, failed: 0 }
  const snapshot = (): Counts => ({ ...counts })
  return {
    started: (index: number) =>
      Effect.suspend(() => {
        counts.running++
        return onEvent({ _tag: "Started", index, item: input[index]!, counts: snapshot() })
      }),
    succeeded: (index: number) =>
      Effect.suspend(() => {
        counts.running--
        counts.succeeded++
        return onEvent({ _tag: "Succeeded", index, item: input[index]!, counts: snapshot() })
      }),
    failed: (index: number, cause: Outcome.ItemCause<E>) =>
      Effect.suspend(() => {
        counts.running--
        counts.failed++
        return onEvent({ _tag: "Failed", index, item: input[index]!, cause, counts: snapshot() })
      })
  }
}
