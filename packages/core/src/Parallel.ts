/**
 * Bounded parallel execution: run an effect on every item with at most `concurrency` in flight,
 * wait for all of them, and hand back every failure together with its item. Every bulk operation
 * of armada (pulls, container starts, HTTP calls, removals) goes through this module.
 *
 * @since 0.1.0
 */

import { availableParallelism } from "node:os"
import { Data, Duration, Effect, Exit, type Schedule } from "effect"
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
 * What happened to one item, with the running totals, for a progress display.
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
  /** Each attempt of an item fails with `ItemTimeout` after this long. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Retries a failed item (its typed error, or `ItemTimeout`) on this schedule. */
  readonly retry?: Schedule.Schedule<unknown, E | ItemTimeout> | undefined
  /** Called as each item starts, succeeds or fails; the batch waits for it. */
  readonly onEvent?: ((event: ProgressEvent<I, E | ItemTimeout>) => Effect.Effect<void>) | undefined
}

/**
 * The typed failure of an item that ran longer than `options.timeout`.
 *
 * @since 0.1.0
 * @category errors
 */
export class ItemTimeout extends Data.TaggedError("ItemTimeout")<{
  readonly index: number
  readonly after: Duration.Duration
}> {
  override get message(): string {
    return `item ${this.index} did not finish within ${Duration.format(this.after)}`
  }
}

/**
 * The error type of an item under `options`: `ItemTimeout` joins it only when a timeout is set.
 *
 * @since 0.1.0
 * @category models
 */
export type ItemError<E, O> = O extends { readonly timeout: Duration.DurationInput } ? E | ItemTimeout : E

/**
 * Validates a concurrency setting: a positive integer, or `"cpus"`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolveConcurrency = (
  concurrency: Concurrency | undefined
): Effect.Effect<number, InputError> => {
  if (concurrency === undefined || concurrency === "cpus") return Effect.succeed(availableParallelism())
  if (typeof concurrency === "number" && Number.isSafeInteger(concurrency) && concurrency >= 1) {
    return Effect.succeed(concurrency)
  }
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
 * an `Outcome` with every success and every failure (typed errors and defects alike), each tagged
 * with its item and index, in input order. Zero items return at once; one item runs without
 * waiting on the limit. Interrupting the batch interrupts the running items (their finalizers
 * run) and starts no new one.
 *
 * @since 0.1.0
 * @category combinators
 */
export const forEachCollect = <I, A, E, R, const O extends Options<I, E> = {}>(
  items: Iterable<I>,
  f: (item: I, index: number) => Effect.Effect<A, E, R>,
  options?: O
): Effect.Effect<Outcome.Outcome<I, A, ItemError<E, O>>, InputError, R> =>
  Effect.flatMap(resolveConcurrency(options?.concurrency), (concurrency) =>
    Effect.suspend(() => {
      const input = Array.from(items)
      const exits = new Array<Exit.Exit<A, ItemError<E, O>>>(input.length)
      const attempt = prepare(f, options) as (item: I, index: number) => Effect.Effect<A, ItemError<E, O>, R>
      const reporter = makeReporter(input, options?.onEvent)
      return pool(input.length, concurrency, (index) => {
        const item = input[index]!
        const run = Effect.exit(attempt(item, index))
        if (reporter === undefined) {
          return Effect.map(run, (exit) => {
            exits[index] = exit
          })
        }
        return Effect.zipRight(
          reporter.started(index),
          Effect.flatMap(run, (exit) => {
            exits[index] = exit
            return reporter.finished(index, exit)
          })
        )
      }).pipe(Effect.map(() => Outcome.fromExits(input, exits)))
    })
  )

/**
 * Like `forEachCollect`, but stops at the first failure: the other running items are
 * interrupted, no new one starts, and the failure names its item. On success the values come
 * back in input order.
 *
 * @since 0.1.0
 * @category combinators
 */
