/**
 * The result of a bulk operation: every item either succeeded or failed, and each result names
 * its item and its index in the input. Nothing is dropped:
 * `successes.length + failures.length === items.length`, both in input order.
 *
 * @since 0.1.0
 */
import { Array as Arr, Cause, Exit, Option } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface Success<I, A> {
  readonly index: number
  readonly item: I
  readonly value: A
}

/**
 * Why one item failed: its typed error (`Fail`), or a defect such as a thrown exception (`Die`),
 * which is captured here instead of crashing the batch.
 *
 * @since 0.1.0
 * @category models
 */
export type ItemCause<E> =
  | { readonly _tag: "Fail"; readonly error: E }
  | { readonly _tag: "Die"; readonly defect: unknown }

/**
 * @since 0.1.0
 * @category models
 */
export interface Failure<I, E> {
  readonly index: number
  readonly item: I
  readonly cause: ItemCause<E>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Outcome<I, A, E> {
  readonly successes: ReadonlyArray<Success<I, A>>
  readonly failures: ReadonlyArray<Failure<I, E>>
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const empty: Outcome<never, never, never> = { successes: [], failures: [] }

/**
 * Splits per-item exits (one per input item, in input order) into an `Outcome`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromExits = <I, A, E>(
  items: ReadonlyArray<I>,
  exits: ReadonlyArray<Exit.Exit<A, E>>
): Outcome<I, A, E> => {
  const successes: Array<Success<I, A>> = []
  const failures: Array<Failure<I, E>> = []
  for (let index = 0; index < exits.length; index++) {
    const exit = exits[index]!
    const item = items[index]!
    if (Exit.isSuccess(exit)) successes.push({ index, item, value: exit.value })
    else failures.push({ index, item, cause: itemCause(exit.cause) })
  }
  return { successes, failures }
}

/**
 * The typed error when there is one; otherwise the defect (an item that interrupted itself counts
 * as a defect too, since nothing outside asked it to stop).
 *
 * @since 0.1.0
 * @category constructors
 */
export const itemCause = <E>(cause: Cause.Cause<E>): ItemCause<E> =>
  Option.match(Cause.failureOption(cause), {
    onSome: (error) => ({ _tag: "Fail", error }),
    onNone: () => ({ _tag: "Die", defect: Cause.squash(cause) })
  })

/**
 * @since 0.1.0
 * @category getters
 */
export const isComplete = <I, A, E>(outcome: Outcome<I, A, E>): boolean => outcome.failures.length === 0

/**
 * @since 0.1.0
 * @category getters
 */
export const values = <I, A, E>(outcome: Outcome<I, A, E>): Array<A> =>
  Arr.map(outcome.successes, (success) => success.value)

/**
 * The typed errors of the failures, leaving defects out.
 *
 * @since 0.1.0
 * @category getters
 */
export const errors = <I, A, E>(outcome: Outcome<I, A, E>): Array<E> =>
  Arr.filterMap(outcome.failures, (failure) =>
    failure.cause._tag === "Fail" ? Option.some(failure.cause.error) : Option.none()
  )

/**
 * @since 0.1.0
 * @category combinators
 */
export const map = <I, A, E, B>(
  outcome: Outcome<I, A, E>,
  f: (value: A, item: I) => B
): Outcome<I, B, E> => ({
  successes: Arr.map(outcome.successes, (success) => ({ ...success, value: f(success.value, success.item) })),
  failures: outcome.failures
})
