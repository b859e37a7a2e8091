/**
 * One conformance suite for every `ContainerEngine` implementation (the live Docker layer,
 * `layerMemory`, the local engine), so none can drift from the others. `run` registers vitest
 * tests against the layer it is given; call it from a test file.
 *
 * Everything the suite creates carries `armada.managed=true`, `armada.test=conformance` and a
 * per-run `armada.test.run=<id>` label, is removed by the test's scope, and the last test fails if
 * anything with the run's label remains. A behaviour an implementation does not have is declared
 * in `unsupported` with the reason; its tests are then registered as skipped under a name that
 * says so, never left out silently. A single test where an engine answers differently from the
 * others (a behaviour of the engine's own, not a feature it lacks) is named in `differences` with
 * what the engine does instead, and registered as skipped the same way.
 *
 * @since 0.1.0
 */
import type { ImageRef } from "@armada/core"
import { ContainerEngine } from "@armada/engine"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import * as Archives from "./internal/conformance/archives.js"
import * as Bulk from "./internal/conformance/bulk.js"
import * as Containers from "./internal/conformance/containers.js"
import * as Images from "./internal/conformance/images.js"
import * as Resources from "./internal/conformance/resources.js"
import * as Suite from "./internal/conformance/suite.js"

/**
 * Behaviours an implementation may lack:
 * - `http`: containers run real processes, and the published port answers on 127.0.0.1;
 * - `pull`: pulling asks a registry (the suite uses `127.0.0.1:1`, which refuses at once);
 * - `networks`: networks exist and containers join them;
 * - `readOnlyMounts`: a read-only mount refuses archive writes;
 * - `resourceLimits`: memory / CPU / pids limits are applied and reported by inspect;
 * - `isolation`: containers are confined as inspect reports (not on the host network, every
 *   capability dropped but those added, `no-new-privileges`).
 *
 * @since 0.1.0
 * @category models
 */
export type Feature = "http" | "pull" | "networks" | "readOnlyMounts" | "resourceLimits" | "isolation"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options<E> {
  /** Names the suite: `ContainerEngine conformance: <name>`. */
  readonly name: string
  readonly layer: Layer.Layer<ContainerEngine, E>
  /** An image that behaves like `fixtures/server.mjs`; default `armada/conformance:dev`. */
  readonly fixtureImage?: ImageRef.ImageRef | undefined
  /** The labels `fixtureImage` carries; default `ConformanceFixture.fixtureImageLabels`. */
  readonly fixtureImageLabels?: Readonly<Record<string, string>> | undefined
  /** Features this implementation lacks, each with the reason. */
  readonly unsupported?: Partial<Record<Feature, string>> | undefined
  /**
   * Tests (by title) where this engine behaves differently from the others, each with what it does
   * instead. A title the suite does not have is an error, so a renamed test cannot hide one.
   */
  readonly differences?: Readonly<Record<string, string>> | undefined
  /** Per test, in milliseconds; default 30 000. */
  readonly timeout?: number | undefined
}

/**
 * Registers the suite.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = <E>(options: Options<E>): void => {
  const timeout = options.timeout ?? 30_000
  describe(`ContainerEngine conformance: ${options.name}`, () => {
    // Building the layer may start a daemon (Podman, a swarm) and load images into it: room for
    // a loaded machine.
    layer(options.layer, { timeout: "5 minutes", excludeTestServices: true })((it) => {
      const titles = new Set<string>()
      const test: Suite.Test = (title, needs, body) => {
        titles.add(title)
        const missing = needs.filter((feature) => options.unsupported?.[feature] !== undefined)
        const difference = options.differences?.[title]
        if (difference !== undefined) {
          it.scoped.skip(`${title} [differs on ${options.name}: ${difference}]`, () => Effect.void)
        } else if (missing.length > 0) {
          const why = missing.map((feature) => `${feature}: ${options.unsupported?.[feature]}`).join("; ")
          it.scoped.skip(`${title} [unsupported by ${options.name}: ${why}]`, () => Effect.void)
        } else it.scoped(title, body, timeout)
      }
      const suite = Suite.make(options, test)
      for (const group of [Images, Containers, Resources, Archives, Bulk]) group.register(suite)

      test("leaves nothing labelled behind", [], () =>
        Effect.gen(function* () {
          const engine = yield* ContainerEngine
          const names = <A extends { readonly name: string }>(listed: ReadonlyArray<A>) =>
            listed.map((info) => info.name)
          assert.deepStrictEqual(names(yield* engine.listContainers(suite.runLabel)), [])
          assert.deepStrictEqual(names(yield* engine.listVolumes(suite.runLabel)), [])
          assert.deepStrictEqual(names(yield* engine.listNetworks(suite.runLabel)), [])
        })
      )
      const unknown = Object.keys(options.differences ?? {}).filter((title) => !titles.has(title))
      if (unknown.length > 0) {
        throw new Error(
          `ContainerEngine conformance: ${options.name}: \`differences\` names tests the suite does not have: ${unknown.map((title) => JSON.stringify(title)).join(", ")}; use a test's exact title`
        )
      }
    })
  })
}
