/**
 * The conformance tests of the bulk operations and of input validation, which no engine sees.
 *
 * @internal
 */
import { ImageRef } from "@armada/core"
import { Bulk, ContainerEngine, type ContainerEngineError } from "@armada/engine"
import { assert } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { failureOf, type Suite } from "./suite.js"

/** @internal */
export const register = ({ test, nameOf, spec, labels, runLabel, runId, image }: Suite): void => {
  test("bulk operations return an Outcome naming every item", [], () =>
    Effect.gen(function* () {
      const absent = ImageRef.ImageRef.make(`armada/conformance-absent-${runId}:dev`)
      const specs = [spec("bulk-0"), spec("bulk-1", { image: absent }), spec("bulk-2")]
      yield* Effect.addFinalizer(() => Effect.orDie(Bulk.removeContainers(specs.map((s) => s.name))))
      const started = yield* Bulk.createAndStartAll(specs, { concurrency: 3 })
      assert.deepStrictEqual(
        started.successes.map((success) => [success.index, success.value.name]),
        [
          [0, nameOf("bulk-0")],
          [2, nameOf("bulk-2")]
        ]
      )
      assert.strictEqual(started.failures.length, 1)
      const failure = started.failures[0]!
      assert.strictEqual(failure.index, 1)
      assert.strictEqual(failure.item.name, nameOf("bulk-1"))
      assert.strictEqual(failure.cause._tag === "Fail" ? failure.cause.error._tag : "Die", "ImageNotFound")

      const removed = yield* Bulk.removeContainers([nameOf("bulk-0"), nameOf("bulk-1"), nameOf("bulk-2")])
      assert.deepStrictEqual(
        removed.successes.map((success) => success.value),
        ["removed", "absent", "removed"]
      )
      const volumes = yield* Bulk.removeVolumes([nameOf("bulk-absent-volume")])
      assert.deepStrictEqual(
        volumes.successes.map((success) => success.value),
        ["absent"]
      )
    })
  )

  test("bad input never reaches the engine: InputError naming the field", [], () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const cases: ReadonlyArray<
        [string, Effect.Effect<unknown, ContainerEngineError.ContainerEngineError>]
      > = [
        ["spec.name", engine.createContainer(spec("x", { name: "bad name!" }))],
        ["spec.network", engine.createContainer(spec("x", { network: "host" }))],
        [
          "spec.mounts[0].target",
          engine.createContainer(spec("x", { mounts: [{ volume: "vv", target: "rel", readOnly: true }] }))
        ],
        ["name", engine.createVolume({ name: "../escape", labels })],
        ["container", engine.inspectContainer("no/slashes")],
        ["image", Stream.runDrain(engine.pull("Not A Ref!" as ImageRef.ImageRef))],
        ["path", Stream.runDrain(engine.getArchive({ _tag: "Volume", volume: "vv", image }, "/../../etc"))]
      ]
      for (const [field, attempt] of cases) {
        const error = yield* failureOf(attempt)
        assert.strictEqual(error._tag, "InputError", field)
        assert.strictEqual((error as ContainerEngineError.InputError).field, field)
      }
      const invalid = yield* failureOf(Bulk.createAndStartAll([spec("ok"), spec("x", { name: "-bad" })]))
      assert.strictEqual(invalid.field, "specs[1].name")
      assert.strictEqual(
        (yield* engine.listContainers(runLabel)).length,
        0,
        "the valid item did not start either"
      )
    })
  )
}
