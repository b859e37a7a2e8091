/**
 * Interruption at every step: the pipeline is interrupted while its k-th engine or HTTP call is in
 * flight, for every k of a whole run, and each time nothing labelled may remain on the engine.
 */
import { ContainerEngine, MemoryEngine } from "@armada/engine"
import { ProcessorClient } from "@armada/http"
import { Orchestrator } from "@armada/orchestrator"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Effect, Fiber, Layer, Stream } from "effect"
import * as harness from "./harness.js"

const template = harness.makeTemplate({ "README.md": "# t\n" })
const outputs = harness.makeOutputRoot()
afterAll(() => {
  template.remove()
  outputs.remove()
})

/**
 * Counts calls; the `stopAt`-th one signals `reached` and then waits to be interrupted (when its
 * fiber can be; otherwise it goes on, and the interruption lands as soon as it can).
 */
interface Gate {
  calls: number
  readonly stopAt: number
  readonly reached: Deferred.Deferred<string>
}

const pass =
  (gate: Gate, what: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      gate.calls++
      if (gate.calls !== gate.stopAt) return effect
      return Deferred.succeed(gate.reached, what).pipe(
        Effect.zipRight(
          Effect.checkInterruptible((interruptible) => (interruptible ? Effect.never : Effect.void))
        ),
        Effect.zipRight(effect)
      )
    })

const passStream =
  (gate: Gate, what: string) =>
  <A, E, R>(stream: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
    Stream.unwrap(pass(gate, what)(Effect.succeed(stream)))

/** The engine and the client, every call going through the gate. */
const gated = (engine: ContainerEngine.Service, client: ProcessorClient.Service, gate: Gate) => {
  const g = (what: string) => pass(gate, what)
  const gatedEngine: ContainerEngine.Service = {
    ...engine,
    imageExists: (image) => g("imageExists")(engine.imageExists(image)),
    pull: (image) => passStream(gate, "pull")(engine.pull(image)),
    createContainer: (spec) => g(`createContainer ${spec.name}`)(engine.createContainer(spec)),
    startContainer: (c) => g("startContainer")(engine.startContainer(c)),
    inspectContainer: (c) => g("inspectContainer")(engine.inspectContainer(c)),
    listContainers: (labels) => g("listContainers")(engine.listContainers(labels)),
    logs: (c, options) => g("logs")(engine.logs(c, options)),
    removeContainer: (c) => g("removeContainer")(engine.removeContainer(c)),
    createVolume: (options) => g(`createVolume ${options.name}`)(engine.createVolume(options)),
    listVolumes: (labels) => g("listVolumes")(engine.listVolumes(labels)),
    removeVolume: (v) => g("removeVolume")(engine.removeVolume(v)),
    ensureNetwork: (options) => g("ensureNetwork")(engine.ensureNetwork(options)),
    listNetworks: (labels) => g("listNetworks")(engine.listNetworks(labels)),
    removeNetwork: (n) => g("removeNetwork")(engine.removeNetwork(n)),
    putArchive: (target, path, tar) => g("putArchive")(engine.putArchive(target, path, tar)),
    getArchive: (target, path) => passStream(gate, "getArchive")(engine.getArchive(target, path))
  }
  const gatedClient: ProcessorClient.Service = {
    waitReady: (endpoint, options) => g(`waitReady ${endpoint.name}`)(client.waitReady(endpoint, options)),
    process: (endpoint, request, options) =>
      g(`process ${endpoint.name}`)(client.process(endpoint, request, options)),
    plug: (endpoint, request, options) => g(`plug ${endpoint.name}`)(client.plug(endpoint, request, options)),
    merge: (endpoint, session, request, options) =>
      g("merge")(client.merge(endpoint, session, request, options)),
    resolve: (endpoint, request, options) =>
      g(`resolve ${endpoint.name}`)(client.resolve(endpoint, request, options)),
    putFiles: (endpoint, dir, tar, options) => g("putFiles")(client.putFiles(endpoint, dir, tar, options)),
    getFiles: (endpoint, path, options) =>
      passStream(gate, "getFiles")(client.getFiles(endpoint, path, options))
  }
  return { gatedEngine, gatedClient }
}

/** A fresh memory engine whose `ContainerEngine` and `ProcessorClient` pass through `gate`. */
const layer = (gate: Gate) =>
  Layer.effectContext(
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const client = yield* ProcessorClient
      const memory = yield* MemoryEngine.MemoryEngine
      const { gatedEngine, gatedClient } = gated(engine, client, gate)
      return Context.make(ContainerEngine, gatedEngine).pipe(
        Context.add(ProcessorClient, gatedClient),
        Context.add(MemoryEngine.MemoryEngine, memory)
      )
    })
  ).pipe(Layer.provide(harness.layer()))

/** The run every case interrupts: three processors and two plugins. */
const runSpec = harness.spec({
  template: template.dir,
  processors: [
    { id: "p1", image: harness.image },
    { id: "p2", image: harness.image },
    { id: "p3", image: harness.image }
  ],
  plugins: [
    { id: "q1", image: harness.image },
    { id: "q2", image: harness.image }
  ]
})

let outputCount = 0
const runOnce = (stopAt: number) =>
  Effect.gen(function* () {
    const gate: Gate = { calls: 0, stopAt, reached: yield* Deferred.make<string>() }
    return yield* Effect.gen(function* () {
      const spec = yield* runSpec
      const fiber = yield* Effect.fork(
        Orchestrator.pipeline(spec, { output: `${outputs.dir}/out-${++outputCount}` })
      )
      const at = yield* Effect.raceFirst(
        Deferred.await(gate.reached),
        Effect.as(Fiber.await(fiber), "the end of the run")
      )
      yield* Fiber.interrupt(fiber)
      return { at, left: yield* harness.leftovers }
    }).pipe(Effect.provide(layer(gate)))
  })

describe("interruption", () => {
  it.effect(
    "at every engine and HTTP call of a run leaves nothing behind",
    () =>
      Effect.gen(function* () {
        // How many calls a whole run makes (the gate never closes).
        const counting: Gate = { calls: 0, stopAt: 0, reached: yield* Deferred.make<string>() }
        yield* Effect.gen(function* () {
          const spec = yield* runSpec
          yield* Orchestrator.pipeline(spec, { output: `${outputs.dir}/counting` })
        }).pipe(Effect.provide(layer(counting)))
        const total = counting.calls
        assert.isAbove(total, 40)

        const stops: Array<string> = []
        for (let stopAt = 1; stopAt <= total; stopAt++) {
          const result = yield* runOnce(stopAt)
          stops.push(result.at)
          assert.deepStrictEqual(result.left, [], `interrupted at call ${stopAt} (${result.at})`)
        }
        // The stops covered every kind of step.
        for (const step of [
          "createVolume",
          "putArchive",
          "createContainer",
          "startContainer",
          "waitReady",
          "process",
          "merge",
          "plug",
          "getArchive",
          "removeContainer"
        ]) {
          assert.isTrue(
            stops.some((stop) => stop.startsWith(step)),
            `no stop at ${step}`
          )
        }
      }),
    // Dozens of short runs: seconds on a loaded machine.
    60_000
  )
})
