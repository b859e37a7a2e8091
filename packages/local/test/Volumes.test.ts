import { existsSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Archive, type ContainerEngine } from "@armada/engine"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as tar from "tar-stream"
import { image, makeEngine, run, spec, stateFolder, testLabels } from "./helpers.js"

const template = Archive.make({ "a/b.txt": "from the template", "c.txt": "c" })

const volume = (name: string) => ({ _tag: "Volume", volume: name, image }) as const
const container = (name: string) => ({ _tag: "Container", container: name }) as const

/** The files of an archive, by path. */
const filesOf = (archive: Stream.Stream<Uint8Array, unknown>) =>
  Effect.map(Archive.fromTar(archive), Archive.contents)

/** A raw tar with one file entry named `name`, which Archive.make would refuse to build. */
const rawTar = (header: tar.Headers, body?: string): Stream.Stream<Uint8Array> =>
  Stream.fromAsyncIterable(
    (() => {
      const pack = tar.pack()
      pack.entry(header, body)
      pack.finalize()
      return pack
    })(),
    () => new Error("tar")
  ).pipe(Stream.orDie)

const withVolumes = Effect.gen(function* () {
  const engine = yield* makeEngine()
  yield* engine.createVolume({ name: "armada-tpl", labels: testLabels })
  yield* engine.createVolume({ name: "armada-area", labels: testLabels })
  yield* engine.putArchive(volume("armada-tpl"), "/", Archive.toTar(template))
  return engine
})

const mounts = [
  { volume: "armada-tpl", target: "/workspace/cyanprint", readOnly: true },
  { volume: "armada-area", target: "/workspace/area", readOnly: false }
]

const runToEnd = (engine: ContainerEngine.Service, name: string, cmd: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const id = yield* run(engine, spec(name, cmd, { mounts }))
    assert.strictEqual(yield* engine.waitContainer(id), 0, yield* engine.logs(id, { tail: 20 }))
    return { id, logs: yield* engine.logs(id, { tail: 20 }) }
  })

describe("volumes are folders mounted below the container's root", () => {
  it.scopedLive("a process reads the template and writes the area at the protocol's paths", () =>
    Effect.gen(function* () {
      const engine = yield* withVolumes
      const reader = yield* runToEnd(engine, "reader", ["read", "/workspace/cyanprint/a/b.txt"])
      assert.strictEqual(reader.logs, "from the template")
      const writer = yield* runToEnd(engine, "writer", ["write", "/workspace/area/out.txt", "written"])
      assert.strictEqual(writer.logs, "ok\n")
      assert.deepStrictEqual(yield* filesOf(engine.getArchive(volume("armada-area"), "/")), {
        "armada-area/out.txt": "written"
      })
    })
  )

  it.scopedLive("a read-only mount is a copy with read-only directories; writes never reach the volume", () =>
    Effect.gen(function* () {
      const engine = yield* withVolumes
      // A new file needs a writable directory: refused, except for root, who ignores modes.
      const { id, logs } = yield* runToEnd(engine, "vandal", ["write", "/workspace/cyanprint/new.txt", "new"])
      assert.strictEqual(logs, process.getuid?.() === 0 ? "ok\n" : "EACCES\n")
      // An existing file keeps its mode, so it can be overwritten: in the container's copy only.
      const overwrite = yield* runToEnd(engine, "overwriter", [
        "write",
        "/workspace/cyanprint/c.txt",
        "changed"
      ])
      assert.strictEqual(overwrite.logs, "ok\n")
      const copy = join(stateFolder(engine), "containers", id, "workspace", "cyanprint")
      // Directories lose their write bits; files keep their modes, as a Docker read-only mount shows them.
      assert.strictEqual(statSync(join(copy, "a")).mode & 0o222, 0)
      assert.strictEqual(statSync(copy).mode & 0o222, 0)
      assert.strictEqual(statSync(join(copy, "a", "b.txt")).mode & 0o777, 0o644)
      assert.deepStrictEqual(yield* filesOf(engine.getArchive(volume("armada-tpl"), "/")), {
        "armada-tpl/a/b.txt": "from the template",
        "armada-tpl/c.txt": "c"
      })
    })
  )

  it.scopedLive(
    "createVolume is idempotent, removeVolume refuses a volume in use and deletes the folder",
    () =>
      Effect.gen(function* () {
        const engine = yield* withVolumes
        yield* engine.createVolume({ name: "armada-tpl", labels: { other: "labels" } })
        const listed = yield* engine.listVolumes(testLabels)
        assert.deepStrictEqual(listed.map((info) => info.name).sort(), ["armada-area", "armada-tpl"])
        const id = yield* engine.createContainer(spec("user", ["exit", "0"], { mounts }))
        assert.strictEqual((yield* Effect.flip(engine.removeVolume("armada-tpl")))._tag, "VolumeInUse")
        yield* engine.removeContainer(id)
        yield* engine.removeVolume("armada-tpl")
        assert.isFalse(existsSync(join(stateFolder(engine), "volumes", "armada-tpl")))
        assert.strictEqual((yield* Effect.flip(engine.removeVolume("armada-tpl")))._tag, "VolumeNotFound")
        const missing = yield* Effect.flip(engine.createContainer(spec("orphan", [], { mounts })))
        assert.strictEqual(missing._tag, "VolumeNotFound")
      })
  )
})

