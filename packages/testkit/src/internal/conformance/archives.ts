import { Archive, ContainerEngine, type ContainerEngineError } from "@armada/engine"
import { assert } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { failureOf, type Suite } from "./suite.js"

/** @internal */
export const register = ({ test, nameOf, spec, container, volume, image, runLabel }: Suite): void => {
  test("archive: put into a volume, get it back under the volume's name and through a mount", [], () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const name = yield* volume("archive")
      const target = { _tag: "Volume" as const, volume: name, image }
      const tree = Archive.make({
        "a.txt": "alpha",
        "src/b.ts": "export const b = 1\n",
        "bin/run.sh": Archive.file("#!/bin/sh\n", { mode: 0o755 })
      })
      yield* engine.putArchive(target, "/", Archive.toTar(tree))
      const whole = yield* Archive.fromTar(engine.getArchive(target, "/"))
      assert.deepStrictEqual(Archive.contents(Archive.subtree(whole, name)), Archive.contents(tree))
      assert.strictEqual((whole.get(`${name}/bin/run.sh`) as Archive.File).mode & 0o777, 0o755)
      const part = yield* Archive.fromTar(engine.getArchive(target, "/src"))
      assert.deepStrictEqual(Archive.contents(part), { "src/b.ts": "export const b = 1\n" })

      yield* container(
        spec("archive-user", { mounts: [{ volume: name, target: "/workspace/area", readOnly: false }] })
      )
      const inContainer = { _tag: "Container" as const, container: nameOf("archive-user") }
      const seen = yield* Archive.fromTar(engine.getArchive(inContainer, "/workspace/area"))
      assert.deepStrictEqual(Archive.contents(Archive.subtree(seen, "area")), Archive.contents(tree))
      yield* engine.putArchive(
        inContainer,
        "/workspace/area/src",
        Archive.toTar(Archive.make({ "c.ts": "c" }))
      )
      const after = yield* Archive.fromTar(engine.getArchive(target, "/src"))
      assert.deepStrictEqual(Archive.contents(after), {
        "src/b.ts": "export const b = 1\n",
        "src/c.ts": "c"
      })
    })
  )

  test("archive: a missing path is a 404 EngineError, a missing volume VolumeNotFound", [], () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const name = yield* volume("archive-missing")
      const target = { _tag: "Volume" as const, volume: name, image }
      const missing = yield* failureOf(Stream.runDrain(engine.getArchive(target, "/no/such/dir")))
      assert.strictEqual(missing._tag, "EngineError")
      assert.strictEqual((missing as ContainerEngineError.EngineError).status, 404)
      const putMissing = yield* failureOf(
        engine.putArchive(target, "/no/such/dir", Archive.toTar(Archive.make({ "x.txt": "x" })))
      )
      assert.strictEqual(putMissing._tag, "EngineError")
      assert.strictEqual((putMissing as ContainerEngineError.EngineError).status, 404)
      const noVolume = { _tag: "Volume" as const, volume: nameOf("archive-ghost"), image }
      const ghost = yield* failureOf(Stream.runDrain(engine.getArchive(noVolume, "/")))
      assert.strictEqual(ghost._tag, "VolumeNotFound")
      assert.strictEqual((yield* engine.listVolumes(runLabel)).length, 1, "no volume was made on the way")
    })
  )

  test("archive: a read-only mount refuses writes", ["readOnlyMounts"], () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const name = yield* volume("archive-ro")
      yield* container(
        spec("archive-ro", { mounts: [{ volume: name, target: "/workspace/cyanprint", readOnly: true }] })
      )
      const inContainer = { _tag: "Container" as const, container: nameOf("archive-ro") }
      const refused = yield* failureOf(
        engine.putArchive(inContainer, "/workspace/cyanprint", Archive.toTar(Archive.make({ "x.txt": "x" })))
      )
      assert.strictEqual(refused._tag, "EngineError")
      const contents = yield* Archive.fromTar(engine.getArchive({ _tag: "Volume", volume: name, image }, "/"))
      assert.deepStrictEqual(Archive.contents(contents), {})
    })
  )
}
