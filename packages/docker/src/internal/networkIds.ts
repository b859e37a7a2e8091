/**
 * The id a network name resolves to, remembered for a short while: a run creates tens of
 * containers on its network within seconds, and each create would otherwise list the networks
 * first (a request of its own, ~1 ms of armada's CPU under load).
 *
 * @internal
 */
import type { ContainerEngineError } from "@armada/engine"
import { Clock, Effect, Option } from "effect"
import { networkNotFound } from "./error.js"

/**
 * How long a name's id is used without looking again. Docker accepts a create naming a network
 * that is gone and fails its start (`NetworkNotFound`): a network replaced by another process
 * within this long of the last lookup fails the starts of the containers created meanwhile, as a
 * network removed between a lookup and a create always could.
 */
export const rememberMillis = 10_000

/** @internal */
export interface NetworkIds {
  /** The id `name` resolves to: remembered, or looked up (and then remembered). */
  readonly resolve: (name: string) => Effect.Effect<string, ContainerEngineError.ContainerEngineError>
  /** `name` resolves to `id` as of now (this engine has just ensured it). */
  readonly remember: (name: string, id: string) => Effect.Effect<void>
  /** This engine is removing `name`. */
  readonly forget: (name: string) => void
}

/**
 * `lookup` finds the id of the network of that name that every process keeps, or none.
 *
 * @internal
 */
export const make = (
  lookup: (name: string) => Effect.Effect<Option.Option<string>, ContainerEngineError.ContainerEngineError>
): NetworkIds => {
  const known = new Map<string, { readonly id: string; readonly at: number }>()
  const remember = (name: string, id: string) =>
    Effect.map(Clock.currentTimeMillis, (at) => {
      known.set(name, { id, at })
    })
  return {
    resolve: (name) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const entry = known.get(name)
        if (entry !== undefined && now - entry.at < rememberMillis) return Effect.succeed(entry.id)
        return Effect.flatMap(lookup(name), (found) =>
          Option.match(found, {
            onNone: () => Effect.fail(networkNotFound(name)),
            onSome: (id) => Effect.as(remember(name, id), id)
          })
        )
      }),
    remember,
    forget: (name) => {
      known.delete(name)
    }
  }
}
