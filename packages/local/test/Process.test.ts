import { readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ImageRef } from "@armada/core"
import { LocalEngine, ProcessGroup } from "@armada/local"
import { Poll } from "@armada/testkit"
import { assert, describe, it, vi } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Scope, Stream } from "effect"
import {
  catalog,
  familyPids,
  fixture,
  folderExists,
  image,
  logsWith,
  makeEngine,
  run,
  spec,
  stateFolder
} from "./helpers.js"

describe("local containers are process groups", () => {
  it.scopedLive("reports the exit code, the state and both output streams", () =>
    Effect.gen(function* () {
      const engine = yield* makeEngine()
      const id = yield* run(engine, spec("exits", ["exit", "3"]))
      assert.strictEqual(yield* engine.waitContainer(id), 3)
      const info = yield* engine.inspectContainer("exits")
      assert.strictEqual(info.state, "exited")
      assert.strictEqual(info.exitCode, 3)
      assert.deepStrictEqual(info.ports, [])
      const logs = yield* engine.logs(id, { tail: 10 })
      assert.include(logs, "to stdout\n")
      assert.include(logs, "to stderr\n")
    })
  )

  it.scopedLive("logs keep the last N lines", () =>
    Effect.gen(function* () {
      const engine = yield* makeEngine()
      const id = yield* run(engine, spec("chatty", ["lines", "100"]))
      yield* engine.waitContainer(id)
      assert.strictEqual(yield* engine.logs(id, { tail: 3 }), "line 98\nline 99\nline 100\n")
      assert.strictEqual(yield* engine.logs(id, { tail: 0 }), "")
    })
  )

  it.scopedLive("a created container is not running, has no port and waits as not running", () =>
    Effect.gen(function* () {
      const engine = yield* makeEngine()
      const id = yield* engine.createContainer(spec("idle", ["serve"], { publish: 5551 }))
      const info = yield* engine.inspectContainer(id)
      assert.strictEqual(info.state, "created")
      assert.strictEqual(info.exitCode, undefined)
      assert.deepStrictEqual(info.ports, [])
      assert.strictEqual(yield* engine.logs(id, { tail: 5 }), "")
    })
  )

  it.scopedLive("publishes its port on 127.0.0.1 and passes the ARMADA_* environment", () =>
    Effect.gen(function* () {
      const engine = yield* makeEngine()
      const id = yield* run(
        engine,
        spec("server", ["serve"], { publish: 5551, env: { ARMADA_ROLE: "processor" } })
      )
      const info = yield* engine.inspectContainer(id)
      assert.strictEqual(info.state, "running")
      assert.strictEqual(info.ports.length, 1)
      const [binding] = info.ports
      assert.strictEqual(binding!.containerPort, 5551)
      assert.strictEqual(binding!.hostIp, "127.0.0.1")
      let body: { env: Record<string, string>; cwd: string } = { env: {}, cwd: "" }
      yield* Effect.promise(() =>
        Poll.until(
          () =>
            fetch(`http://127.0.0.1:${binding!.hostPort}/`)
              .then((response) => response.json())
              .then((answer) => {
                body = answer as typeof body
                return true
              })
              .catch(() => false),
          "the server to answer",
          60_000,
          25
        )
      )
      assert.strictEqual(body.env.ARMADA_LISTEN_HOST, "127.0.0.1")
      assert.strictEqual(body.env.ARMADA_LISTEN_PORT, String(binding!.hostPort))
      assert.strictEqual(body.env.ARMADA_ROLE, "processor")
      assert.strictEqual(body.env.ARMADA_WORKSPACE_ROOT, body.cwd)
      assert.isTrue(body.cwd.startsWith(stateFolder(engine)))
    })
  )

  it.scopedLive("remove kills the whole group at once, grandchildren included, and waits for it", () =>
    Effect.gen(function* () {
      const engine = yield* makeEngine()
      const id = yield* run(engine, spec("family", ["family"]))
      const pids = yield* familyPids(engine, id)
      assert.isTrue(pids.every(ProcessGroup.isAlive))
      const waiter = yield* Effect.fork(engine.waitContainer(id))
      yield* Effect.yieldNow()
      yield* engine.removeContainer(id)
      // SIGKILL, as `docker rm -f`.
      assert.strictEqual(yield* Fiber.join(waiter), 137)
      assert.isFalse(pids.some(ProcessGroup.isAlive), `still alive: ${pids.filter(ProcessGroup.isAlive)}`)
      const gone = yield* Effect.exit(engine.inspectContainer(id))
      assert.isTrue(Exit.isFailure(gone))
    })
  )

  it.scopedLive("when the main process exits, the rest of its group is killed", () =>
    Effect.gen(function* () {
      const engine = yield* makeEngine()
      const id = yield* run(engine, spec("leader", ["family"]))
      const [leader, grandchild] = yield* familyPids(engine, id)
      process.kill(leader, "SIGKILL")
      assert.strictEqual(yield* engine.waitContainer(id), 137)
      assert.isFalse(ProcessGroup.isAlive(grandchild))
      assert.strictEqual((yield* engine.inspectContainer(id)).state, "exited")
    })
  )

  it.scopedLive(
    "a group whose main process has exited gets no signal: its number may be another's by then",
    () =>
      Effect.gen(function* () {
        const engine = yield* makeEngine()
        const id = yield* run(engine, spec("exits", ["exit", "3"]))
        assert.strictEqual(yield* engine.waitContainer(id), 3)
        const kill = yield* Effect.acquireRelease(
          Effect.sync(() => vi.spyOn(process, "kill")),
          (kill) => Effect.sync(() => kill.mockRestore())
        )
        yield* engine.removeContainer(id)
        // Signal 0 only asks whether a group is there; any other signal would be sent.
        const sent = kill.mock.calls.filter(([target, signal]) => target < 0 && signal !== 0)
        assert.deepStrictEqual(sent, [])
      })
  )

  it.scopedLive("a command that cannot start fails the start and leaves the container exited (127)", () =>
    Effect.gen(function* () {
      const broken = ImageRef.ImageRef.make("local/broken:1")
      const engine = yield* makeEngine({
        catalog: { [broken]: { command: ["/nonexistent/armada-command"] } }
      })
      const id = yield* engine.createContainer(spec("broken", [], { image: broken }))
      const error = yield* Effect.flip(engine.startContainer(id))
      assert.strictEqual(error._tag, "EngineError")
      assert.include(error.message, "/nonexistent/armada-command")
      const info = yield* engine.inspectContainer(id)
      assert.strictEqual(info.state, "exited")
      assert.strictEqual(info.exitCode, 127)
      assert.strictEqual(yield* engine.waitContainer(id), 127)
    })
  )
})

