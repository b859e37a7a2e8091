/**
 * The local engine's networks: bookkeeping only, every process shares the host's loopback.
 *
 * @internal
 */
import { type ContainerEngine, ContainerEngineError, EngineRules, type NetworkInfo } from "@armada/engine"
import { Effect } from "effect"
import { type Network, randomId, type State, stateOf } from "./state.js"

/** @internal */
export const make = (
  state: State
): Pick<ContainerEngine.Service, "ensureNetwork" | "listNetworks" | "removeNetwork"> => ({
  ensureNetwork: ({ name, labels }) =>
    Effect.sync(() => {
      const existing = state.networks.get(name)
      if (existing !== undefined) return existing
      const network: Network = { id: randomId(), name, labels }
      state.networks.set(name, network)
      return network
    }),
  listNetworks: (labels) =>
    Effect.sync(() =>
      [...state.networks.values()]
        .filter((network) => EngineRules.matchesLabels(network.labels, labels))
        .map((network): NetworkInfo => ({ ...network }))
    ),
  removeNetwork: (name) =>
    Effect.gen(function* () {
      if (!state.networks.has(name)) return yield* new ContainerEngineError.NetworkNotFound({ network: name })
      yield* EngineRules.networkUnused(
        state.containers.values(),
        name,
        (container) => stateOf(container) === "running"
      )
      state.networks.delete(name)
    })
})
