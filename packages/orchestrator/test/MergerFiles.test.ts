/**
 * Files through the merger (docs/scale-out.md, 1.1) on the in-memory engine: with the engine's
 * archive API unused (forced, or an engine without one) a run gives the same output as through
 * the archive API, the engine is never asked for an archive, and a template the merger refuses is
 * a typed error naming the merger and the entry, with nothing written.
 */
import { readdirSync, readFileSync, readlinkSync, symlinkSync } from "node:fs"
import { join } from "node:path"
import { InputError, Names } from "@armada/core"
import { ContainerEngine, MemoryEngine } from "@armada/engine"
import { ProcessorClient, Protocol } from "@armada/http"
import { Orchestrator, OrchestratorError } from "@armada/orchestrator"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Layer, Stream } from "effect"
import * as harness from "./harness.js"

const template = harness.makeTemplate({ "README.md": "# the template\n", "name.txt": "{{name}}\n" })
symlinkSync("README.md", join(template.dir, "readme-link"))
const outputs = harness.makeOutputRoot()
afterAll(() => {
  template.remove()
  outputs.remove()
})

let outputCount = 0
const freshOutput = () => join(outputs.dir, `out-${++outputCount}`)

/** Every entry below `dir`: a file's content, a link's `-> target`. */
const treeOf = (dir: string, relative = ""): Record<string, string> =>
  Object.fromEntries(
    readdirSync(join(dir, relative), { withFileTypes: true }).flatMap((entry) => {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`
      if (entry.isSymbolicLink()) return [[path, `-> ${readlinkSync(join(dir, path))}`]]
      if (entry.isDirectory()) return Object.entries(treeOf(dir, path))
      return [[path, readFileSync(join(dir, path), "utf8")]]
    })
  )

/** Processors with a conflict a resolver settles (a read and a write of files), and plugins. */
const pipelineSpec = (options: Record<string, unknown> = {}) =>
  harness.spec({
    template: template.dir,
    processors: ["a", "b"].map((id) => ({ id, image: harness.image })),
    resolvers: [{ id: "join", image: harness.image, files: ["shared.txt"] }],
    plugins: ["x", "y"].map((id) => ({ id, image: harness.image })),
    options
  })

/** No processors: the merge dir is a copy of the template, so the export shows what was loaded. */
const templateSpec = (options: Record<string, unknown> = {}) =>
  harness.spec({ template: template.dir, options })

/** The memory engine without an archive API: it says so, and dies if asked for an archive. */
const withoutArchiveApi = (behaviour: harness.Behaviour) =>
  Layer.effectContext(
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const unused: ContainerEngine.Service = {
        ...engine,
        capabilities: { archiveApi: false },
        putArchive: () => Effect.dieMessage("putArchive on an engine without an archive API"),
        getArchive: () => Stream.dieMessage("getArchive on an engine without an archive API")
      }
      return Context.make(ContainerEngine, unused).pipe(
        Context.add(ProcessorClient, yield* ProcessorClient),
        Context.add(MemoryEngine.MemoryEngine, yield* MemoryEngine.MemoryEngine)
      )
    })
  ).pipe(Layer.provide(harness.layer(behaviour)))

const exported = (spec: Effect.Effect<Parameters<typeof Orchestrator.pipeline>[0]>) =>
  Effect.gen(function* () {
    const output = freshOutput()
    const summary = yield* Orchestrator.pipeline(yield* spec, { output })
    return { summary, tree: treeOf(output) }
  })

describe("files through the merger", () => {
  it.effect("through the archive API by default: the merger's file endpoints are not called", () => {
    const behaviour = { puts: [] as Array<string>, gets: [] as Array<string> }
    return Effect.gen(function* () {
      const { summary } = yield* exported(pipelineSpec())
      assert.deepStrictEqual(summary.resolved, [{ path: "shared.txt", resolver: Names.Id.make("join") }])
      assert.deepStrictEqual([behaviour.puts, behaviour.gets], [[], []])
    }).pipe(Effect.provide(harness.layer(behaviour)))
  })

  it.effect("options.files: merger gives the same output, every transfer through the merger", () => {
    const behaviour = { puts: [] as Array<string>, gets: [] as Array<string> }
    return Effect.gen(function* () {
      const engine = yield* exported(pipelineSpec())
      const merger = yield* exported(pipelineSpec({ files: "merger" }))
      assert.deepStrictEqual(merger.tree, engine.tree)
      assert.deepStrictEqual(merger.summary.files, engine.summary.files)
      assert.deepStrictEqual(merger.summary.resolved, [
        { path: "shared.txt", resolver: Names.Id.make("join") }
      ])
      // The template, the resolved file; the two versions of it, the merge dir.
      assert.strictEqual(behaviour.puts[0], Protocol.templateDir)
      assert.strictEqual(behaviour.puts.length, 2)
      assert.strictEqual(behaviour.gets.length, 3)
      assert.deepStrictEqual(yield* harness.leftovers, [])
    }).pipe(Effect.provide(harness.layer(behaviour)))
  })

  it.effect("the template arrives whole through the merger (links as links)", () => {
    const behaviour = { puts: [] as Array<string>, gets: [] as Array<string> }
    return Effect.gen(function* () {
      const engine = yield* exported(templateSpec())
      const merger = yield* exported(templateSpec({ files: "merger" }))
      assert.deepStrictEqual(engine.tree, {
        "README.md": "# the template\n",
        "name.txt": "{{name}}\n",
        "readme-link": "-> README.md"
      })
      assert.deepStrictEqual(merger.tree, engine.tree)
      assert.deepStrictEqual(behaviour.puts, [Protocol.templateDir])
    }).pipe(Effect.provide(harness.layer(behaviour)))
  })

  it.effect("an engine without an archive API is never asked for one, and the output is the same", () =>
    Effect.gen(function* () {
      const reference = yield* exported(pipelineSpec()).pipe(Effect.provide(harness.layer()))
      const behaviour = { puts: [] as Array<string>, gets: [] as Array<string> }
      const without = yield* exported(pipelineSpec()).pipe(Effect.provide(withoutArchiveApi(behaviour)))
      assert.deepStrictEqual(without.tree, reference.tree)
      assert.strictEqual(behaviour.puts[0], Protocol.templateDir)
    })
  )

  it.effect(
    "ARMADA_FILES=merger forces the merger; a value it does not know is an InputError at warm",
    () => {
      const behaviour = { puts: [] as Array<string>, gets: [] as Array<string> }
      const withVariable = (value: string) =>
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["ARMADA_FILES", value]])))
      return Effect.gen(function* () {
        yield* exported(pipelineSpec()).pipe(withVariable("merger"))
        assert.strictEqual(behaviour.puts[0], Protocol.templateDir)
        const error = yield* Effect.flip(exported(pipelineSpec()).pipe(withVariable("nfs")))
        assert.strictEqual(error._tag, "StageFailed")
        const cause = error._tag === "StageFailed" ? error.failures[0]?.cause : undefined
        assert.isTrue(cause instanceof InputError, String(cause))
        assert.strictEqual(cause instanceof InputError && cause.field, "ARMADA_FILES")
        assert.deepStrictEqual(yield* harness.leftovers, [])
      }).pipe(Effect.provide(harness.layer(behaviour)))
    }
  )

  for (const [title, link] of [
    ["points above the template", "../../etc"],
    ["is absolute", "/etc/passwd"]
  ] as const) {
    it.effect(
      `a template whose symbolic link ${title} is refused by the merger: FileTransferFailed, nothing written`,
      () => {
        const hostile = harness.makeTemplate({ "ok.txt": "fine\n" })
        symlinkSync(link, join(hostile.dir, "evil"))
        return Effect.gen(function* () {
          const spec = yield* harness.spec({
            template: hostile.dir,
            options: { files: "merger", keep: true }
          })
          const error = yield* Effect.flip(Orchestrator.pipeline(spec, { output: freshOutput() }))
          assert.strictEqual(error._tag, "StageFailed")
          if (error._tag !== "StageFailed") return
          assert.strictEqual(error.stage, "start")
          const [failure] = error.failures
          assert.strictEqual(failure?.kind, "template")
          const cause = failure?.cause
          assert.isTrue(cause instanceof OrchestratorError.FileTransferFailed, String(cause))
          if (!(cause instanceof OrchestratorError.FileTransferFailed)) return
          assert.deepStrictEqual(
            {
              container: cause.container,
              path: cause.path,
              reason: cause.reason,
              entry: cause.entry,
              status: cause.status
            },
            {
              container: `${harness.prefix}-merger-merger-${spec.session}`,
              path: Protocol.templateDir,
              reason: "UnsafeEntry",
              entry: "evil",
              status: 400
            }
          )
          // Kept for the look: the template volume got nothing, not even the safe file before it.
          const memory = yield* MemoryEngine.MemoryEngine
          const volumes = yield* ContainerEngine.pipe(Effect.flatMap((engine) => engine.listVolumes()))
          for (const volume of volumes)
            assert.deepStrictEqual([...(yield* memory.readVolume(volume.name)).keys()], [], volume.name)
          yield* Orchestrator.clean({ session: spec.session }, { prefix: harness.prefix })
        }).pipe(Effect.ensuring(Effect.sync(() => hostile.remove())), Effect.provide(harness.layer()))
      }
    )
  }
})