describe("closing the engine's scope leaves no process and no folder", () => {
  const startFamily = Effect.gen(function* () {
    const engine = yield* makeEngine()
    const first = yield* run(engine, spec("family-1", ["family"]))
    const second = yield* run(engine, spec("family-2", ["family", "stubborn"]))
    const pids = [...(yield* familyPids(engine, first)), ...(yield* familyPids(engine, second))]
    return { pids, folder: stateFolder(engine) }
  })

  const assertNothingLeft = ({ pids, folder }: { pids: ReadonlyArray<number>; folder: string }) => {
    assert.isFalse(pids.some(ProcessGroup.isAlive), `still alive: ${pids.filter(ProcessGroup.isAlive)}`)
    assert.isFalse(folderExists(folder), `${folder} is still there`)
  }

  it.live("on a normal end", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const left = yield* Scope.extend(startFamily, scope)
      assert.isTrue(left.pids.every(ProcessGroup.isAlive))
      assert.isTrue(folderExists(left.folder))
      yield* Scope.close(scope, Exit.void)
      assertNothingLeft(left)
    })
  )

  it.live("closing sends SIGTERM first, and SIGKILL after the grace to a group that ignores it", () =>
    Effect.gen(function* () {
      const marker = join(tmpdir(), `armada-local-graceful-${process.pid}-${Date.now()}`)
      const scope = yield* Scope.make()
      const left = yield* Scope.extend(
        Effect.gen(function* () {
          const engine = yield* makeEngine({ stopGrace: "300 millis" })
          const graceful = yield* run(engine, spec("graceful", ["graceful", marker]))
          yield* logsWith(engine, graceful, "waiting")
          const stubborn = yield* run(engine, spec("stubborn", ["family", "stubborn"]))
          return { pids: yield* familyPids(engine, stubborn), folder: stateFolder(engine) }
        }),
        scope
      )
      yield* Scope.close(scope, Exit.void)
      assertNothingLeft(left)
      assert.strictEqual(readFileSync(marker, "utf8"), "terminated")
      rmSync(marker)
    })
  )

  it.live("on a failure", () =>
    Effect.gen(function* () {
      let left: { pids: ReadonlyArray<number>; folder: string } | undefined
      const exit = yield* Effect.exit(
        Effect.scoped(
          Effect.gen(function* () {
            left = yield* startFamily
            return yield* Effect.fail("boom")
          })
        )
      )
      assert.isTrue(Exit.isFailure(exit))
      assertNothingLeft(left!)
    })
  )

  it.live("on an interruption", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<{ pids: ReadonlyArray<number>; folder: string }>()
      const fiber = yield* Effect.fork(
        Effect.scoped(
          Effect.zipRight(
            Effect.flatMap(startFamily, (left) => Deferred.succeed(started, left)),
            Effect.never
          )
        )
      )
      const left = yield* Deferred.await(started)
      yield* Fiber.interrupt(fiber)
      assertNothingLeft(left)
    })
  )
})

