import { ImageRef, type InputError } from "@armada/core"
import { type ArchiveTarget, ContainerEngine, type ContainerEngineError } from "@armada/engine"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Option, Stream, Tracer } from "effect"

const image = ImageRef.ImageRef.make("armada/app:1")
const labels = { "armada.managed": "true" }
const volume: ArchiveTarget = { _tag: "Volume", volume: "vol", image }

interface Seen {
  readonly operation: string
  readonly args: ReadonlyArray<unknown>
  /** The span the engine ran in, if any. */
  readonly span: string | undefined
  readonly attributes: ReadonlyMap<string, unknown>
}

/** An engine that records each call it gets, and the span it runs in. */
const recording = () => {
  const seen: Array<Seen> = []
  const call = <A>(operation: string, args: ReadonlyArray<unknown>, value: A) =>
    Effect.flatMap(Effect.option(Effect.currentSpan), (span) =>
      Effect.sync(() => {
        seen.push({
          operation,
          args,
          span: Option.getOrUndefined(Option.map(span, (s) => s.name)),
          attributes: Option.match(span, { onNone: () => new Map(), onSome: (s) => s.attributes })
        })
        return value
      })
    )
  const info = { id: "sha256:1", tags: [image], labels, sizeBytes: 0 }
  const impl: ContainerEngine.Service = {
    address: "test://engine",
    ping: call("ping", [], undefined),
    version: call("version", [], { engine: "test", version: "1", apiVersion: "1", os: "linux", arch: "x64" }),
    listImages: (...args) => call("listImages", args, [info]),
    inspectImage: (...args) => call("inspectImage", args, info),
    imageExists: (...args) => call("imageExists", args, true),
    pull: (...args) =>
      Stream.fromEffect(
        call("pull", args, { image, layer: undefined, status: "done", current: undefined, total: undefined })
      ),
    removeImage: (...args) => call("removeImage", args, undefined),
    createContainer: (...args) => call("createContainer", args, "c0ffee"),
    startContainer: (...args) => call("startContainer", args, undefined),
    inspectContainer: () => Effect.die("not used"),
    listContainers: (...args) => call("listContainers", args, []),
    waitContainer: (...args) => call("waitContainer", args, 0),
    logs: (...args) => call("logs", args, ""),
    removeContainer: (...args) => call("removeContainer", args, undefined),
    createVolume: (...args) => call("createVolume", args, undefined),
    listVolumes: (...args) => call("listVolumes", args, []),
    removeVolume: (...args) => call("removeVolume", args, undefined),
    ensureNetwork: (...args) => call("ensureNetwork", args, { id: "n", name: "net", labels }),
    listNetworks: (...args) => call("listNetworks", args, []),
    removeNetwork: (...args) => call("removeNetwork", args, undefined),
    putArchive: (target, path, tar) =>
      Effect.zipRight(Stream.runDrain(tar), call("putArchive", [target, path], undefined)),
    getArchive: (...args) => Stream.fromEffect(call("getArchive", args, new Uint8Array(0)))
  }
  return { seen, engine: ContainerEngine.make(impl) }
}

/** A tracer that keeps every span it makes, to look at them once they ended. */
const keepingSpans = Effect.map(Effect.tracer, (base) => {
  const spans: Array<Tracer.Span> = []
  const tracer = Tracer.make({
    span: (...args) => {
      const span = base.span(...args)
      spans.push(span)
      return span
    },
    context: base.context
  })
  return { tracer, spans }
})

