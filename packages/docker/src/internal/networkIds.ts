/**
 * The id a network name resolves to, remembered for a short while (`remembered.ts`). Docker
 * accepts a create naming a network that is gone and fails its start (`NetworkNotFound`): a
 * network replaced by another process within `rememberMillis` of the last lookup fails the starts
 * of the containers created meanwhile, as a network removed between a lookup and a create always
 * could.
 *
 * @internal
 */
import type { ContainerEngineError } from "@armada/engine"
import { Effect, Option } from "effect"
import { networkNotFound } from "./error.js"
import * as Remembered from "./remembered.js"

/** `remember` when this engine has just ensured a network, `forget` when it removes one. @internal */
export interface NetworkIds extends Pick<Remembered.Remembered<string>, "remember" | "forget"> {
  /** The id `name` resolves to: remembered, or looked up (and then remembered). */
  readonly resolve: (name: string) => Effect.Effect<string, ContainerEngineError.ContainerEngineError>
}

/**
 * `lookup` finds the id of the network of that name that every process keeps, or none.
 *
 * @internal
 */
export const make = (
  lookup: (name: string) => Effect.Effect<Option.Option<string>, ContainerEngineError.ContainerEngineError>
): NetworkIds => {
  const ids = Remembered.make<string>()
  return {
    resolve: (name) =>
      Effect.flatMap(ids.recall(name), (remembered) =>
        Option.isSome(remembered)
          ? Effect.succeed(remembered.value)
          : Effect.flatMap(lookup(name), (found) =>
              Option.match(found, {
                onNone: () => Effect.fail(networkNotFound(name)),
                onSome: (id) => Effect.as(ids.remember(name, id), id)
              })
            )
      ),
    remember: ids.remember,
    forget: ids.forget
  }
}
