/**
 * Waiting on the manager: what armada asked for (a task running, a container gone, a network
 * gone) happens a moment after the request that asked for it has been answered.
 *
 * @internal
 */
import { Duration, Effect, Option, Schedule } from "effect"

/** How often a look is repeated: 100 ms, doubling to 1 s. */
const pollEvery = Schedule.union(
  Schedule.exponential(Duration.millis(100)),
  Schedule.spaced(Duration.seconds(1))
)

const notYet = Symbol("notYet")

/**
 * Repeats `look` until it gives a value, within `within`; `onTimeout` names what never came. The
 * repeats are interruptible even where the caller is not (a removal in a scope's finalizer), or
 * the timeout could not end them: a container that never went away would be waited for forever.
 *
 * @internal
 */
export const poll = <A, E>(
  look: Effect.Effect<Option.Option<A>, E>,
  within: Duration.Duration,
  onTimeout: () => E
): Effect.Effect<A, E> =>
  Effect.flatMap(look, (found) =>
    Option.isSome(found) ? Effect.succeed(found.value) : Effect.fail(notYet)
  ).pipe(
    Effect.retry({ schedule: pollEvery, while: (error) => error === notYet }),
    Effect.interruptible,
    Effect.timeoutFail({ duration: within, onTimeout }),
    Effect.catchIf(
      (error): error is typeof notYet => error === notYet,
      () => Effect.fail(onTimeout())
    )
  )
