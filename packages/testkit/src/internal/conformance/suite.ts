/**
 * What every group of the conformance suite shares: the run's names and labels, the fixture, the
 * resources a test acquires (removed when its scope closes), and how a test is registered.
 *
 * @internal
 */
import { randomBytes } from "node:crypto"
import type { ImageRef } from "@armada/core"
import { ContainerEngine, type ContainerSpec } from "@armada/engine"
import { Effect, Schedule, type Scope } from "effect"
import type { Feature, Options } from "../../Conformance.js"
import * as Fixture from "../../ConformanceFixture.js"

/**
 * Registers `body` as a test, or as a named skipped test when a feature it needs is unsupported.
 *
 * @internal
 */
export type Test = (
  title: string,
  needs: ReadonlyArray<Feature>,
  body: () => Effect.Effect<void, unknown, ContainerEngine | Scope.Scope>
) => void

/** @internal */
export interface Suite {
  readonly runId: string
  /** Every resource of the run carries these. */
  readonly labels: Readonly<Record<string, string>>
  /** The label that selects this run's resources alone. */
  readonly runLabel: Readonly<Record<string, string>>
  readonly nameOf: (what: string) => string
  readonly image: ImageRef.ImageRef
  readonly imageLabels: Readonly<Record<string, string>>
  readonly port: number
  readonly spec: (what: string, extra?: Partial<ContainerSpec>) => ContainerSpec
  /** A container removed when the test's scope closes (if the test did not remove it); its id. */
  readonly container: (spec: ContainerSpec) => Effect.Effect<string, unknown, ContainerEngine | Scope.Scope>
  /** A volume removed when the test's scope closes; its name. */
  readonly volume: (what: string) => Effect.Effect<string, unknown, ContainerEngine | Scope.Scope>
  /** A network removed when the test's scope closes. */
  readonly network: (
    what: string
  ) => Effect.Effect<{ readonly id: string; readonly name: string }, unknown, ContainerEngine | Scope.Scope>
  readonly test: Test
}

/**
 * The error `effect` fails with (a success fails the test).
 *
 * @internal
 */
export const failureOf = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<E, A, R> =>
  Effect.flip(effect)

/**
 * Retries `effect` until it succeeds, for at most ~10 s: for what the engine does on its own time
 * (a process that starts listening, log lines that arrive).
 *
 * @internal
 */
export const eventually = <A, X, R>(effect: Effect.Effect<A, X, R>): Effect.Effect<A, X, R> =>
  Effect.retry(effect, Schedule.intersect(Schedule.spaced("100 millis"), Schedule.recurs(100)))

/**
 * Waits until the logs of the container `name` hold `text`.
 *
 * @internal
 */
export const logsContain = (name: string, text: string): Effect.Effect<string, unknown, ContainerEngine> =>
  eventually(
    Effect.flatMap(ContainerEngine, (engine) => engine.logs(name, { tail: 50 })).pipe(
      Effect.filterOrFail(
        (logs) => logs.includes(text),
        (logs) => new Error(`logs of ${name} lack ${JSON.stringify(text)}: ${JSON.stringify(logs)}`)
      )
    )
  )

/** @internal */
export const make = <E>(options: Options<E>, test: Test): Suite => {
  const runId = randomBytes(4).toString("hex")
  const labels = { "armada.managed": "true", "armada.test": "conformance", "armada.test.run": runId }
  const nameOf = (what: string) => `armada-conf-${runId}-${what}`
  const image = options.fixtureImage ?? Fixture.fixtureImage
  const port = Fixture.fixturePort
  return {
    runId,
    labels,
    runLabel: { "armada.test.run": runId },
    nameOf,
    image,
    imageLabels: options.fixtureImageLabels ?? Fixture.fixtureImageLabels,
    port,
    spec: (what, extra = {}) => ({
      name: nameOf(what),
      image,
      labels,
      env: { ARMADA_LISTEN_PORT: String(port) },
      ...extra
    }),
    container: (spec) =>
      Effect.acquireRelease(
        Effect.flatMap(ContainerEngine, (engine) => engine.createContainer(spec)),
        () =>
          Effect.flatMap(ContainerEngine, (engine) => engine.removeContainer(spec.name)).pipe(
            Effect.catchTag("ContainerNotFound", () => Effect.void),
            Effect.orDie
          )
      ),
    volume: (what) =>
      Effect.acquireRelease(
        Effect.flatMap(ContainerEngine, (engine) =>
          Effect.as(engine.createVolume({ name: nameOf(what), labels }), nameOf(what))
        ),
        () =>
          Effect.flatMap(ContainerEngine, (engine) => engine.removeVolume(nameOf(what))).pipe(
            Effect.catchTag("VolumeNotFound", () => Effect.void),
            Effect.orDie
          )
      ),
    network: (what) =>
      Effect.acquireRelease(
        Effect.flatMap(ContainerEngine, (engine) => engine.ensureNetwork({ name: nameOf(what), labels })),
        () =>
          Effect.flatMap(ContainerEngine, (engine) => engine.removeNetwork(nameOf(what))).pipe(
            Effect.catchTag("NetworkNotFound", () => Effect.void),
            Effect.orDie
          )
      ),
    test
  }
}
