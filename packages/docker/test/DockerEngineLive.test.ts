import { ImageRef } from "@armada/core"
import { DockerEngineLive } from "@armada/docker"
import { ContainerEngine, type ContainerEngineError, type PullProgress } from "@armada/engine"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Deferred, Effect, Exit, Fiber, Layer, Stream } from "effect"
import { toDockerError } from "../src/internal/error.js"
import { fakeEngine } from "./fakeEngine.js"

const image = ImageRef.ImageRef.make("example.invalid/armada/app:1")

/**
 * The live engine on a fake that accepts every request and never answers, with a 300 ms request
 * timeout; `closed` completes when the client has given a request up.
 */
const silentEngine = Effect.gen(function* () {
  const closed = yield* Deferred.make<void>()
  const fake = yield* fakeEngine((request) => {
    request.on("close", () => Effect.runSync(Deferred.succeed(closed, undefined)))
  })
  const engine = yield* DockerEngineLive.make({ host: `unix://${fake.socket}`, timeout: "300 millis" })
  return { engine, closed }
})

describe("DockerEngineLive", () => {
  it.live("a missing socket is EngineUnreachable within 2 s, naming the address", () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const error = yield* Effect.flip(engine.ping).pipe(Effect.timeout("2 seconds"))
      assert.strictEqual(error._tag, "EngineUnreachable")
      assert.strictEqual(
        (error as ContainerEngineError.EngineUnreachable).address,
        "unix:///nonexistent.sock"
      )
      assert.include(error.message, "DOCKER_HOST")
    }).pipe(Effect.provide(DockerEngineLive.layer({ host: "unix:///nonexistent.sock" })))
  )

  it.live("a refused TCP port is EngineUnreachable within 2 s, on every kind of operation", () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const attempts = [
        engine.ping,
        engine.listContainers(),
        engine.createVolume({ name: "armada-x", labels: {} }),
        Stream.runDrain(engine.pull(image))
      ]
      for (const attempt of attempts) {
        const error = yield* Effect.flip(attempt).pipe(Effect.timeout("2 seconds"))
        assert.strictEqual(error._tag, "EngineUnreachable")
        assert.strictEqual((error as ContainerEngineError.EngineUnreachable).address, "tcp://127.0.0.1:1")
      }
    }).pipe(Effect.provide(DockerEngineLive.layer({ host: "tcp://127.0.0.1:1" })))
  )

  it.live("layerConfig reads DOCKER_HOST through Effect Config", () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      assert.strictEqual(engine.address, "unix:///nonexistent.sock")
    }).pipe(
      Effect.provide(
        DockerEngineLive.layerConfig().pipe(
          Layer.provide(
            Layer.setConfigProvider(
              ConfigProvider.fromMap(
                new Map([
                  ["DOCKER_HOST", "unix:///nonexistent.sock"],
                  ["ARMADA_DOCKER_TIMEOUT", "5 seconds"]
                ])
              )
            )
          )
        )
      )
    )
  )

  it.effect("an address it cannot use is an InputError naming DOCKER_HOST", () =>
    Effect.gen(function* () {
      for (const host of ["ssh://user@somewhere", "tcp://no-port", "http://127.0.0.1:2375", "unix://"]) {
        const error = yield* Effect.flip(Effect.scoped(DockerEngineLive.make({ host })))
        assert.strictEqual(error.field, "DOCKER_HOST", host)
      }
    })
  )

  it.scopedLive("an error line in the middle of a pull fails the stream with PullFailed", () =>
    Effect.gen(function* () {
      const fake = yield* fakeEngine((request, response) => {
        assert.match(request.url ?? "", /^\/images\/create\?/)
        response.writeHead(200, { "content-type": "application/json" })
        response.write(`${JSON.stringify({ status: "Pulling from armada/app", id: "1" })}\n`)
        response.write(
          `${JSON.stringify({ status: "Downloading", id: "abc", progressDetail: { current: 5, total: 10 } })}\n`
        )
        response.end(
          `${JSON.stringify({ errorDetail: { message: "manifest unknown" }, error: "manifest unknown" })}\n`
        )
      })
      const engine = yield* DockerEngineLive.make({ host: `unix://${fake.socket}` })
      const seen: Array<PullProgress> = []
      const error = yield* Effect.flip(
        Stream.runForEach(engine.pull(image), (p) => Effect.sync(() => seen.push(p)))
      )
      assert.strictEqual(error._tag, "PullFailed")
      assert.strictEqual((error as ContainerEngineError.PullFailed).detail, "manifest unknown")
      assert.deepStrictEqual(
        seen.map((p) => [p.layer, p.status, p.current, p.total]),
        [
          ["1", "Pulling from armada/app", undefined, undefined],
          ["abc", "Downloading", 5, 10]
        ]
      )
    })
  )

  it.scopedLive(
    "an engine that never answers fails after the request timeout, and the request is aborted",
    () =>
      Effect.gen(function* () {
        const { engine, closed } = yield* silentEngine
        const error = yield* Effect.flip(engine.inspectContainer("armada-slow"))
        assert.strictEqual(error._tag, "EngineError")
        assert.include(error.message, "did not answer within")
        yield* Deferred.await(closed)
      })
  )

  it.scopedLive(
    "the request timeout holds inside an uninterruptible region (a start the orchestrator does not abort)",
    () =>
      Effect.gen(function* () {
        const { engine, closed } = yield* silentEngine
        const error = yield* Effect.flip(Effect.uninterruptible(engine.startContainer("armada-stuck"))).pipe(
          // Far beyond the 300 ms request timeout, with room for a busy machine.
          Effect.timeoutFail({
            duration: "30 seconds",
            onTimeout: () => new Error("the start never ended: the request timeout did not apply")
          })
        )
        assert.strictEqual(error._tag, "EngineError")
        assert.include(error.message, "did not answer within")
        yield* Deferred.await(closed)
      })
  )

  it.scopedLive("interrupting a wait aborts its request", () =>
    Effect.gen(function* () {
      const opened = yield* Deferred.make<void>()
      const closed = yield* Deferred.make<void>()
      const fake = yield* fakeEngine((request) => {
        Effect.runSync(Deferred.succeed(opened, undefined))
        request.on("close", () => Effect.runSync(Deferred.succeed(closed, undefined)))
      })
      const engine = yield* DockerEngineLive.make({ host: `unix://${fake.socket}` })
      const waiting = yield* Effect.fork(engine.waitContainer("armada-forever"))
      yield* Deferred.await(opened)
      const exit = yield* Fiber.interrupt(waiting)
      assert.isTrue(Exit.isInterrupted(exit))
      yield* Deferred.await(closed)
    })
  )
})

