/** @internal */
import type { InputError } from "@armada/core"
import { type Names, type Outcome, Parallel } from "@armada/core"
import { Array as Arr, Duration, Effect, Cause as EffectCause, Exit, Option, Predicate } from "effect"
import {
  type Cause,
  Defect,
  ItemFailure,
  type ItemKind,
  type Stage,
  StageFailed
} from "../OrchestratorError.js"
import * as Progress from "../Progress.js"

/**
 * Runs one stage: reports `StageStarted`/`StageDone`, opens a span, and measures it.
 *
 * @internal
 */
export const run = <A, E, R>(
  session: Names.Id,
  stage: Stage,
  items: number,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<{ readonly value: A; readonly durationMillis: number }, E, R> =>
  Effect.gen(function* () {
    yield* Progress.emit(Progress.StageStarted.make({ session, stage, items }))
    const [duration, exit] = yield* Effect.timed(Effect.exit(effect))
    const durationMillis = Duration.toMillis(duration)
    yield* Progress.emit(
      Progress.StageDone.make({ session, stage, ok: Exit.isSuccess(exit), durationMillis })
    )
    const value = yield* exit
    return { value, durationMillis }
  }).pipe(Effect.withSpan(`armada.${stage}`, { attributes: { session, items } }))

/**
 * The typed cause of an `Outcome` failure; a defect becomes a `Defect` so it keeps its place.
 *
 * @internal
 */
export const causeOf = (cause: Outcome.ItemCause<Cause>): Cause =>
  cause._tag === "Fail" ? cause.error : new Defect({ defect: cause.defect })

/**
 * What a failing item is, for the error that names it.
 *
 * @internal
 */
export interface Item {
  readonly kind: ItemKind
  readonly id: string
  readonly image?: string | undefined
}

/**
 * @internal
 */
export const failure = (stage: Stage, item: Item, cause: Cause): ItemFailure =>
  new ItemFailure({
    stage,
    kind: item.kind,
    id: item.id,
    ...(item.image === undefined ? {} : { image: item.image }),
    cause
  })

/**
 * An effect's typed failure as a list of one `ItemFailure`; success as an empty list.
 *
 * @internal
 */
export const failuresOf =
  (stage: Stage, item: Item) =>
  <A, E extends Cause, R>(
    self: Effect.Effect<A, E, R>
  ): Effect.Effect<ReadonlyArray<ItemFailure>, never, R> =>
    Effect.match(self, {
      onFailure: (error) => [failure(stage, item, error)],
      onSuccess: () => []
    })

/**
 * Fails with one `StageFailed` carrying every failure, when there is any.
 *
 * @internal
 */
export const check = (
  session: Names.Id,
  stage: Stage,
  failures: ReadonlyArray<ItemFailure>,
  skipped: ReadonlyArray<string> = []
): Effect.Effect<void, StageFailed> =>
  Arr.isNonEmptyReadonlyArray(failures) ? fail(session, stage, failures, skipped) : Effect.void

/**
 * @internal
 */
export const fail = (
  session: Names.Id,
  stage: Stage,
  failures: Arr.NonEmptyReadonlyArray<ItemFailure>,
  skipped: ReadonlyArray<string> = []
): Effect.Effect<never, StageFailed> => Effect.fail(new StageFailed({ session, stage, failures, skipped }))

/**
 * Runs one item's work, measures it, and reports how it ended (`done` or `failed`, with the
 * time it took) before passing the result on.
 *
 * @internal
 */
export const measured = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  report: {
    readonly done: (value: A, durationMillis: number) => Effect.Effect<void>
    readonly failed: (error: E, durationMillis: number) => Effect.Effect<void>
  }
): Effect.Effect<{ readonly value: A; readonly durationMillis: number }, E, R> =>
  Effect.flatMap(Effect.timed(Effect.exit(effect)), ([duration, exit]) => {
    const durationMillis = Duration.toMillis(duration)
    return Exit.match(exit, {
      onSuccess: (value) => Effect.as(report.done(value, durationMillis), { value, durationMillis }),
      onFailure: (cause) =>
        Effect.zipRight(
          Option.match(EffectCause.failureOption(cause), {
            onNone: () => Effect.void,
            onSome: (error) => report.failed(error, durationMillis)
          }),
          Effect.failCause(cause)
        )
    })
  })

/**
 * `Parallel.forEachCollect` under a spec's concurrency, which `Spec` has already validated.
 *
 * @internal
 */
export const forEach = <I, A, E, R>(
  items: Iterable<I>,
  f: (item: I, index: number) => Effect.Effect<A, E, R>,
  concurrency: Parallel.Concurrency
): Effect.Effect<Outcome.Outcome<I, A, E>, never, R> =>
  Parallel.forEachCollect(items, f, { concurrency }).pipe(Effect.orDie)

/**
 * One item after another, in order, stopping at the first failure (which names its item).
 *
 * @internal
 */
export const sequence = <I, A, E, R>(
  items: Iterable<I>,
  f: (item: I, index: number) => Effect.Effect<A, E, R>
): Effect.Effect<Array<A>, Outcome.Failure<I, E>, R> =>
  Parallel.forEachFailFast(items, f, { concurrency: 1 }).pipe(
    // A limit of 1 is always valid: an `InputError` here would be a bug.
    Effect.catchIf(
      (error): error is InputError => Predicate.isTagged(error, "InputError"),
      (error) => Effect.die(error)
    )
  )
