/**
 * One conformance suite for every `DockerEngine` implementation (the live Docker layer,
 * `layerMemory`, the local engine), so none can drift from the others. `run` registers vitest
 * tests against the layer it is given; call it from a test file.
 *
 * Everything the suite creates carries `armada.managed=true`, `armada.test=conformance` and a
 * per-run `armada.test.run=<id>` label, is removed by the test's scope, and the last test fails if
 * anything with the run's label remains. A behaviour an implementation does not have is declared
 * in `unsupported` with the reason; its tests are then registered as skipped under a name that
 * says so, never left out silently.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"
import { ImageRef } from "@armada/core"
import { Archive, Bulk, type ContainerSpec, DockerEngine, type DockerError } from "@armada/docker"
import { assert, describe, layer } from "@effect/vitest"
import { Duration, Effect, Fiber, type Layer, Schedule, type Scope, Stream } from "effect"
import * as Fixture from "./ConformanceFixture.js"

/**
 * Behaviours an implementation may lack:
 * - `http`: containers run real processes, and the published port answers on 127.0.0.1;
 * - `pull`: pulling asks a registry (the suite uses `127.0.0.1:1`, which refuses at once);
 * - `networks`: networks exist and containers join them;
 * - `readOnlyMounts`: a read-only mount refuses archive writes;
 * - `resourceLimits`: memory / CPU / pids limits are applied and reported by inspect;
 * - `isolation`: containers are confined as inspect reports (not on the host network, every
 *   capability dropped but those added, `no-new-privileges`).
 *
 * @since 0.1.0
 * @category models
 */
export type Feature = "http" | "pull" | "networks" | "readOnlyMounts" | "resourceLimits" | "isolation"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options<E> {
  /** Names the suite: `DockerEngine conformance: <name>`. */
  readonly name: string
  readonly layer: Layer.Layer<DockerEngine, E>
  /** An image that behaves like `fixtures/server.mjs`; default `armada/conformance:dev`. */
  readonly fixtureImage?: ImageRef.ImageRef | undefined
  /** The labels `fixtureImage` carries; default `ConformanceFixture.fixtureImageLabels`. */
  readonly fixtureImageLabels?: Readonly<Record<string, string>> | undefined
  /** Features this implementation lacks, each with the reason. */
  readonly unsupported?: Partial<Record<Feature, string>> | undefined
  /** Per test, in milliseconds; default 30 000. */
  readonly timeout?: number | undefined
}

const failureOf = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.flip(effect)

