import { ImageRef } from "@armada/core"
import {
  Archive,
  ContainerEngine,
  ContainerEngineError,
  type ContainerSpec,
  MemoryEngine
} from "@armada/engine"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option, Stream, TestClock } from "effect"

const app = ImageRef.ImageRef.make("armada/app:1")
const labels = { "armada.managed": "true" }
const spec = (name: string, extra: Partial<ContainerSpec> = {}): ContainerSpec => ({
  name,
  image: app,
  labels,
  ...extra
})
const memory = MemoryEngine.layerMemory({
  images: [{ ref: app, run: ({ env }) => ({ logs: [`hello ${env.WHO ?? "world"}`] }) }]
})

describe("MemoryEngine", () => {
  it.effect("exitAfterStart makes a container exit with the code and logs given", () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const control = yield* MemoryEngine.MemoryEngine
      yield* control.exitAfterStart("crasher", { exitCode: 42, logs: ["boom", "stack trace"] })
      yield* engine.createContainer(spec("crasher"))
      yield* engine.startContainer("crasher")
      assert.strictEqual(yield* engine.waitContainer("crasher"), 42)
      const info = yield* engine.inspectContainer("crasher")
      assert.strictEqual(info.state, "exited")
      assert.strictEqual(info.exitCode, 42)
      assert.strictEqual(yield* engine.logs("crasher", { tail: 2 }), "boom\nstack trace\n")
      // A container without a rule keeps running, with its image's logs.
      yield* engine.createContainer(spec("steady", { env: { WHO: "armada" } }))
      yield* engine.startContainer("steady")
      yield* Effect.yieldNow()
      assert.strictEqual((yield* engine.inspectContainer("steady")).state, "running")
      assert.strictEqual(yield* engine.logs("steady", { tail: 5 }), "hello armada\n")
    }).pipe(Effect.provide(memory))
  )

  it.effect("an exit after a delay runs on the Clock, so TestClock drives it", () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const control = yield* MemoryEngine.MemoryEngine
      yield* control.exitAfterStart("slow", { exitCode: 1, after: "10 seconds" })
      yield* engine.createContainer(spec("slow"))
      yield* engine.startContainer("slow")
      const waiting = yield* Effect.fork(engine.waitContainer("slow"))
      yield* TestClock.adjust("9 seconds")
      assert.strictEqual((yield* engine.inspectContainer("slow")).state, "running")
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(waiting), 1)
    }).pipe(Effect.provide(memory))
  )

  it.effect("exit makes a running container exit now; waiters see the code", () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const control = yield* MemoryEngine.MemoryEngine
      yield* engine.createContainer(spec("worker"))
      yield* engine.startContainer("worker")
      const waiting = yield* Effect.fork(engine.waitContainer("worker"))
      yield* control.exit("worker", 7, ["bye"])
      assert.strictEqual(yield* Fiber.join(waiting), 7)
      assert.include(yield* engine.logs("worker", { tail: 1 }), "bye")
      assert.strictEqual((yield* Effect.flip(control.exit("nobody", 1)))._tag, "ContainerNotFound")
    }).pipe(Effect.provide(memory))
  )

  it.effect("latency applies to the matching operation and name only", () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const control = yield* MemoryEngine.MemoryEngine
      yield* engine.createVolume({ name: "fast", labels })
      yield* engine.createVolume({ name: "slow", labels })
      yield* control.addLatency({ operation: "removeVolume", name: "slow", latency: "5 seconds" })
      yield* engine.removeVolume("fast")
      const removing = yield* Effect.fork(engine.removeVolume("slow"))
      yield* TestClock.adjust("4 seconds")
      assert.isTrue(Option.isNone(yield* Fiber.poll(removing)))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(removing)
      assert.deepStrictEqual(yield* engine.listVolumes(), [])
    }).pipe(Effect.provide(memory))
  )

  it.effect("faults: for one name, a limited number of times, any operation with *; reset clears them", () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const control = yield* MemoryEngine.MemoryEngine
      const down = new ContainerEngineError.EngineUnreachable({ address: "memory://", detail: "injected" })
      yield* control.fail({ operation: "createVolume", name: "flaky", error: down, times: 2 })
      assert.strictEqual(
        (yield* Effect.flip(engine.createVolume({ name: "flaky", labels })))._tag,
        "EngineUnreachable"
      )
      yield* engine.createVolume({ name: "steady", labels })
      assert.strictEqual(
        (yield* Effect.flip(engine.createVolume({ name: "flaky", labels })))._tag,
        "EngineUnreachable"
      )
      yield* engine.createVolume({ name: "flaky", labels })
      yield* control.fail({ operation: "*", error: down })
      assert.strictEqual((yield* Effect.flip(engine.ping))._tag, "EngineUnreachable")
      assert.strictEqual((yield* Effect.flip(engine.listVolumes()))._tag, "EngineUnreachable")
      yield* control.reset
      assert.strictEqual((yield* engine.listVolumes()).length, 2)
    }).pipe(Effect.provide(memory))
  )

  it.effect("volume trees: tests write and read them; containers see them through mounts", () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const control = yield* MemoryEngine.MemoryEngine
      yield* engine.createVolume({ name: "session", labels })
      yield* control.writeVolume("session", "/out/p1", Archive.make({ "a.txt": "from p1" }))
      yield* engine.createContainer(
        spec("merger", { mounts: [{ volume: "session", target: "/workspace/area", readOnly: false }] })
      )
      const seen = yield* Archive.fromTar(
        engine.getArchive({ _tag: "Container", container: "merger" }, "/workspace/area/out")
      )
      assert.deepStrictEqual(Archive.contents(seen), { "out/p1/a.txt": "from p1" })
      yield* engine.putArchive(
        { _tag: "Container", container: "merger" },
        "/workspace",
        Archive.toTar(Archive.make({ "area/merged/x.txt": "x", "elsewhere.txt": "rootfs" }))
      )
      const tree = yield* control.readVolume("session")
      assert.deepStrictEqual(Archive.contents(tree), { "merged/x.txt": "x", "out/p1/a.txt": "from p1" })
      const root = yield* Archive.fromTar(
        engine.getArchive({ _tag: "Container", container: "merger" }, "/workspace")
      )
      assert.deepStrictEqual(Archive.contents(root), {
        "workspace/area/merged/x.txt": "x",
        "workspace/area/out/p1/a.txt": "from p1",
        "workspace/elsewhere.txt": "rootfs"
      })
      assert.strictEqual((yield* Effect.flip(control.readVolume("nope")))._tag, "VolumeNotFound")
    }).pipe(Effect.provide(memory))
  )

  it.effect("putArchive passes a failure of the caller's stream through unchanged", () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      yield* engine.createVolume({ name: "target", labels })
      const failing = Stream.concat(
        Archive.toTar(Archive.make({ "a.txt": "a" })),
        Stream.fail("source broke" as const)
      )
      const error = yield* Effect.flip(
        engine.putArchive({ _tag: "Volume", volume: "target", image: app }, "/", failing)
      )
      assert.strictEqual(error, "source broke")
      const garbage = yield* Effect.flip(
        engine.putArchive(
          { _tag: "Volume", volume: "target", image: app },
          "/",
          Stream.make(new Uint8Array(512).fill(7))
        )
      )
      assert.strictEqual(garbage._tag, "EngineError")
      assert.strictEqual((garbage as ContainerEngineError.EngineError).status, 400)
    }).pipe(Effect.provide(memory))
  )

  it.effect("pull: a catalog image arrives with progress; an image in use cannot be removed", () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const control = yield* MemoryEngine.MemoryEngine
      const remote = ImageRef.ImageRef.make("armada/remote:2")
      yield* control.addImage({ ref: "armada/local:1" })
      assert.isTrue(yield* engine.imageExists(ImageRef.ImageRef.make("armada/local:1")))
      assert.isFalse(yield* engine.imageExists(remote))
      assert.strictEqual((yield* Effect.flip(Stream.runDrain(engine.pull(remote))))._tag, "PullFailed")
      yield* engine.createContainer(spec("user"))
      const inUse = yield* Effect.flip(engine.removeImage(app))
      assert.strictEqual((inUse as ContainerEngineError.EngineError).status, 409)
    }).pipe(Effect.provide(memory))
  )

  it.effect("the call log holds what reached the engine, never refused input", () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const control = yield* MemoryEngine.MemoryEngine
      yield* Effect.flip(engine.createContainer(spec("Bad Name")))
      yield* Effect.flip(engine.removeVolume("/etc"))
      yield* engine.createVolume({ name: "good", labels })
      assert.deepStrictEqual(yield* control.calls, [{ operation: "createVolume", name: "good" }])
    }).pipe(Effect.provide(memory))
  )
})

describe("MemoryEngine catalog", () => {
  it.effect("pulling a catalog image reports layer progress and makes it present", () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const remote = ImageRef.ImageRef.make("armada/remote:2")
      const events = yield* Stream.runCollect(engine.pull(remote))
      const downloading = [...events].filter((event) => event.status === "Downloading")
      assert.deepStrictEqual(
        downloading.map((event) => [event.layer, event.current, event.total]),
        [
          ["layer0", 50, 100],
          ["layer0", 100, 100]
        ]
      )
      assert.isTrue(yield* engine.imageExists(remote))
      const again = yield* Stream.runCollect(engine.pull(remote))
      assert.match([...again][0]!.status, /up to date/)
    }).pipe(
      Effect.provide(MemoryEngine.layerMemory({ catalog: [{ ref: "armada/remote:2", sizeBytes: 100 }] }))
    )
  )
})
