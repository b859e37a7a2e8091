import { existsSync } from "node:fs"
import { Archive, type ContainerEngine, type ContainerSpec } from "@armada/engine"
import { ProcessorClient, Protocol, layer as processorClientLayer } from "@armada/http"
import { LocalEngine, ProcessGroup } from "@armada/local"
import { TestImage } from "@armada/testkit"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Scope } from "effect"

const labels = { "armada.managed": "true", "armada.test": "local-roles" }
const template = { _tag: "Volume", volume: "armada-roles", image: TestImage.testAppImage } as const
const session = "armada-roles-s1"

const engineFor = () =>
  LocalEngine.make({
    catalog: { [TestImage.testAppImage]: { command: [process.execPath, TestImage.ensureTestAppBundle()] } }
  })

const clientLayer = processorClientLayer.pipe(Layer.provide(NodeHttpClient.layerUndici))

const mounts = {
  template: { volume: template.volume, target: Protocol.templateDir, readOnly: true },
  area: { volume: session, target: Protocol.areaDir, readOnly: false }
}

const spec = (
  name: string,
  role: "processor" | "plugin" | "merger",
  env: Record<string, string> = {}
): ContainerSpec => ({
  name,
  image: TestImage.testAppImage,
  labels: { ...labels, "armada.role": role },
  env: { ARMADA_ROLE: role, ...env },
  publish: Protocol.ports[role],
  mounts: role === "plugin" ? [mounts.area] : [mounts.template, mounts.area]
})

/** Creates, starts and waits until the container answers; returns its endpoint. */
const start = (engine: ContainerEngine.Service, containerSpec: ContainerSpec) =>
  Effect.gen(function* () {
    const client = yield* ProcessorClient
    const id = yield* engine.createContainer(containerSpec)
    yield* engine.startContainer(id)
    const binding = (yield* engine.inspectContainer(id)).ports[0]!
    const endpoint = { name: containerSpec.name, url: `http://127.0.0.1:${binding.hostPort}` }
    yield* client.waitReady(endpoint, {
      deadline: "120 seconds",
      exited: Effect.map(Effect.orDie(engine.waitContainer(id)), (exitCode) => ({ exitCode, logTail: "" }))
    })
    return endpoint
  })

/** The engine with the template loaded into its volume and an empty session volume. */
const prepared = Effect.gen(function* () {
  const engine = yield* engineFor()
  yield* engine.createVolume({ name: template.volume, labels })
  yield* engine.createVolume({ name: session, labels })
  yield* engine.putArchive(
    template,
    "/",
    Archive.toTar(
      Archive.make({ "README.md": "# {{name}}\n", "src/a.txt": "a {{name}}\n", "src/b.txt": "b\n" })
    )
  )
  return engine
})

describe("the test app runs on the local engine in every role", () => {
  it.live(
    "processors → merger → plugin give the expected tree, and nothing is left afterwards",
    () =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const { result, folder } = yield* Scope.extend(
          Effect.gen(function* () {
            const engine = yield* prepared
            const client = yield* ProcessorClient
            const [render, copy, merger, plugin] = yield* Effect.all(
              [
                start(engine, spec("armada-processor-render-s1", "processor")),
                start(engine, spec("armada-processor-copy-s1", "processor")),
                start(engine, spec("armada-merger-merge-s1", "merger")),
                start(engine, spec("armada-plugin-stamp-s1", "plugin"))
              ],
              { concurrency: "unbounded" }
            )
            const request = (writeDir: string, glob: string, type: "template" | "copy") =>
              Protocol.ProcessRequest.make({
                readDir: Protocol.templateDir,
                writeDir,
                globs: [Protocol.Glob.make({ glob, type, exclude: [] })],
                config: { vars: { name: "armada" } }
              })
            const outputs = yield* Effect.all(
              [
                client.process(copy!, request("/workspace/area/copy", "**/*", "copy")),
                client.process(render!, request("/workspace/area/render", "**/*.txt", "template"))
              ],
              { concurrency: "unbounded" }
            )
            assert.deepStrictEqual(
              outputs.map((output) => output.outputDir),
              ["/workspace/area/copy", "/workspace/area/render"]
            )
            // Declared order: copy first, render last, so render wins where both wrote.
            const merged = yield* client.merge(
              merger!,
              "s1",
              Protocol.MergeRequest.make({
                fromDirs: ["/workspace/area/copy", "/workspace/area/render"],
                toDir: "/workspace/area/merged"
              })
            )
            assert.deepStrictEqual(merged.conflicts, ["src/a.txt", "src/b.txt"])
            yield* client.plug(
              plugin!,
              Protocol.PlugRequest.make({
                directory: "/workspace/area/merged",
                config: { writeFile: { path: "STAMP.txt", content: "stamped" } }
              })
            )
            const tree = yield* Archive.fromTar(
              engine.getArchive(
                { _tag: "Container", container: "armada-merger-merge-s1" },
                "/workspace/area/merged"
              )
            )
            const folder = engine.address.slice("local:".length)
            assert.isAtLeast(ProcessGroup.startedUnder(folder).length, 4)
            return { result: Archive.contents(tree), folder }
          }),
          scope
        )
        assert.deepStrictEqual(result, {
          "merged/README.md": "# {{name}}\n",
          "merged/STAMP.txt": "stamped",
          "merged/src/a.txt": "a armada\n",
          "merged/src/b.txt": "b\n"
        })
        yield* Scope.close(scope, Exit.void)
        assert.deepStrictEqual(ProcessGroup.startedUnder(folder), [])
        assert.isFalse(existsSync(folder))
      }).pipe(Effect.provide(clientLayer)),
    300_000
  )

  it.live(
    "a processor writing into its read-only template changes nothing the others see",
    () =>
      Effect.gen(function* () {
        const engine = yield* prepared
        const client = yield* ProcessorClient
        const probe = yield* start(
          engine,
          spec("armada-processor-probe-s1", "processor", { ARMADA_FAULT_WRITE_TEMPLATE: "1" })
        )
        const answer = yield* Effect.either(
          client.process(
            probe,
            Protocol.ProcessRequest.make({
              readDir: Protocol.templateDir,
              writeDir: "/workspace/area/probe",
              globs: [Protocol.Glob.make({ glob: "**/*", type: "copy", exclude: [] })],
              config: {}
            })
          )
        )
        // As root the write lands in the container's private copy (root ignores file modes) and
        // the app reports the template writable; as anyone else it is refused (EACCES).
        assert.strictEqual(answer._tag === "Left", process.getuid?.() === 0)
        const templateFiles = Archive.contents(yield* Archive.fromTar(engine.getArchive(template, "/")))
        assert.deepStrictEqual(Object.keys(templateFiles).sort(), [
          "armada-roles/README.md",
          "armada-roles/src/a.txt",
          "armada-roles/src/b.txt"
        ])
      }).pipe(Effect.scoped, Effect.provide(clientLayer)),
    300_000
  )
})