describe("SDK error mapping", () => {
  const at = { address: "unix:///var/run/docker.sock" }
  const httpError = (statusCode: number, message: string) =>
    Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), {
      statusCode,
      json: { message }
    })

  it("errno codes of an absent engine are EngineUnreachable", () => {
    for (const code of ["ECONNREFUSED", "ENOENT", "EACCES"]) {
      const error = toDockerError({ ...at, operation: "ping", kind: "engine", name: "-" })(
        Object.assign(new Error(code), { code })
      )
      assert.strictEqual(error._tag, "EngineUnreachable", code)
    }
  })

  it("404 becomes the NotFound of the resource the message names, else of the request's kind", () => {
    const create = toDockerError({
      ...at,
      operation: "createContainer",
      kind: "container",
      name: "c",
      image: "i:1"
    })
    const noImage = create(httpError(404, "No such image: i:1"))
    assert.strictEqual(noImage._tag, "ImageNotFound")
    assert.strictEqual((noImage as ContainerEngineError.ImageNotFound).image, "i:1")
    const start = toDockerError({ ...at, operation: "startContainer", kind: "container", name: "c" })
    const noNetwork = start(httpError(404, "network armada-net not found"))
    assert.strictEqual(noNetwork._tag, "NetworkNotFound")
    assert.strictEqual((noNetwork as ContainerEngineError.NetworkNotFound).network, "armada-net")
    assert.strictEqual(start(httpError(404, "No such container: c"))._tag, "ContainerNotFound")
    const volume = toDockerError({ ...at, operation: "removeVolume", kind: "volume", name: "v" })
    assert.strictEqual(volume(httpError(404, "get v: no such volume"))._tag, "VolumeNotFound")
    const archive = toDockerError({ ...at, operation: "getArchive", kind: "archive", name: "c" })
    const noPath = archive(httpError(404, "Could not find the file /x in container c"))
    assert.strictEqual(noPath._tag, "EngineError")
    assert.strictEqual((noPath as ContainerEngineError.EngineError).status, 404)
  })

  it("409 is NameConflict or VolumeInUse where the request says so, else EngineError", () => {
    const create = toDockerError({
      ...at,
      operation: "createContainer",
      kind: "container",
      name: "c",
      conflict: "NameConflict"
    })
    assert.deepStrictEqual(
      create(httpError(409, "Conflict. The container name is already in use")).toJSON(),
      {
        _tag: "NameConflict",
        kind: "container",
        name: "c"
      }
    )
    const remove = toDockerError({
      ...at,
      operation: "removeVolume",
      kind: "volume",
      name: "v",
      conflict: "VolumeInUse"
    })
    assert.strictEqual(remove(httpError(409, "volume is in use"))._tag, "VolumeInUse")
    const image = toDockerError({ ...at, operation: "removeImage", kind: "image", name: "i" })
    const inUse = image(httpError(409, "image is being used"))
    assert.strictEqual(inUse._tag, "EngineError")
    assert.strictEqual((inUse as ContainerEngineError.EngineError).status, 409)
  })

  it("a streamed response's message loses the SDK's guess", () => {
    const archive = toDockerError({ ...at, operation: "getArchive", kind: "archive", name: "c" })
    const error = archive(
      Object.assign(
        new Error("(HTTP code 404) no such container - Could not find the file /x in container c "),
        {
          statusCode: 404,
          json: null
        }
      )
    )
    assert.strictEqual(error._tag, "EngineError")
    assert.strictEqual(
      (error as ContainerEngineError.EngineError).detail,
      "Could not find the file /x in container c"
    )
  })
})