/**
 * Registers the suite.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = <E>(options: Options<E>): void => {
  const runId = randomBytes(4).toString("hex")
  const labels = { "armada.managed": "true", "armada.test": "conformance", "armada.test.run": runId }
  const runLabel = { "armada.test.run": runId }
  const nameOf = (what: string) => `armada-conf-${runId}-${what}`
  const image = options.fixtureImage ?? Fixture.fixtureImage
  const imageLabels = options.fixtureImageLabels ?? Fixture.fixtureImageLabels
  const timeout = options.timeout ?? 30_000
  const port = Fixture.fixturePort

  const spec = (what: string, extra: Partial<ContainerSpec> = {}): ContainerSpec => ({
    name: nameOf(what),
    image,
    labels,
    env: { ARMADA_LISTEN_PORT: String(port) },
    ...extra
  })

  /** A container removed when the test's scope closes (if the test did not remove it). */
  const container = (containerSpec: ContainerSpec) =>
    Effect.acquireRelease(
      Effect.flatMap(DockerEngine, (engine) => engine.createContainer(containerSpec)),
      () =>
        Effect.flatMap(DockerEngine, (engine) => engine.removeContainer(containerSpec.name)).pipe(
          Effect.catchTag("ContainerNotFound", () => Effect.void),
          Effect.orDie
        )
    )

  const volume = (what: string) =>
    Effect.acquireRelease(
      Effect.flatMap(DockerEngine, (engine) =>
        Effect.as(engine.createVolume({ name: nameOf(what), labels }), nameOf(what))
      ),
      () =>
        Effect.flatMap(DockerEngine, (engine) => engine.removeVolume(nameOf(what))).pipe(
          Effect.catchTag("VolumeNotFound", () => Effect.void),
          Effect.orDie
        )
    )

  const network = (what: string) =>
    Effect.acquireRelease(
      Effect.flatMap(DockerEngine, (engine) => engine.ensureNetwork({ name: nameOf(what), labels })),
      () =>
        Effect.flatMap(DockerEngine, (engine) => engine.removeNetwork(nameOf(what))).pipe(
          Effect.catchTag("NetworkNotFound", () => Effect.void),
          Effect.orDie
        )
    )

  /** Retries `effect` until it succeeds, for at most ~10 s. */
  const eventually = <A, X, R>(effect: Effect.Effect<A, X, R>) =>
    Effect.retry(effect, Schedule.intersect(Schedule.spaced("100 millis"), Schedule.recurs(100)))

  const logsContain = (name: string, text: string) =>
    eventually(
      Effect.flatMap(DockerEngine, (engine) => engine.logs(name, { tail: 50 })).pipe(
        Effect.filterOrFail(
          (logs) => logs.includes(text),
          (logs) => new Error(`logs of ${name} lack ${JSON.stringify(text)}: ${JSON.stringify(logs)}`)
        )
      )
    )

  describe(`DockerEngine conformance: ${options.name}`, () => {
    layer(options.layer, { timeout: "60 seconds", excludeTestServices: true })((it) => {
      /** Registers `body` as a test, or as a named skipped test when a feature it needs is unsupported. */
      const test = (
        title: string,
        needs: ReadonlyArray<Feature>,
        body: () => Effect.Effect<void, unknown, DockerEngine | Scope.Scope>
      ) => {
        const missing = needs.filter((feature) => options.unsupported?.[feature] !== undefined)
        if (missing.length > 0) {
          const why = missing.map((feature) => `${feature}: ${options.unsupported?.[feature]}`).join("; ")
          it.scoped.skip(`${title} [unsupported by ${options.name}: ${why}]`, () => Effect.void)
        } else it.scoped(title, body, timeout)
      }

      test("answers ping and reports its version and address", [], () =>
        Effect.gen(function* () {
          const engine = yield* DockerEngine
          yield* engine.ping
          const version = yield* engine.version
          assert.isNotEmpty(version.engine)
          assert.isNotEmpty(version.version)
          assert.isNotEmpty(engine.address)
        })
      )

      test(
        "images: the fixture is present, listed by its label and inspectable; a missing one is ImageNotFound",
        [],
        () =>
          Effect.gen(function* () {
            const engine = yield* DockerEngine
            assert.isTrue(yield* engine.imageExists(image))
            const info = yield* engine.inspectImage(image)
            assert.include(info.tags, ImageRef.withDefaultTag(image))
            const listed = yield* engine.listImages(imageLabels)
            assert.isTrue(
              listed.some((listedImage) => listedImage.tags.includes(ImageRef.withDefaultTag(image)))
            )
            const absent = ImageRef.ImageRef.make(`armada/conformance-absent-${runId}:dev`)
            assert.isFalse(yield* engine.imageExists(absent))
            const error = yield* failureOf(engine.inspectImage(absent))
            assert.strictEqual(error._tag, "ImageNotFound")
            assert.strictEqual((error as DockerError.ImageNotFound).image, absent)
          })
      )

      test("pullAll skips a present image without asking any registry", [], () =>
        Effect.gen(function* () {
          const outcome = yield* Bulk.pullAll([image])
          assert.deepStrictEqual(
            outcome.successes.map((success) => success.value),
            ["present"]
          )
          assert.strictEqual(outcome.failures.length, 0)
        })
      )

      test("pull from an unreachable registry fails fast with PullFailed", ["pull"], () =>
        Effect.gen(function* () {
          const engine = yield* DockerEngine
          const absent = ImageRef.ImageRef.make(`127.0.0.1:1/armada/absent-${runId}:dev`)
          const started = Date.now()
          const error = yield* failureOf(Stream.runDrain(engine.pull(absent)))
          assert.strictEqual(error._tag, "PullFailed")
          assert.strictEqual((error as DockerError.PullFailed).image, absent)
          assert.isBelow(Date.now() - started, 15_000, "pull must fail fast, not hang")
          assert.isFalse(yield* engine.imageExists(absent))
        })
      )

      test("containers: created → running → removed", [], () =>
        Effect.gen(function* () {
          const engine = yield* DockerEngine
          const name = nameOf("lifecycle")
          const id = yield* container(spec("lifecycle", { publish: port, capAdd: ["NET_BIND_SERVICE"] }))
          assert.isNotEmpty(id)
          const created = yield* engine.inspectContainer(name)
          assert.strictEqual(created.state, "created")
          assert.strictEqual(created.exitCode, undefined)
          assert.strictEqual(created.name, name)
          assert.strictEqual(created.id, id)
          assert.deepInclude(created.labels, labels)
          assert.isFalse(created.security.privileged)

          yield* engine.startContainer(name)
          yield* engine.startContainer(id) // starting a running container is a no-op
          const running = yield* engine.inspectContainer(id)
          assert.strictEqual(running.state, "running")
          const binding = running.ports.find((p) => p.containerPort === port)
          assert.isDefined(binding)
          assert.strictEqual(binding?.hostIp, "127.0.0.1")
          assert.isAbove(binding?.hostPort ?? 0, 0)
          yield* logsContain(name, "listening")

          yield* engine.removeContainer(name)
          assert.strictEqual((yield* failureOf(engine.inspectContainer(name)))._tag, "ContainerNotFound")
        })
      )

      test("containers are isolated as inspect reports", ["isolation"], () =>
        Effect.gen(function* () {
          const engine = yield* DockerEngine
          yield* container(spec("isolated", { capAdd: ["NET_BIND_SERVICE"] }))
          const { security } = yield* engine.inspectContainer(nameOf("isolated"))
          assert.isFalse(security.privileged)
          assert.notStrictEqual(security.networkMode, "host")
          assert.include(security.capDrop, "ALL")
          assert.include(security.capAdd, "NET_BIND_SERVICE")
          assert.isTrue(security.securityOpt.some((opt) => opt.startsWith("no-new-privileges")))
        })
      )

      test("resource limits are applied as given", ["resourceLimits"], () =>
        Effect.gen(function* () {
          const engine = yield* DockerEngine
          const limits = { memoryBytes: 256 * 1024 * 1024, pids: 64, nanoCpus: 500_000_000 }
          yield* container(spec("limits", { limits }))
          const info = yield* engine.inspectContainer(nameOf("limits"))
          assert.strictEqual(info.security.memoryBytes, limits.memoryBytes)
          assert.strictEqual(info.security.pidsLimit, limits.pids)
          assert.strictEqual(info.security.nanoCpus, limits.nanoCpus)
        })
      )

      test("the published port answers HTTP on 127.0.0.1", ["http"], () =>
        Effect.gen(function* () {
          const engine = yield* DockerEngine
          yield* container(spec("http", { publish: port }))
          yield* engine.startContainer(nameOf("http"))
          const info = yield* engine.inspectContainer(nameOf("http"))
          const hostPort = info.ports.find((p) => p.containerPort === port)?.hostPort
          assert.isDefined(hostPort)
          const body = yield* eventually(
            Effect.tryPromise(async (signal) => {
              const response = await fetch(`http://127.0.0.1:${hostPort}/`, { signal })
              if (response.status !== 200) throw new Error(`status ${response.status}`)
              return response.text()
            }).pipe(Effect.timeout("2 seconds"))
          )
          assert.include(body, "armada conformance fixture")
        })
      )

      test("an exiting container: wait gives its code, inspect shows exited, logs keep its output", [], () =>
        Effect.gen(function* () {
          const engine = yield* DockerEngine
          const name = nameOf("exit")
          yield* container(spec("exit", { env: { EXIT_CODE: "3" } }))
          yield* engine.startContainer(name)
          assert.strictEqual(yield* engine.waitContainer(name), 3)
          const info = yield* engine.inspectContainer(name)
          assert.strictEqual(info.state, "exited")
          assert.strictEqual(info.exitCode, 3)
          assert.include(yield* engine.logs(name, { tail: 10 }), "exiting with 3")
        })
      )

      test("waiting on a running container ends with 137 when it is removed", [], () =>
        Effect.gen(function* () {
          const engine = yield* DockerEngine
          const name = nameOf("killed")
          yield* container(spec("killed"))
          yield* engine.startContainer(name)
          const waiting = yield* Effect.fork(engine.waitContainer(name))
          // Give the wait time to reach the engine: a wait that arrives after the removal is a 404.
          yield* Effect.sleep(Duration.seconds(1))
          yield* engine.removeContainer(name)
          assert.strictEqual(yield* Fiber.join(waiting), 137)
        })
      )

      test("names are unique (NameConflict) and unknown ones are ContainerNotFound", [], () =>
        Effect.gen(function* () {
          const engine = yield* DockerEngine
          yield* container(spec("unique"))
          const conflict = yield* failureOf(engine.createContainer(spec("unique")))
          assert.strictEqual(conflict._tag, "NameConflict")
          assert.strictEqual((conflict as DockerError.NameConflict).name, nameOf("unique"))
          assert.strictEqual((conflict as DockerError.NameConflict).kind, "container")
          const ghost = nameOf("ghost")
          for (const attempt of [
            engine.inspectContainer(ghost),
            engine.startContainer(ghost),
            engine.removeContainer(ghost),
            engine.waitContainer(ghost),
            engine.logs(ghost, { tail: 1 })
          ]) {
            const error = yield* failureOf(attempt)
            assert.strictEqual(error._tag, "ContainerNotFound")
            assert.strictEqual((error as DockerError.ContainerNotFound).container, ghost)
          }
        })
      )

      test("create refuses a missing image (ImageNotFound) and a missing volume (VolumeNotFound)", [], () =>
        Effect.gen(function* () {
          const engine = yield* DockerEngine
          const absent = ImageRef.ImageRef.make(`armada/conformance-absent-${runId}:dev`)
          const noImage = yield* failureOf(engine.createContainer(spec("no-image", { image: absent })))
          assert.strictEqual(noImage._tag, "ImageNotFound")
          const mounts = [{ volume: nameOf("no-such-volume"), target: "/data", readOnly: false }]
          const noVolume = yield* failureOf(engine.createContainer(spec("no-volume", { mounts })))
          assert.strictEqual(noVolume._tag, "VolumeNotFound")
          assert.strictEqual((noVolume as DockerError.VolumeNotFound).volume, nameOf("no-such-volume"))
          assert.strictEqual((yield* engine.listVolumes(runLabel)).length, 0, "no volume was made on the way")
          assert.strictEqual((yield* engine.listContainers(runLabel)).length, 0)
        })
      )

      test("label filters select exactly the matching containers", [], () =>
        Effect.gen(function* () {
          const engine = yield* DockerEngine
          yield* container(spec("filter-a", { labels: { ...labels, "armada.test.case": "a" } }))
          yield* container(spec("filter-b", { labels: { ...labels, "armada.test.case": "b" } }))
          const onlyA = yield* engine.listContainers({ ...runLabel, "armada.test.case": "a" })
          assert.deepStrictEqual(
            onlyA.map((info) => info.name),
            [nameOf("filter-a")]
          )
          const both = yield* engine.listContainers(runLabel)
          assert.deepStrictEqual(both.map((info) => info.name).sort(), [
            nameOf("filter-a"),
            nameOf("filter-b")
          ])
        })
      )

      test(
        "volumes: create is idempotent, listed by label, VolumeInUse while mounted, then removed",
        [],
        () =>
          Effect.gen(function* () {
            const engine = yield* DockerEngine
            const name = yield* volume("vol")
            yield* engine.createVolume({ name, labels })
            const listed = yield* engine.listVolumes(runLabel)
            assert.deepStrictEqual(
              listed.map((info) => info.name),
              [name]
            )
            assert.deepInclude(listed[0]!.labels, labels)
            yield* container(
              spec("vol-user", { mounts: [{ volume: name, target: "/data", readOnly: false }] })
            )
            const inUse = yield* failureOf(engine.removeVolume(name))
            assert.strictEqual(inUse._tag, "VolumeInUse")
            assert.strictEqual((inUse as DockerError.VolumeInUse).volume, name)
            yield* engine.removeContainer(nameOf("vol-user"))
            yield* engine.removeVolume(name)
            const gone = yield* failureOf(engine.removeVolume(name))
            assert.strictEqual(gone._tag, "VolumeNotFound")
          })
      )

      test("networks: concurrent ensures make one network, containers join it, removal", ["networks"], () =>
        Effect.gen(function* () {
          const engine = yield* DockerEngine
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
          assert.strictEqual(
            (yield* engine.inspectContainer(nameOf("net-member"))).security.networkMode,
            name
          )
          yield* engine.removeContainer(nameOf("net-member"))
          yield* engine.removeNetwork(name)
          assert.strictEqual((yield* failureOf(engine.removeNetwork(name)))._tag, "NetworkNotFound")
        })
      )

      test("archive: put into a volume, get it back under the volume's name and through a mount", [], () =>
        Effect.gen(function* () {
          const engine = yield* DockerEngine
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
          const engine = yield* DockerEngine
          const name = yield* volume("archive-missing")
          const target = { _tag: "Volume" as const, volume: name, image }
          const missing = yield* failureOf(Stream.runDrain(engine.getArchive(target, "/no/such/dir")))
          assert.strictEqual(missing._tag, "EngineError")
          assert.strictEqual((missing as DockerError.EngineError).status, 404)
          const putMissing = yield* failureOf(
            engine.putArchive(target, "/no/such/dir", Archive.toTar(Archive.make({ "x.txt": "x" })))
          )
          assert.strictEqual(putMissing._tag, "EngineError")
          assert.strictEqual((putMissing as DockerError.EngineError).status, 404)
          const noVolume = { _tag: "Volume" as const, volume: nameOf("archive-ghost"), image }
          const ghost = yield* failureOf(Stream.runDrain(engine.getArchive(noVolume, "/")))
          assert.strictEqual(ghost._tag, "VolumeNotFound")
          assert.strictEqual((yield* engine.listVolumes(runLabel)).length, 1, "no volume was made on the way")
        })
      )

      test("archive: a read-only mount refuses writes", ["readOnlyMounts"], () =>
        Effect.gen(function* () {
          const engine = yield* DockerEngine
          const name = yield* volume("archive-ro")
          yield* container(
            spec("archive-ro", { mounts: [{ volume: name, target: "/workspace/cyanprint", readOnly: true }] })
          )
          const inContainer = { _tag: "Container" as const, container: nameOf("archive-ro") }
          const refused = yield* failureOf(
            engine.putArchive(
              inContainer,
              "/workspace/cyanprint",
              Archive.toTar(Archive.make({ "x.txt": "x" }))
            )
          )
          assert.strictEqual(refused._tag, "EngineError")
          const contents = yield* Archive.fromTar(
            engine.getArchive({ _tag: "Volume", volume: name, image }, "/")
          )
          assert.deepStrictEqual(Archive.contents(contents), {})
        })
      )

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
          assert.strictEqual(
            failure.cause._tag === "Fail" ? failure.cause.error._tag : "Die",
            "ImageNotFound"
          )

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
          const engine = yield* DockerEngine
          const cases: ReadonlyArray<[string, Effect.Effect<unknown, DockerError.DockerError>]> = [
            ["spec.name", engine.createContainer(spec("x", { name: "bad name!" }))],
            ["spec.network", engine.createContainer(spec("x", { network: "host" }))],
            [
              "spec.mounts[0].target",
              engine.createContainer(spec("x", { mounts: [{ volume: "vv", target: "rel", readOnly: true }] }))
            ],
            ["name", engine.createVolume({ name: "../escape", labels })],
            ["container", engine.inspectContainer("no/slashes")],
            ["image", Stream.runDrain(engine.pull("Not A Ref!" as ImageRef.ImageRef))],
            [
              "path",
              Stream.runDrain(engine.getArchive({ _tag: "Volume", volume: "vv", image }, "/../../etc"))
            ]
          ]
          for (const [field, attempt] of cases) {
            const error = yield* failureOf(attempt)
            assert.strictEqual(error._tag, "InputError", field)
            assert.strictEqual((error as DockerError.InputError).field, field)
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

      test("leaves nothing labelled behind", [], () =>
        Effect.gen(function* () {
          const engine = yield* DockerEngine
          assert.deepStrictEqual(
            (yield* engine.listContainers(runLabel)).map((info) => info.name),
            []
          )
          assert.deepStrictEqual(
            (yield* engine.listVolumes(runLabel)).map((info) => info.name),
            []
          )
          assert.deepStrictEqual(
            (yield* engine.listNetworks(runLabel)).map((info) => info.name),
            []
          )
        })
      )
    })
  })
}