describe("ContainerEngine.make", () => {
  it.effect("refuses bad input with an InputError naming the field, and never calls the engine", () =>
    Effect.gen(function* () {
      const { seen, engine } = recording()
      const cases: ReadonlyArray<
        [string, Effect.Effect<unknown, ContainerEngineError.ContainerEngineError>]
      > = [
        ["image", engine.inspectImage("Not A Ref!" as ImageRef.ImageRef)],
        ["image", engine.imageExists("" as ImageRef.ImageRef)],
        ["image", Stream.runDrain(engine.pull("two words" as ImageRef.ImageRef))],
        ["labels.a=b", engine.listContainers({ "a=b": "x" })],
        ["spec.name", engine.createContainer({ name: "bad name!", image, labels })],
        ["spec.network", engine.createContainer({ name: "ok", image, labels, network: "host" })],
        ["container", engine.startContainer("no/slashes")],
        ["container", engine.logs("-leading-dash", { tail: 1 })],
        ["name", engine.createVolume({ name: "../escape", labels })],
        ["volume", engine.removeVolume("x")],
        ["name", engine.ensureNetwork({ name: "a b", labels })],
        ["network", engine.removeNetwork("")],
        ["path", engine.putArchive(volume, "relative/path", Stream.empty)],
        ["target.volume", engine.putArchive({ ...volume, volume: "x" }, "/", Stream.empty)],
        ["path", Stream.runDrain(engine.getArchive(volume, "/../../etc"))]
      ]
      for (const [field, attempt] of cases) {
        const error = yield* Effect.flip(attempt).pipe(
          Effect.orElseFail(() => new Error(`${field}: accepted`))
        )
        assert.strictEqual(error._tag, "InputError", field)
        assert.strictEqual((error as InputError).field, field)
      }
      assert.deepStrictEqual(seen, [])
    })
  )

  it.effect(
    "runs each operation in one span ContainerEngine.<operation> naming the engine and the resource",
    () =>
      Effect.gen(function* () {
        const { seen, engine } = recording()
        yield* engine.ping
        yield* engine.createContainer({ name: "worker", image, labels })
        yield* engine.startContainer("worker")
        yield* engine.createVolume({ name: "area", labels })
        yield* engine.listVolumes(labels)
        yield* Stream.runDrain(engine.pull(image))
        yield* Stream.runDrain(engine.getArchive({ _tag: "Container", container: "worker" }, "/workspace"))
        assert.deepStrictEqual(
          seen.map((call) => call.span),
          [
            "ContainerEngine.ping",
            "ContainerEngine.createContainer",
            "ContainerEngine.startContainer",
            "ContainerEngine.createVolume",
            "ContainerEngine.listVolumes",
            "ContainerEngine.pull",
            "ContainerEngine.getArchive"
          ]
        )
        const attributes = (operation: string) =>
          Object.fromEntries(seen.find((call) => call.operation === operation)?.attributes ?? [])
        assert.deepStrictEqual(attributes("createContainer"), {
          engine: "test://engine",
          container: "worker",
          image
        })
        assert.deepStrictEqual(attributes("startContainer"), { engine: "test://engine", container: "worker" })
        assert.deepStrictEqual(attributes("createVolume"), { engine: "test://engine", volume: "area" })
        assert.deepStrictEqual(attributes("listVolumes"), {
          engine: "test://engine",
          labels: JSON.stringify(labels)
        })
        assert.deepStrictEqual(attributes("pull"), { engine: "test://engine", image })
        assert.deepStrictEqual(attributes("getArchive"), {
          engine: "test://engine",
          target: "container worker",
          path: "/workspace"
        })
      })
  )

  it.effect("hands the engine the normalised archive path and the caller's tar stream", () =>
    Effect.gen(function* () {
      const { seen, engine } = recording()
      yield* engine.putArchive(volume, "/a/./b/../c/", Stream.make(new Uint8Array([1])))
      assert.deepStrictEqual(seen[0]?.args, [volume, "/a/c"])
      const failing = Stream.fail("the caller's own failure" as const)
      assert.strictEqual(
        yield* Effect.flip(engine.putArchive(volume, "/", failing)),
        "the caller's own failure"
      )
    })
  )

  it.effect("a refused call still ends its span, with the failure", () =>
    Effect.gen(function* () {
      const { engine } = recording()
      const { tracer, spans } = yield* keepingSpans
      yield* Effect.flip(engine.inspectContainer("bad name!")).pipe(Effect.withTracer(tracer))
      const span = spans.find((s) => s.name === "ContainerEngine.inspectContainer")
      assert.isDefined(span)
      assert.strictEqual(span?.status._tag, "Ended")
      if (span?.status._tag === "Ended") assert.isTrue(Exit.isFailure(span.status.exit))
    })
  )
})