export const forEachFailFast = <I, A, E, R, const O extends Options<I, E> = {}>(
  items: Iterable<I>,
  f: (item: I, index: number) => Effect.Effect<A, E, R>,
  options?: O
): Effect.Effect<Array<A>, Outcome.Failure<I, ItemError<E, O>> | InputError, R> =>
  Effect.flatMap(resolveConcurrency(options?.concurrency), (concurrency) =>
    Effect.suspend(() => {
      const input = Array.from(items)
      const values = new Array<A>(input.length)
      const attempt = prepare(f, options) as (item: I, index: number) => Effect.Effect<A, ItemError<E, O>, R>
      const reporter = makeReporter(input, options?.onEvent)
      return pool(input.length, concurrency, (index) => {
        const item = input[index]!
        const run = Effect.flatMap(Effect.exit(attempt(item, index)), (exit) => {
          const report = reporter === undefined ? Effect.void : reporter.finished(index, exit)
          if (Exit.isFailure(exit)) {
            return Effect.zipRight(report, Effect.fail({ index, item, cause: Outcome.itemCause(exit.cause) }))
          }
          values[index] = exit.value
          return report
        })
        return reporter === undefined ? run : Effect.zipRight(reporter.started(index), run)
      }).pipe(Effect.as(values))
    })
  )

/**
 * `concurrency` workers take the next index until none is left. One fiber per worker rather than
 * per item keeps the per-item cost to a single `Effect.exit`; a single worker runs in the
 * caller's fiber.
 */
const pool = <X, R>(
  total: number,
  concurrency: number,
  runIndex: (index: number) => Effect.Effect<void, X, R>
): Effect.Effect<void, X, R> => {
  if (total === 0) return Effect.void
  let next = 0
  const worker = Effect.whileLoop({
    while: () => next < total,
    body: () => runIndex(next++),
    step: () => {}
  })
  const workers = Math.min(concurrency, total)
  if (workers === 1) return worker
  return Effect.all(
    Array.from({ length: workers }, () => worker),
    { concurrency: "unbounded", discard: true }
  )
}

const prepare = <I, A, E, R>(
  f: (item: I, index: number) => Effect.Effect<A, E, R>,
  options: Options<I, E> | undefined
): ((item: I, index: number) => Effect.Effect<A, E | ItemTimeout, R>) => {
  const timeout = options?.timeout === undefined ? undefined : Duration.decode(options.timeout)
  const retry = options?.retry
  if (timeout === undefined && retry === undefined) return f
  return (item, index) => {
    const once: Effect.Effect<A, E | ItemTimeout, R> =
      timeout === undefined
        ? f(item, index)
        : Effect.timeoutFail(f(item, index), {
            duration: timeout,
            onTimeout: () => new ItemTimeout({ index, after: timeout })
          })
    return retry === undefined ? once : Effect.retry(once, retry)
  }
}

const makeReporter = <I, E>(
  input: ReadonlyArray<I>,
  onEvent: ((event: ProgressEvent<I, E>) => Effect.Effect<void>) | undefined
) => {
  if (onEvent === undefined) return undefined
  const counts = { total: input.length, running: 0, succeeded: 0, failed: 0 }
  return {
    started: (index: number) =>
      Effect.suspend(() => {
        counts.running++
        return onEvent({ _tag: "Started", index, item: input[index]!, counts: { ...counts } })
      }),
    finished: <A>(index: number, exit: Exit.Exit<A, E>) =>
      Effect.suspend(() => {
        counts.running--
        if (Exit.isSuccess(exit)) {
          counts.succeeded++
          return onEvent({ _tag: "Succeeded", index, item: input[index]!, counts: { ...counts } })
        }
        counts.failed++
        return onEvent({
          _tag: "Failed",
          index,
          item: input[index]!,
          cause: Outcome.itemCause(exit.cause),
          counts: { ...counts }
        })
      })
  }
}
