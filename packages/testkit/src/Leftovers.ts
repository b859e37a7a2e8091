/**
 * What a test left on the engine under a prefix, so it can assert that nothing remains.
 *
 * @since 0.1.0
 */
import { Names } from "@armada/core"
import { ContainerEngine } from "@armada/engine"
import { Effect } from "effect"

/**
 * Every container, volume and network carrying `<prefix>.managed=true`, as `container <name>`,
 * `volume <name>` and `network <name>`.
 *
 * @since 0.1.0
 * @category getters
 */
export const labelled = (prefix: Names.Id): Effect.Effect<Array<string>, never, ContainerEngine> =>
  Effect.gen(function* () {
    const engine = yield* ContainerEngine
    const filter = Names.labelFilter(prefix)
    const [containers, volumes, networks] = yield* Effect.all([
      engine.listContainers(filter),
      engine.listVolumes(filter),
      engine.listNetworks(filter)
    ])
    return [
      ...containers.map((c) => `container ${c.name}`),
      ...volumes.map((v) => `volume ${v.name}`),
      ...networks.map((n) => `network ${n.name}`)
    ]
  }).pipe(Effect.orDie)
