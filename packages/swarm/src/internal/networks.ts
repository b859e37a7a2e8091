/**
 * Networks on a swarm: overlay networks made by the manager (services can only join swarm-scoped
 * ones), attachable, labelled; one per name even when several processes ensure it at once; gone
 * from every list when their removal returns.
 *
 * @internal
 */
import { type ContainerEngine, ContainerEngineError, type NetworkInfo } from "@armada/engine"
import { Duration, Effect, Option } from "effect"
import type { Manager } from "./manager.js"
import { poll } from "./poll.js"

interface SwarmNetwork {
  readonly Id: string
  readonly Name: string
  readonly Created?: string
  readonly Scope?: string
  readonly Labels?: Record<string, string> | null
}

/** @internal */
export interface Networks
  extends Pick<ContainerEngine.Service, "ensureNetwork" | "listNetworks" | "removeNetwork"> {
  /** The id of the swarm network `name`; `NetworkNotFound` when there is none. */
  readonly idOf: (name: string) => Effect.Effect<string, ContainerEngineError.ContainerEngineError>
  /** The name of the network `id` (remembered: a network's name never changes). */
  readonly nameOf: (id: string) => Effect.Effect<string, ContainerEngineError.ContainerEngineError>
}

const info = (network: SwarmNetwork): NetworkInfo => ({
  id: network.Id,
  name: network.Name,
  labels: network.Labels ?? {}
})

/** @internal */
export const make = (manager: Manager): Effect.Effect<Networks> =>
  Effect.gen(function* () {
    const { context, dial } = manager
    const lock = yield* Effect.makeSemaphore(1)
    const names = new Map<string, string>()

    const list = (operation: string, filters: Record<string, ReadonlyArray<string>>) =>
      Effect.map(
        dial<ReadonlyArray<SwarmNetwork>>(context(operation, "network", "*"), {
          method: "GET",
          path: "/networks",
          query: { filters: JSON.stringify({ ...filters, scope: ["swarm"] }) }
        }),
        // Oldest first: the one every process keeps when two were made at once.
        (found) =>
          [...found].sort(
            (a, b) => (a.Created ?? "").localeCompare(b.Created ?? "") || a.Id.localeCompare(b.Id)
          )
      )

    const named = (name: string) =>
      Effect.map(list("listNetworks", { name: [name] }), (found) =>
        found.filter((network) => network.Name === name)
      )

    const idOf = (name: string) =>
      Effect.flatMap(named(name), ([keeper]) =>
        keeper === undefined
          ? Effect.fail(new ContainerEngineError.NetworkNotFound({ network: name }))
          : Effect.succeed(keeper.Id)
      )

    return {
      idOf,
      nameOf: (id) =>
        Effect.suspend(() => {
          const known = names.get(id)
          if (known !== undefined) return Effect.succeed(known)
          return Effect.map(
            dial<SwarmNetwork>(context("inspectNetwork", "network", id), {
              method: "GET",
              path: `/networks/${id}`
            }),
            (network) => {
              names.set(id, network.Name)
              return network.Name
            }
          )
        }),
      ensureNetwork: ({ name, labels }) =>
        lock.withPermits(1)(
          Effect.gen(function* () {
            const [existing] = yield* named(name)
            if (existing !== undefined) return info(existing)
            const created = yield* dial<{ readonly Id: string }>(context("ensureNetwork", "network", name), {
              method: "POST",
              path: "/networks/create",
              body: {
                Name: name,
                Driver: "overlay",
                Attachable: true,
                CheckDuplicate: true,
                Labels: { ...labels }
              }
            }).pipe(
              Effect.map((network) => Option.some(network.Id)),
              Effect.catchTag("NameConflict", () => Effect.succeed(Option.none<string>()))
            )
            const [keeper] = yield* named(name)
            if (keeper === undefined)
              return yield* new ContainerEngineError.NetworkNotFound({ network: name })
            if (Option.isSome(created) && created.value !== keeper.Id) {
              yield* dial(context("removeNetwork", "network", name), {
                method: "DELETE",
                path: `/networks/${created.value}`
              }).pipe(Effect.ignore)
            }
            return info(keeper)
          })
        ),
      listNetworks: (labels) =>
        Effect.map(
          list("listNetworks", {
            label: Object.entries(labels ?? {}).map(([key, value]) => `${key}=${value}`)
          }),
          (found) => found.map(info)
        ),
      removeNetwork: (name) =>
        Effect.gen(function* () {
          const found = yield* named(name)
          if (found.length === 0) return yield* new ContainerEngineError.NetworkNotFound({ network: name })
          yield* Effect.forEach(
            found,
            (network) =>
              dial(context("removeNetwork", "network", name), {
                method: "DELETE",
                path: `/networks/${network.Id}`
              }),
            { discard: true }
          )
          // The manager answers before its allocator has let go of the network, and lists it
          // until then: a removal is done, as on Docker, once nobody sees the network any more.
          const removed = new Set(found.map((network) => network.Id))
          yield* poll(
            Effect.map(named(name), (left) =>
              left.some((network) => removed.has(network.Id)) ? Option.none() : Option.some(undefined)
            ),
            manager.timeout,
            () =>
              new ContainerEngineError.EngineError({
                operation: "removeNetwork",
                resource: name,
                detail: `the manager still listed it ${Duration.format(manager.timeout)} after removing it`
              })
          )
        })
    }
  })
