import { DockerEngineLive } from "@armada/docker"
import { Bulk, type ContainerEngineError, type PullProgress } from "@armada/engine"
import { type Registry, RegistryProxy } from "@armada/testkit"
import { Effect, Exit, Fiber, Layer, ManagedRuntime, Scope } from "effect"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "vitest"
import { until } from "../support.js"
import { type Fixture, isPresent, makeFixture, removePulled, skip } from "./support.js"

// The Docker engine's pulls as the library sees them, through a proxy that holds each layer
// halfway (to look at a pull while it runs, or interrupt it) or spoils it.
describe.skipIf(skip("tests/registry/progress (pull progress, interruption, in-stream errors)"))(
  "pulls through the live engine",
  () => {
    let fixture: Fixture
    let registry: Registry.Registry
    let name: string
    const runtime = ManagedRuntime.make(DockerEngineLive.layerConfig().pipe(Layer.orDie))
    const scope = Effect.runSync(Scope.make())
    const pulled: Array<string> = []

    beforeAll(async () => {
      fixture = makeFixture()
      registry = await fixture.start()
      const [pushed] = await fixture.push(registry, ["team/held:v1"])
      name = pushed!.tag.slice(registry.address.length + 1)
    })

    afterEach(() => removePulled(pulled.splice(0)))

    afterAll(async () => {
      await runtime.dispose()
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await fixture?.close()
    })

    const proxy = (mode: RegistryProxy.Mode) =>
      Effect.runPromise(Scope.extend(RegistryProxy.start(registry, mode), scope))

    it("reports each layer's bytes while it downloads, and the image once released", async () => {
      const held = await proxy("hold")
      const ref = held.ref(name)
      pulled.push(ref)
      const seen: Array<PullProgress> = []
      const pulling = runtime.runFork(
        Bulk.pullAll([ref], { onProgress: (progress) => Effect.sync(() => seen.push(progress)) })
      )
      await Effect.runPromise(held.holding)
      const halfway = () =>
        seen.filter((p) => p.status === "Downloading" && p.current !== undefined && p.total !== undefined)
      await until(() => halfway().length > 0, "the engine to report the bytes so far", 60_000)
      const [first] = halfway()
      assert.isString(first!.layer)
      assert.isAbove(first!.current!, 0)
      assert.isBelow(first!.current!, first!.total!, "held halfway: not all of it")
      assert.isFalse(isPresent(ref))
      await Effect.runPromise(held.release)
      const outcome = await runtime.runPromise(Fiber.join(pulling))
      assert.deepStrictEqual(
        outcome.successes.map((success) => success.value),
        ["pulled"]
      )
      assert.isTrue(isPresent(ref))
    })

    it("interrupting a pull halfway ends it at once and leaves nothing behind; pulling again works", async () => {
      const held = await proxy("hold")
      const ref = held.ref(name)
      pulled.push(ref)
      const pulling = runtime.runFork(Bulk.pullAll([ref]))
      await Effect.runPromise(held.holding)
      // The proxy still holds the layer: the interruption does not wait for the engine.
      const exit = await runtime.runPromise(Fiber.interrupt(pulling))
      assert.isTrue(Exit.isInterrupted(exit))
      assert.isFalse(isPresent(ref), "no image, not even a partial one")
      await Effect.runPromise(held.release)
      const again = await runtime.runPromise(Bulk.pullAll([ref]))
      assert.deepStrictEqual(
        again.successes.map((success) => success.value),
        ["pulled"]
      )
    })

    it("a layer that fails its checksum is a PullFailed of reason InStream, and no image", async () => {
      const corrupt = await proxy("corrupt")
      const ref = corrupt.ref(name)
      pulled.push(ref)
      const outcome = await runtime.runPromise(Bulk.pullAll([ref]))
      const [failure] = outcome.failures
      assert.isDefined(failure)
      assert.strictEqual(failure!.cause._tag, "Fail")
      const error = (failure!.cause as { readonly error: ContainerEngineError.PullFailed }).error
      assert.strictEqual(error._tag, "PullFailed")
      assert.strictEqual(error.reason, "InStream")
      assert.include(error.detail, "verification failed")
      assert.include(error.message, `pulling ${ref} failed midway`)
      assert.isFalse(isPresent(ref))
    })
  }
)
