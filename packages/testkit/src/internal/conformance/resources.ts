import { ContainerEngine, type ContainerEngineError } from "@armada/engine"
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { failureOf, type Suite } from "./suite.js"

/** @internal */
export const register = ({
  test,
  nameOf,
  spec,
  container,
  volume,
  network,
  labels,
  runLabel
}: Suite): void => {
  test("volumes: create is idempotent, listed by label, VolumeInUse while mounted, then removed", [], () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const name = yield* volume("vol")
      yield* engine.createVolume({ name, labels })
      const listed = yield* engine.listVolumes(runLabel)
      assert.deepStrictEqual(
        listed.map((info) => info.name),
        [name]
      )
      assert.deepInclude(listed[0]!.labels, labels)
      yield* container(spec("vol-user", { mounts: [{ volume: name, target: "/data", readOnly: false }] }))
      const inUse = yield* failureOf(engine.removeVolume(name))
      assert.strictEqual(inUse._tag, "VolumeInUse")
      assert.strictEqual((inUse as ContainerEngineError.VolumeInUse).volume, name)
      yield* engine.removeContainer(nameOf("vol-user"))
      yield* engine.removeVolume(name)
      const gone = yield* failureOf(engine.removeVolume(name))
      assert.strictEqual(gone._tag, "VolumeNotFound")
    })
  )

  test("networks: concurrent ensures make one network, containers join it, removal", ["networks"], () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const name = nameOf("net")
      const [first, second] = yield* Effect.all([network("net"), network("net")], { concurrency: 2 })
      assert.strictEqual(first.id, second.id)
      assert.strictEqual(first.name, name)
      const listed = yield* engine.listNetworks(runLabel)
      assert.deepStrictEqual(
        listed.map((info) => info.name),
        [name]
      )
      yield* container(spec("net-member", { network: name }))
      yield* engine.startContainer(nameOf("net-member"))
      assert.strictEqual((yield* engine.inspectContainer(nameOf("net-member"))).security.networkMode, name)
      yield* engine.removeContainer(nameOf("net-member"))
      yield* engine.removeNetwork(name)
      // Gone when the removal returns: a cleanup that checks afterwards finds nothing.
      assert.deepStrictEqual(yield* engine.listNetworks(runLabel), [])
      assert.strictEqual((yield* failureOf(engine.removeNetwork(name)))._tag, "NetworkNotFound")
    })
  )
}
