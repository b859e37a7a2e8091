/**
 * The live engine's networks: ensure (one per name, even when several processes ensure it at
 * once), list and remove.
 *
 * @internal
 */
import type { ContainerEngine, ContainerEngineError, NetworkInfo } from "@armada/engine"
import type Docker from "dockerode"
import { Effect, Option } from "effect"
import { type Client, labelFilters, withSignal } from "./client.js"
import { isAmbiguousName, networkNotFound } from "./error.js"
import * as NetworkIds from "./networkIds.js"

/**
 * Network modes Docker reads as modes, not as the names of networks.
 *
 * @internal
 */
export const networkModes: ReadonlySet<string> = new Set(["bridge", "default", "none"])

const networkInfo = (network: Docker.NetworkInspectInfo): NetworkInfo => ({
  id: network.Id,
  name: network.Name,
  labels: network.Labels ?? {}
})

/**
 * Docker's RFC 3339 times drop the trailing zeros of their nanoseconds (`.1Z` is later than
 * `.10001Z` as a string); padded, they compare as strings in time order.
 */
const sortableTime = (time: string): string =>
  time.replace(
    /(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/,
    (_, fraction: string | undefined, zone: string) => `.${(fraction ?? "").padEnd(9, "0")}${zone}`
  )

/**
 * The networks called exactly `name`, oldest first: the one every process keeps. Listed, not
 * inspected: while two processes' concurrent ensures have made two, Docker refuses the name as
 * ambiguous.
 *
 * @internal
 */
export const networksNamed = (
  { context, docker, request }: Client,
  name: string
): Effect.Effect<Array<Docker.NetworkInspectInfo>, ContainerEngineError.ContainerEngineError> =>
  request(context("listNetworks", "network", name), (signal) =>
    docker.listNetworks(withSignal({ filters: JSON.stringify({ name: [name] }) }, signal))
  ).pipe(
    Effect.map((all) =>
      all
        .filter((network) => network.Name === name)
        .sort((a, b) => {
          const [x, y] = [sortableTime(a.Created), sortableTime(b.Created)]
          return x === y ? (a.Id < b.Id ? -1 : 1) : x < y ? -1 : 1
        })
    )
  )

/** @internal */
export const make = (
  client: Client
): Effect.Effect<{
  readonly service: Pick<ContainerEngine.Service, "ensureNetwork" | "listNetworks" | "removeNetwork">
  readonly ids: NetworkIds.NetworkIds
}> =>
  Effect.gen(function* () {
    const { context, docker, request } = client
    const networkLock = yield* Effect.makeSemaphore(1)
    const ids = NetworkIds.make((name) =>
      Effect.map(networksNamed(client, name), ([keeper]) =>
        Option.map(Option.fromNullable(keeper), (k) => k.Id)
      )
    )
    const kept = (keeper: Docker.NetworkInspectInfo) =>
      Effect.as(ids.remember(keeper.Name, keeper.Id), networkInfo(keeper))
    const service: Pick<ContainerEngine.Service, "ensureNetwork" | "listNetworks" | "removeNetwork"> = {
      ensureNetwork: ({ name, labels }) =>
        // One ensure at a time in this process; create-then-inspect-on-409 and the de-duplication
        // below cover other processes, since Docker's own duplicate check is best effort.
        networkLock.withPermits(1)(
          Effect.gen(function* () {
            const [existing] = yield* networksNamed(client, name)
            if (existing !== undefined) return yield* kept(existing)
            const ctx = context("ensureNetwork", "network", name, { conflict: "NameConflict" })
            const created = yield* request(ctx, (signal) =>
              docker.createNetwork(
                withSignal(
                  { Name: name, Driver: "bridge", CheckDuplicate: true, Labels: { ...labels } },
                  signal
                )
              )
            ).pipe(
              Effect.map((network) => Option.some(network.id)),
              Effect.catchTag("NameConflict", () => Effect.succeed(Option.none<string>()))
            )
            const [keeper] = yield* networksNamed(client, name)
            // Created, then removed at once by another process's cleanup.
            if (keeper === undefined) return yield* networkNotFound(name)
            if (Option.isSome(created) && created.value !== keeper.Id) {
              yield* request(context("removeNetwork", "network", created.value), (signal) =>
                docker.getNetwork(created.value).remove(withSignal({}, signal))
              ).pipe(Effect.ignore)
            }
            return yield* kept(keeper)
          })
        ),
      listNetworks: (labels) =>
        Effect.gen(function* () {
          const listed = yield* request(context("listNetworks", "network", "*"), (signal) =>
            docker.listNetworks(withSignal({ filters: labelFilters(labels) }, signal))
          )
          return listed.map((network) => ({
            id: network.Id,
            name: network.Name,
            labels: network.Labels ?? {}
          }))
        }),
      removeNetwork: (name) =>
        Effect.gen(function* () {
          ids.forget(name)
          const removeRef = (ref: string) =>
            request(context("removeNetwork", "network", name), (signal) =>
              docker.getNetwork(ref).remove(withSignal({}, signal))
            )
          yield* removeRef(name).pipe(
            // Two networks of that name (concurrent ensures of two processes): remove each, by id.
            Effect.catchIf(isAmbiguousName, () =>
              Effect.flatMap(networksNamed(client, name), (found) =>
                Effect.forEach(found, (network) => removeRef(network.Id), { discard: true })
              )
            )
          )
        })
    }
    return { service, ids }
  })