describe("archives", () => {
  it.scopedLive("get gives entries under the basename, through the container's mounts", () =>
    Effect.gen(function* () {
      const engine = yield* withVolumes
      yield* engine.createContainer(spec("viewer", [], { mounts }))
      yield* engine.putArchive(
        container("viewer"),
        "/workspace/area",
        Archive.toTar(Archive.make({ "x/y.txt": "y" }))
      )
      assert.deepStrictEqual(yield* filesOf(engine.getArchive(container("viewer"), "/workspace/area/x")), {
        "x/y.txt": "y"
      })
      assert.deepStrictEqual(
        yield* filesOf(engine.getArchive(container("viewer"), "/workspace/cyanprint/c.txt")),
        {
          "c.txt": "c"
        }
      )
      // A parent of the mount points shows what the volumes hold, as Docker shows it.
      assert.deepStrictEqual(yield* filesOf(engine.getArchive(container("viewer"), "/workspace")), {
        "workspace/area/x/y.txt": "y",
        "workspace/cyanprint/a/b.txt": "from the template",
        "workspace/cyanprint/c.txt": "c"
      })
      assert.deepStrictEqual(yield* filesOf(engine.getArchive(volume("armada-area"), "/x")), {
        "x/y.txt": "y"
      })
    })
  )

  it.scopedLive("put refuses a read-only mount and a missing directory", () =>
    Effect.gen(function* () {
      const engine = yield* withVolumes
      yield* engine.createContainer(spec("target", [], { mounts }))
      const readOnly = yield* Effect.flip(
        engine.putArchive(
          container("target"),
          "/workspace/cyanprint",
          Archive.toTar(Archive.make({ "z.txt": "z" }))
        )
      )
      assert.strictEqual(readOnly._tag, "EngineError")
      assert.include(readOnly.message, "read-only")
      // Entries of an archive put above a read-only mount that fall into it are refused too.
      const through = yield* Effect.flip(
        engine.putArchive(
          container("target"),
          "/",
          Archive.toTar(Archive.make({ "workspace/cyanprint/z.txt": "z" }))
        )
      )
      assert.include(through.message, "read-only")
      const missing = yield* Effect.flip(
        engine.putArchive(volume("armada-area"), "/nowhere", Archive.toTar(Archive.make({ "z.txt": "z" })))
      )
      assert.strictEqual(missing._tag, "EngineError")
      assert.strictEqual(missing._tag === "EngineError" ? missing.status : undefined, 404)
      const gone = yield* Effect.flip(Stream.runDrain(engine.getArchive(volume("armada-area"), "/nowhere")))
      assert.strictEqual(gone._tag === "EngineError" ? gone.status : undefined, 404)
    })
  )

  it.scopedLive("an archive put above the mounts sends each entry to its volume", () =>
    Effect.gen(function* () {
      const engine = yield* withVolumes
      yield* engine.createContainer(
        spec("spread", [], {
          mounts: [{ volume: "armada-area", target: "/workspace/area", readOnly: false }]
        })
      )
      yield* engine.putArchive(
        container("spread"),
        "/",
        Archive.toTar(Archive.make({ "workspace/area/in-volume.txt": "v", "etc/own.txt": "o" }))
      )
      assert.deepStrictEqual(yield* filesOf(engine.getArchive(volume("armada-area"), "/")), {
        "armada-area/in-volume.txt": "v"
      })
      assert.deepStrictEqual(yield* filesOf(engine.getArchive(container("spread"), "/etc")), {
        "etc/own.txt": "o"
      })
    })
  )

  it.scopedLive(
    "put never writes outside the target: .., absolute links and links on the way are refused",
    () =>
      Effect.gen(function* () {
        const engine = yield* withVolumes
        const outside = join(tmpdir(), `armada-local-escape-${process.pid}`)
        const climb = yield* Effect.flip(
          engine.putArchive(volume("armada-area"), "/", rawTar({ name: "../escape.txt" }, "x"))
        )
        assert.strictEqual(climb._tag, "EngineError")
        const absoluteLink = yield* Effect.flip(
          engine.putArchive(
            volume("armada-area"),
            "/",
            rawTar({ name: "link", type: "symlink", linkname: outside })
          )
        )
        assert.include(absoluteLink.message, "absolute symbolic link")
        // A process leaves a link to the outside in a volume; the archive API does not follow it.
        yield* runToEnd(engine, "linker", ["symlink", tmpdir(), "/workspace/area/out"])
        const through = yield* Effect.flip(
          engine.putArchive(volume("armada-area"), "/out", Archive.toTar(Archive.make({ "x.txt": "x" })))
        )
        assert.include(through.message, "symbolic link")
        const read = yield* Effect.flip(
          Stream.runDrain(engine.getArchive(volume("armada-area"), "/out/x.txt"))
        )
        assert.include(read.message, "symbolic link")
        assert.isFalse(existsSync(join(tmpdir(), "x.txt")) && statSync(join(tmpdir(), "x.txt")).size === 1)
        assert.isFalse(existsSync(outside))
        // The link itself can be read back, as a link.
        const tree = yield* Archive.fromTar(engine.getArchive(volume("armada-area"), "/out"))
        assert.deepStrictEqual(
          tree.get("out"),
          Archive.symlink(tmpdir(), { mtime: (tree.get("out") as Archive.Symlink).mtime })
        )
      })
  )

  it.scopedLive("a failing tar stream fails put with its own error", () =>
    Effect.gen(function* () {
      const engine = yield* withVolumes
      const error = yield* Effect.flip(
        engine.putArchive(volume("armada-area"), "/", Stream.fail("upstream broke" as const))
      )
      assert.strictEqual(error, "upstream broke")
    })
  )
})

