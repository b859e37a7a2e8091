import { ImageRef } from "@armada/core"
import { ContainerEngine, ContainerEngineError, MemoryEngine } from "@armada/engine"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import * as Podman from "../src/internal/podman.js"

describe("Podman's answers read the Docker way", () => {
  it("image names: localhost/ and docker.io/(library/) are dropped, other registries kept", () => {
    assert.strictEqual(Podman.familiarTag("localhost/armada/test-app:dev"), "armada/test-app:dev")
    assert.strictEqual(Podman.familiarTag("docker.io/library/alpine:3"), "alpine:3")
    assert.strictEqual(Podman.familiarTag("docker.io/team/app:1"), "team/app:1")
    assert.strictEqual(Podman.familiarTag("docker.io/library/team/app:1"), "library/team/app:1")
    assert.strictEqual(Podman.familiarTag("127.0.0.1:5000/app:1"), "127.0.0.1:5000/app:1")
    assert.strictEqual(Podman.familiarTag("armada/test-app:dev"), "armada/test-app:dev")
  })

  it("a name in use is a 500 saying so", () => {
    assert.isTrue(
      Podman.isNameInUse(
        500,
        'the container name "x" is already in use by abc. You have to remove that container'
      )
    )
    assert.isFalse(Podman.isNameInUse(500, "something else"))
    assert.isFalse(Podman.isNameInUse(409, "the container name is already in use"))
  })

  it.scoped(
    "adapt: tags listed and inspected without Podman's qualification, a taken name a NameConflict",
    () =>
      Effect.gen(function* () {
        const context = yield* Layer.build(
          MemoryEngine.layerMemory({ images: [{ ref: "localhost/armada/app:dev" }] })
        )
        const memory = Context.get(context, MemoryEngine.MemoryEngine)
        const engine = Podman.adapt(Context.get(context, ContainerEngine))
        const ref = ImageRef.ImageRef.make("localhost/armada/app:dev")
        const image = (yield* engine.listImages())[0]!
        assert.deepStrictEqual(image.tags, ["armada/app:dev"])
        assert.deepStrictEqual((yield* engine.inspectImage(ref)).tags, ["armada/app:dev"])
        const inUse = (detail: string) =>
          new ContainerEngineError.EngineError({
            operation: "createContainer",
            resource: "c",
            status: 500,
            detail
          })
        yield* memory.fail({
          operation: "createContainer",
          error: inUse('the container name "c" is already in use by 1f2e. You have to remove that container'),
          times: 1
        })
        yield* memory.fail({
          operation: "createContainer",
          error: inUse("no space left on device"),
          times: 1
        })
        const spec = { name: "armada-podman-test", image: ref, labels: {} }
        const taken = yield* Effect.flip(engine.createContainer(spec))
        assert.strictEqual(taken._tag, "NameConflict")
        assert.strictEqual(
          taken.message,
          new ContainerEngineError.NameConflict({ kind: "container", name: "armada-podman-test" }).message
        )
        const other = yield* Effect.flip(engine.createContainer(spec))
        assert.strictEqual(other._tag, "EngineError")
      })
  )
})
