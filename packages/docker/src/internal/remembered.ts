/**
 * What a live engine found out about a name (the id of a network, that a volume exists),
 * remembered for a short while: a run creates tens of containers within seconds, each naming the
 * same network and volumes, and looking them up again for each create is a request per create
 * (~1 ms of armada's CPU under load).
 *
 * @internal
 */
import { Clock, Effect, Option } from "effect"

/**
 * How long a finding is used without looking again. Whatever a name stands for can change
 * meanwhile by another process's hand, as it always could between a lookup and the request that
 * relies on it; each use says what that costs.
 */
export const rememberMillis = 10_000

/** @internal */
export interface Remembered<A> {
  /** What was found for `name` within the last `rememberMillis`, if anything. */
  readonly recall: (name: string) => Effect.Effect<Option.Option<A>>
  /** `name` stands for `value` as of now. */
  readonly remember: (name: string, value: A) => Effect.Effect<void>
  /** This engine is removing what `name` stands for. */
  readonly forget: (name: string) => void
}

/** @internal */
export const make = <A>(): Remembered<A> => {
  const known = new Map<string, { readonly value: A; readonly at: number }>()
  return {
    recall: (name) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const entry = known.get(name)
        return entry !== undefined && now - entry.at < rememberMillis
          ? Option.some(entry.value)
          : Option.none()
      }),
    remember: (name, value) =>
      Effect.map(Clock.currentTimeMillis, (at) => {
        known.set(name, { value, at })
      }),
    forget: (name) => {
      known.delete(name)
    }
  }
}