describe("names, labels and networks", () => {
  it.scopedLive("names are unique, lookups fail like Docker's, bad input is an InputError", () =>
    Effect.gen(function* () {
      const engine = yield* makeEngine()
      yield* engine.createContainer(spec("twin", ["exit", "0"]))
      const twin = yield* Effect.flip(engine.createContainer(spec("twin", ["exit", "0"])))
      assert.strictEqual(twin._tag, "NameConflict")
      assert.strictEqual((yield* Effect.flip(engine.inspectContainer("nobody")))._tag, "ContainerNotFound")
      assert.strictEqual((yield* Effect.flip(engine.startContainer("nobody")))._tag, "ContainerNotFound")
      assert.strictEqual((yield* Effect.flip(engine.inspectContainer("../up")))._tag, "InputError")
      assert.strictEqual(
        (yield* Effect.flip(engine.createVolume({ name: "../up", labels: {} })))._tag,
        "InputError"
      )
      const byPrefix = yield* engine.inspectContainer(
        (yield* engine.inspectContainer("twin")).id.slice(0, 12)
      )
      assert.strictEqual(byPrefix.name, "twin")
    })
  )

  it.scopedLive("label filters select containers", () =>
    Effect.gen(function* () {
      const engine = yield* makeEngine()
      yield* engine.createContainer(spec("one", [], { labels: { ...testLabels, role: "processor" } }))
      yield* engine.createContainer(spec("two", [], { labels: { ...testLabels, role: "plugin" } }))
      const names = (list: ReadonlyArray<{ readonly name: string }>) => list.map((info) => info.name).sort()
      assert.deepStrictEqual(names(yield* engine.listContainers(testLabels)), ["one", "two"])
      assert.deepStrictEqual(names(yield* engine.listContainers({ role: "plugin" })), ["two"])
      assert.deepStrictEqual(names(yield* engine.listContainers({ role: "merger" })), [])
    })
  )

  it.scopedLive(
    "networks are bookkeeping: ensure is idempotent under concurrency, remove and NotFound work",
    () =>
      Effect.gen(function* () {
        const engine = yield* makeEngine()
        const ensured = yield* Effect.all(
          Array.from({ length: 5 }, () => engine.ensureNetwork({ name: "armada", labels: testLabels })),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(new Set(ensured.map((network) => network.id)).size, 1)
        assert.deepStrictEqual(
          (yield* engine.listNetworks(testLabels)).map((network) => network.name),
          ["armada"]
        )
        const missing = yield* Effect.flip(
          engine.startContainer(yield* engine.createContainer(spec("lost", [], { network: "elsewhere" })))
        )
        assert.strictEqual(missing._tag, "NetworkNotFound")
        yield* engine.removeNetwork("armada")
        assert.deepStrictEqual(yield* engine.listNetworks(testLabels), [])
        assert.strictEqual((yield* Effect.flip(engine.removeNetwork("armada")))._tag, "NetworkNotFound")
      })
  )

  it.scopedLive("an image used by a container cannot be removed", () =>
    Effect.gen(function* () {
      const engine = yield* makeEngine()
      yield* engine.createContainer(spec("holder", []))
      const error = yield* Effect.flip(engine.removeImage(image))
      assert.strictEqual(error._tag === "EngineError" ? error.status : undefined, 409)
    })
  )
})
