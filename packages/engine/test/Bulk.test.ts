import { ImageRef, type Outcome } from "@armada/core"
import {
  Archive,
  Bulk,
  ContainerEngine,
  ContainerEngineError,
  type ContainerSpec,
  MemoryEngine
} from "@armada/engine"
import { assert, describe, it } from "@effect/vitest"
import { Effect, type Layer } from "effect"

const app = ImageRef.ImageRef.make("armada/app:1")
const other = ImageRef.ImageRef.make("armada/other:2")
const remote = ImageRef.ImageRef.make("registry.example:5000/armada/remote:3")
const labels = { "armada.managed": "true" }
const spec = (name: string, extra: Partial<ContainerSpec> = {}): ContainerSpec => ({
  name,
  image: app,
  labels,
  ...extra
})

const memory = (): Layer.Layer<ContainerEngine | MemoryEngine.MemoryEngine> =>
  MemoryEngine.layerMemory({
    images: [{ ref: app }, { ref: other }],
    catalog: [{ ref: remote, sizeBytes: 10 }]
  })

const errorTag = <I>(failure: Outcome.Failure<I, ContainerEngineError.ContainerEngineError> | undefined) =>
  failure?.cause._tag === "Fail" ? failure.cause.error._tag : failure?.cause._tag

describe("Bulk", () => {
  it.effect("createAndStartAll names every item; injected failures leave nothing behind", () =>
    Effect.gen(function* () {
      const control = yield* MemoryEngine.MemoryEngine
      const engine = yield* ContainerEngine
      const broken = new ContainerEngineError.EngineError({
        operation: "start",
        resource: "c-2",
        detail: "injected"
      })
      yield* control.fail({ operation: "startContainer", name: "c-2", error: broken })
      yield* control.fail({
        operation: "createContainer",
        name: "c-4",
        error: (name) => new ContainerEngineError.NameConflict({ kind: "container", name: name ?? "?" })
      })
      const specs = ["c-0", "c-1", "c-2", "c-3", "c-4", "c-5"].map((name) => spec(name))
      const outcome = yield* Bulk.createAndStartAll(specs, { concurrency: 3 })

      assert.strictEqual(outcome.successes.length + outcome.failures.length, specs.length)
      assert.deepStrictEqual(
        outcome.successes.map((s) => [s.index, s.value.name]),
        [
          [0, "c-0"],
          [1, "c-1"],
          [3, "c-3"],
          [5, "c-5"]
        ]
      )
      assert.deepStrictEqual(
        outcome.failures.map((f) => [f.index, f.item.name, errorTag(f)]),
        [
          [2, "c-2", "EngineError"],
          [4, "c-4", "NameConflict"]
        ]
      )
      const failure = outcome.failures[0]!
      assert.strictEqual(
        failure.cause._tag === "Fail" ? failure.cause.error.message : undefined,
        broken.message
      )
      // c-2 was created, would not start, and was removed again.
      const left = yield* engine.listContainers(labels)
      assert.deepStrictEqual(left.map((c) => c.name).sort(), ["c-0", "c-1", "c-3", "c-5"])
      assert.isTrue(left.every((c) => c.state === "running"))
    }).pipe(Effect.provide(memory()))
  )

  it.effect("pullAll skips present images without pulling, pulls the rest, names each failure", () =>
    Effect.gen(function* () {
      const control = yield* MemoryEngine.MemoryEngine
      const engine = yield* ContainerEngine
      yield* control.fail({
        operation: "imageExists",
        name: other,
        error: new ContainerEngineError.EngineUnreachable({ address: "memory://", detail: "injected" })
      })
      const missing = ImageRef.ImageRef.make("armada/missing:1")
      const events: Array<string> = []
      const outcome = yield* Bulk.pullAll([app, remote, other, missing], {
        onProgress: (progress) => Effect.sync(() => events.push(`${progress.image} ${progress.status}`))
      })
      assert.deepStrictEqual(
        outcome.successes.map((s) => [s.index, s.value]),
        [
          [0, "present"],
          [1, "pulled"]
        ]
      )
      assert.deepStrictEqual(
        outcome.failures.map((f) => [f.index, f.item, errorTag(f)]),
        [
          [2, other, "EngineUnreachable"],
          [3, missing, "PullFailed"]
        ]
      )
      assert.isTrue(yield* engine.imageExists(remote))
      assert.isTrue(events.some((event) => event.startsWith(`${remote} Downloading`)))
      const pulled = (yield* control.calls)
        .filter((call) => call.operation === "pull")
        .map((call) => call.name)
      assert.deepStrictEqual(pulled.sort(), [missing, remote].sort(), "a present image is never pulled")
    }).pipe(Effect.provide(memory()))
  )

  it.effect(
    "pullAll's policy: never pulls nothing, always pulls present images too; onPresent as each is there",
    () =>
      Effect.gen(function* () {
        const control = yield* MemoryEngine.MemoryEngine
        const pulls = Effect.map(control.calls, (calls) =>
          calls.filter((call) => call.operation === "pull").map((call) => call.name)
        )
        const never = yield* Bulk.pullAll([app, remote], { policy: "never" })
        assert.deepStrictEqual(
          never.successes.map((s) => [s.item, s.value]),
          [[app, "present"]]
        )
        const [refused] = never.failures
        assert.strictEqual(errorTag(refused), "ImageNotFound")
        assert.strictEqual(
          refused?.cause._tag === "Fail" && refused.cause.error._tag === "ImageNotFound"
            ? refused.cause.error.detail
            : undefined,
          Bulk.neverPulled
        )
        assert.deepStrictEqual(yield* pulls, [], "never asks no registry")

        const present: Array<string> = []
        const always = yield* Bulk.pullAll([app, remote], {
          policy: "always",
          onPresent: (image, result) => Effect.sync(() => present.push(`${image} ${result}`))
        })
        assert.deepStrictEqual(
          always.successes.map((s) => s.value),
          ["pulled", "pulled"]
        )
        assert.deepStrictEqual(present.sort(), [`${app} pulled`, `${remote} pulled`].sort())
        assert.deepStrictEqual((yield* pulls).sort(), [app, remote].sort())
      }).pipe(Effect.provide(memory()))
  )

  it.effect("removeContainers and removeVolumes: removed, absent, or the item's own error", () =>
    Effect.gen(function* () {
      const control = yield* MemoryEngine.MemoryEngine
      const engine = yield* ContainerEngine
      yield* engine.createVolume({ name: "v-used", labels })
      yield* engine.createVolume({ name: "v-free", labels })
      yield* Bulk.createAndStartAll([
        spec("r-0"),
        spec("r-1", { mounts: [{ volume: "v-used", target: "/data", readOnly: false }] }),
        spec("r-2")
      ])
      yield* control.fail({
        operation: "removeContainer",
        name: "r-2",
        error: new ContainerEngineError.EngineError({
          operation: "remove",
          resource: "r-2",
          status: 500,
          detail: "injected"
        }),
        times: 1
      })
      const containers = yield* Bulk.removeContainers(["r-0", "ghost", "r-2"])
      assert.deepStrictEqual(
        containers.successes.map((s) => [s.item, s.value]),
        [
          ["r-0", "removed"],
          ["ghost", "absent"]
        ]
      )
      assert.deepStrictEqual(
        containers.failures.map((f) => [f.index, f.item, errorTag(f)]),
        [[2, "r-2", "EngineError"]]
      )
      const volumes = yield* Bulk.removeVolumes(["v-used", "v-free", "v-ghost"])
      assert.deepStrictEqual(
        volumes.successes.map((s) => [s.item, s.value]),
        [
          ["v-free", "removed"],
          ["v-ghost", "absent"]
        ]
      )
      assert.deepStrictEqual(
        volumes.failures.map((f) => [f.item, errorTag(f)]),
        [["v-used", "VolumeInUse"]]
      )
      // The fault was for one attempt only: a retry goes through.
      const retried = yield* Bulk.removeContainers(["r-1", "r-2"])
      assert.strictEqual(retried.failures.length, 0)
    }).pipe(Effect.provide(memory()))
  )

  it.effect("one invalid item refuses the whole call before anything reaches the engine", () =>
    Effect.gen(function* () {
      const control = yield* MemoryEngine.MemoryEngine
      const badSpec = yield* Effect.flip(Bulk.createAndStartAll([spec("ok-1"), spec("Not Valid")]))
      assert.strictEqual(badSpec.field, "specs[1].name")
      const badMount = yield* Effect.flip(
        Bulk.createAndStartAll([spec("ok-1", { mounts: [{ volume: "vv", target: "/", readOnly: true }] })])
      )
      assert.strictEqual(badMount.field, "specs[0].mounts[0].target")
      const badImage = yield* Effect.flip(Bulk.pullAll([app, "UPPER/case!"]))
      assert.strictEqual(badImage.field, "images[1]")
      const badName = yield* Effect.flip(Bulk.removeContainers(["ok", "../up"]))
      assert.strictEqual(badName.field, "containers[1]")
      const badVolume = yield* Effect.flip(Bulk.removeVolumes(["a b"]))
      assert.strictEqual(badVolume.field, "volumes[0]")
      assert.deepStrictEqual(yield* control.calls, [])
    }).pipe(Effect.provide(memory()))
  )

  it.effect("zero items return an empty Outcome at once", () =>
    Effect.gen(function* () {
      const control = yield* MemoryEngine.MemoryEngine
      const outcome = yield* Bulk.createAndStartAll([])
      assert.deepStrictEqual(outcome, { successes: [], failures: [] })
      assert.deepStrictEqual(yield* control.calls, [])
      assert.deepStrictEqual(Archive.contents(Archive.make({})), {})
    }).pipe(Effect.provide(memory()))
  )
})