describe("the catalog", () => {
  it.scopedLive("an image without a local command is ImageNotFound saying how to add one", () =>
    Effect.gen(function* () {
      const engine = yield* makeEngine()
      const unknown = ImageRef.ImageRef.make("acme/unknown:2")
      const error = yield* Effect.flip(engine.createContainer(spec("unknown", [], { image: unknown })))
      assert.strictEqual(error._tag, "ImageNotFound")
      assert.include(error.message, "local:")
      assert.include(error.message, "acme/unknown:2")
      assert.isFalse(yield* engine.imageExists(unknown))
      const pull = yield* Effect.flip(Stream.runCollect(engine.pull(unknown)))
      assert.strictEqual(pull._tag, "PullFailed")
      assert.include(pull.message, "local:")
    })
  )

  it.scopedLive("an engine whose commands come from elsewhere names that source, not the spec", () =>
    Effect.gen(function* () {
      const engine = yield* makeEngine({ catalogSource: "the server's catalog" })
      const unknown = ImageRef.ImageRef.make("acme/unknown:2")
      const error = yield* Effect.flip(engine.createContainer(spec("unknown", [], { image: unknown })))
      assert.strictEqual(error._tag, "ImageNotFound")
      assert.include(
        error.message,
        "no local command for acme/unknown:2; the commands are the server's catalog"
      )
      assert.notInclude(error.message, "local:")
      const pull = yield* Effect.flip(Stream.runCollect(engine.pull(unknown)))
      assert.include(pull.message, "the server's catalog")
    })
  )

  it.scopedLive("a catalogued image is present, pulls at once with one event, and can be removed", () =>
    Effect.gen(function* () {
      const engine = yield* makeEngine()
      assert.isTrue(yield* engine.imageExists(image))
      const events = yield* Stream.runCollect(engine.pull(image))
      assert.strictEqual(events.length, 1)
      const listed = yield* engine.listImages()
      assert.deepStrictEqual(
        listed.map((info) => info.tags),
        [["local/fixture:1"]]
      )
      yield* engine.removeImage(image)
      assert.isFalse(yield* engine.imageExists(image))
      assert.strictEqual((yield* Effect.flip(engine.inspectImage(image)))._tag, "ImageNotFound")
      yield* Stream.runCollect(engine.pull(image))
      assert.isTrue(yield* engine.imageExists(image))
    })
  )

  it.scopedLive("catalog labels are the image's labels, and listImages filters on them", () =>
    Effect.gen(function* () {
      const engine = yield* LocalEngine.make({
        catalog: { ...catalog, "local/labelled:1": { ...catalog[image]!, labels: { kind: "fixture" } } }
      })
      const listed = yield* engine.listImages({ kind: "fixture" })
      assert.deepStrictEqual(
        listed.map((info) => [info.tags, info.labels]),
        [[["local/labelled:1"], { kind: "fixture" }]]
      )
    })
  )

  it.scopedLive("an untagged catalog entry answers for :latest", () =>
    Effect.gen(function* () {
      const engine = yield* LocalEngine.make({ catalog: { "local/plain": catalog[image]! } })
      assert.isTrue(yield* engine.imageExists(ImageRef.ImageRef.make("local/plain:latest")))
      assert.isTrue(yield* engine.imageExists(ImageRef.ImageRef.make("local/plain")))
    })
  )

  it.scopedLive("a catalog key that is not an image reference is an InputError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        LocalEngine.make({ catalog: { "Not An Image": { command: [fixture] } } })
      )
      assert.strictEqual(error._tag, "InputError")
    })
  )
})
