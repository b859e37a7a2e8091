import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Names } from "@armada/core"
import { Archive, ContainerEngine, ContainerEngineError, MemoryEngine } from "@armada/engine"
import { ProcessorError, Protocol } from "@armada/http"
import { Orchestrator, Progress } from "@armada/orchestrator"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, FiberId, Layer, Stream } from "effect"
import * as harness from "./harness.js"

const template = harness.makeTemplate({ "README.md": "# the template\n", "name.txt": "{{name}}\n" })
const outputs = harness.makeOutputRoot()
afterAll(() => {
  template.remove()
  outputs.remove()
})

let outputCount = 0
/** A fresh output path below the test's temporary root. */
const freshOutput = (suffix = "") => join(outputs.dir, `out-${++outputCount}${suffix}`)

/** The progress events of a run, in order; `onEvent` also sees each one as it comes. */
const recording = (onEvent: (event: Progress.Event) => Effect.Effect<void> = () => Effect.void) => {
  const events: Array<Progress.Event> = []
  return {
    events,
    layer: Progress.layer((event) =>
      Effect.zipRight(
        Effect.sync(() => events.push(event)),
        onEvent(event)
      )
    )
  }
}

const processors = (...ids: Array<string>) => ids.map((id) => ({ id, image: harness.image }))
const plugins = processors

const badStatus = (id: string) =>
  new ProcessorError.BadStatus({ endpoint: { name: id, url: "memory" }, status: 500, body: `${id} broke` })

const readText = (dir: string, file: string) => readFileSync(join(dir, file), "utf8")

describe("Orchestrator.pipeline", () => {
  it.effect("runs processors → merge → plugins, exports the merge dir, removes everything", () => {
    const recorded = recording()
    return Effect.gen(function* () {
      const spec = yield* harness.spec({
        template: template.dir,
        processors: processors("a", "b", "c"),
        plugins: plugins("x", "y")
      })
      const output = freshOutput()
      const summary = yield* Orchestrator.pipeline(spec, { output })

      assert.deepStrictEqual(summary.files, ["a.txt", "b.txt", "c.txt", "plugins.log", "shared.txt"])
      assert.strictEqual(summary.format, "directory")
      assert.deepStrictEqual(summary.conflicts, ["shared.txt"])
      // Last write wins in declared order.
      assert.strictEqual(readText(output, "shared.txt"), "last writer: c\n")
      assert.strictEqual(readText(output, "b.txt"), "written by b\n")
      // Plugins ran in declared order, each seeing the one before.
      assert.strictEqual(readText(output, "plugins.log"), "x\ny\n")
      assert.deepStrictEqual(
        summary.items.map((item) => `${item.role}/${item.id}`),
        ["processor/a", "processor/b", "processor/c", "plugin/x", "plugin/y", "merger/merger"]
      )
      assert.deepStrictEqual(yield* harness.leftovers, [])

      const stages = recorded.events.flatMap((e) => (e._tag === "StageStarted" ? [e.stage] : []))
      assert.deepStrictEqual(stages, ["warm", "start", "process", "merge", "plug", "export"])
      const ready = recorded.events.filter((e) => e._tag === "ContainerReady")
      assert.strictEqual(ready.length, 6)
      const last = recorded.events.at(-1)
      assert.strictEqual(last?._tag, "CleanupDone")
      assert.deepStrictEqual(last?._tag === "CleanupDone" ? [last.removed, last.failed, last.kept] : [], [
        9,
        0,
        false
      ])
    }).pipe(Effect.provide(Layer.merge(harness.layer(), recorded.layer)))
  })

  it.effect("k of n processors fail: exactly those are reported, the others' outputs are untouched", () => {
    const recorded = recording()
    const behaviour: harness.Behaviour = {
      process: {
        p2: () => Effect.fail(badStatus("p2")),
        // The client refuses an outputDir outside the area: a failure of that processor.
        p4: () => Effect.succeed(Protocol.ProcessResponse.make({ outputDir: "/etc" })),
        p5: () => Effect.dieMessage("p5 crashed")
      },
      merges: []
    }
    return Effect.gen(function* () {
      const memory = yield* MemoryEngine.MemoryEngine
      const spec = yield* harness.spec({
        template: template.dir,
        processors: processors("p1", "p2", "p3", "p4", "p5", "p6")
      })
      yield* Effect.scoped(
        Effect.gen(function* () {
          const session = yield* Orchestrator.warm(spec)
          const started = yield* Orchestrator.start(session)
          const error = yield* Effect.flip(Orchestrator.run(started))

          assert.strictEqual(error._tag, "StageFailed")
          assert.strictEqual(error.stage, "process")
          assert.deepStrictEqual(
            error.failures.map((f) => [f.stage, f.kind, f.id, f.image, f.cause._tag]),
            [
              ["process", "processor", "p2", harness.image, "BadStatus"],
              ["process", "processor", "p4", harness.image, "BadResponse"],
              ["process", "processor", "p5", harness.image, "Defect"]
            ]
          )
          assert.deepStrictEqual(error.skipped, [])
          const p2 = error.failures[0]!.cause
          assert.strictEqual(p2._tag === "BadStatus" ? p2.status : 0, 500)
          assert.match(error.message, /p2.*HTTP 500/)
          // Stage 2 never ran.
          assert.deepStrictEqual(behaviour.merges, [])

          // Each successful processor's output dir holds exactly what it wrote, nothing else was written.
          const area = yield* memory.readVolume(session.sessionVolume)
          const done = recorded.events.flatMap((e) => (e._tag === "ProcessorDone" ? [e] : []))
          assert.deepStrictEqual(done.map((e) => e.id).sort(), ["p1", "p3", "p6"])
          for (const event of done) {
            const written = Archive.subtree(area, event.outputDir.slice(`${Protocol.areaDir}/`.length))
            assert.deepStrictEqual(
              Archive.contents(written),
              Archive.contents(harness.processorFiles(event.id))
            )
          }
          const topLevel = [...area.keys()].filter((path) => !path.includes("/"))
          assert.strictEqual(topLevel.length, 3)
        })
      )
      assert.deepStrictEqual(yield* harness.leftovers, [])
    }).pipe(Effect.provide(Layer.merge(harness.layer(behaviour), recorded.layer)))
  })

  it.effect("a container that exits at start is reported at once with its exit code and log tail", () =>
    Effect.gen(function* () {
      const memory = yield* MemoryEngine.MemoryEngine
      // An hour to become ready: the test clock never moves, so only an immediate report ends this.
      const spec = yield* harness.spec({
        template: template.dir,
        processors: processors("ok", "dies"),
        plugins: plugins("fine"),
        options: { timeouts: { ready: "1h" } }
      })
      yield* memory.exitAfterStart(
        Names.containerName(harness.prefix, "processor", Names.Id.make("dies"), spec.session),
        {
          exitCode: 3,
          logs: ["starting", "boom: no config"]
        }
      )
      const error = yield* Effect.flip(Orchestrator.pipeline(spec, { output: freshOutput() }))
      assert.strictEqual(error.stage, "start")
      assert.deepStrictEqual(
        error.failures.map((f) => [f.kind, f.id]),
        [["processor", "dies"]]
      )
      const cause = error.failures[0]!.cause
      assert.strictEqual(cause._tag, "Exited")
      if (cause._tag === "Exited") {
        assert.strictEqual(cause.exitCode, 3)
        assert.include(cause.logTail, "boom: no config")
      }
      assert.deepStrictEqual(yield* harness.leftovers, [])
    }).pipe(Effect.provide(harness.layer()))
  )

  it.effect(
    "a container that exits while it is waited for is reported with its exit code, without polling the engine",
    () => {
      const recorded = recording()
      return Effect.gen(function* () {
        const memory = yield* MemoryEngine.MemoryEngine
        const spec = yield* harness.spec({
          template: template.dir,
          processors: processors("ok", "hangs"),
          options: { timeouts: { ready: "1h" } }
        })
        const name = Names.containerName(harness.prefix, "processor", Names.Id.make("hangs"), spec.session)
        const run = yield* Effect.fork(Effect.flip(Orchestrator.pipeline(spec, { output: freshOutput() })))
        // Once it has started (and is being waited for), it dies.
        while (!recorded.events.some((e) => e._tag === "ContainerStarted" && e.name === name))
          yield* Effect.yieldNow()
        yield* memory.exit(name, 7, ["late death"])
        const error = yield* Fiber.join(run)
        assert.deepStrictEqual(
          error.failures.map((f) => [
            f.stage,
            f.id,
            f.cause._tag,
            f.cause._tag === "Exited" ? f.cause.exitCode : 0
          ]),
          [["start", "hangs", "Exited", 7]]
        )
        const cause = error.failures[0]!.cause
        assert.include(cause._tag === "Exited" ? cause.logTail : "", "late death")
        // One wait call per container, and an inspect only right after its start.
        const calls = yield* memory.calls
        assert.strictEqual(calls.filter((c) => c.operation === "inspectContainer").length, 3)
        assert.deepStrictEqual(yield* harness.leftovers, [])
      }).pipe(Effect.provide(Layer.merge(harness.layer({ neverReady: ["hangs"] }), recorded.layer)))
    }
  )

  it.effect("plugins run one after another in declared order even when the first is slow", () => {
    const secondDone = Effect.unsafeMakeLatch(false)
    const recorded = recording((event) =>
      event._tag === "ProcessorDone" && event.id === "second" ? secondDone.open : Effect.void
    )
    const timeline: Array<string> = []
    const behaviour: harness.Behaviour = {
      process: {
        // The first declared processor finishes last: the merge still takes it first.
        first: (request) =>
          secondDone.await.pipe(Effect.as(Protocol.ProcessResponse.make({ outputDir: request.writeDir })))
      },
      plug: {
        // Slow: other fibers get a hundred turns meanwhile, where a plugin run beside it would start.
        slow: () =>
          Effect.sync(() => timeline.push("slow:start")).pipe(
            Effect.zipRight(Effect.repeatN(Effect.yieldNow(), 99)),
            Effect.zipRight(Effect.sync(() => timeline.push("slow:end")))
          ),
        fast: () => Effect.sync(() => timeline.push("fast:start"))
      },
      merges: []
    }
    return Effect.gen(function* () {
      const spec = yield* harness.spec({
        template: template.dir,
        processors: processors("first", "second"),
        plugins: plugins("slow", "fast")
      })
      const output = freshOutput()
      yield* Orchestrator.pipeline(spec, { output })
      assert.deepStrictEqual(timeline, ["slow:start", "slow:end", "fast:start"])
      assert.strictEqual(readText(output, "plugins.log"), "slow\nfast\n")
      const done = recorded.events.flatMap((e) => (e._tag === "ProcessorDone" ? [e] : []))
      assert.deepStrictEqual(
        done.map((e) => e.id),
        ["second", "first"]
      )
      const byId = new Map(done.map((e) => [e.id, e.outputDir]))
      assert.deepStrictEqual(behaviour.merges?.[0]?.fromDirs, [byId.get("first")!, byId.get("second")!])
    }).pipe(Effect.provide(Layer.merge(harness.layer(behaviour), recorded.layer)))
  })

  it.effect("the first plugin failure stops stage 3 and names the plugins skipped", () => {
    const called: Array<string> = []
    const behaviour: harness.Behaviour = {
      plug: {
        a: () => Effect.sync(() => called.push("a")),
        b: () =>
          Effect.zipRight(
            Effect.sync(() => called.push("b")),
            Effect.fail(badStatus("b"))
          ),
        c: () => Effect.sync(() => called.push("c"))
      }
    }
    return Effect.gen(function* () {
      const spec = yield* harness.spec({
        template: template.dir,
        processors: processors("p"),
        plugins: plugins("a", "b", "c")
      })
      const error = yield* Effect.flip(Orchestrator.pipeline(spec, { output: freshOutput() }))
      assert.strictEqual(error.stage, "plug")
      assert.deepStrictEqual(
        error.failures.map((f) => [f.kind, f.id, f.cause._tag]),
        [["plugin", "b", "BadStatus"]]
      )
      assert.deepStrictEqual(error.skipped, ["c"])
      assert.deepStrictEqual(called, ["a", "b"])
      assert.deepStrictEqual(yield* harness.leftovers, [])
    }).pipe(Effect.provide(harness.layer(behaviour)))
  })

  it.effect(
    "with no processors the merge starts from the template; with no plugins stage 3 is skipped",
    () => {
      const recorded = recording()
      const behaviour: harness.Behaviour = { merges: [] }
      return Effect.gen(function* () {
        const spec = yield* harness.spec({ template: template.dir })
        const output = freshOutput()
        const summary = yield* Orchestrator.pipeline(spec, { output })
        assert.deepStrictEqual(
          behaviour.merges?.map((m) => m.fromDirs),
          [[Protocol.templateDir]]
        )
        assert.deepStrictEqual(summary.files, ["README.md", "name.txt"])
        assert.strictEqual(readText(output, "name.txt"), "{{name}}\n")
        const stages = recorded.events.flatMap((e) => (e._tag === "StageStarted" ? [e.stage] : []))
        assert.deepStrictEqual(stages, ["warm", "start", "process", "merge", "export"])
        assert.strictEqual(summary.durations.plug, 0)
      }).pipe(Effect.provide(Layer.merge(harness.layer(behaviour), recorded.layer)))
    }
  )

  it.effect(
    "pulls what is missing, skips what is present, reports a failed pull for every item using it (resolvers too)",
    () => {
      const recorded = recording()
      return Effect.gen(function* () {
        const spec = yield* harness.spec({
          template: template.dir,
          processors: [
            { id: "a", image: "acme/pullable:1" },
            { id: "b", image: "acme/nowhere:1" },
            { id: "c", image: harness.image }
          ],
          plugins: [{ id: "d", image: "acme/nowhere:1" }],
          resolvers: [{ id: "r", image: "acme/nowhere:1", files: ["*.json"] }]
        })
        const error = yield* Effect.flip(Orchestrator.pipeline(spec, { output: freshOutput() }))
        assert.strictEqual(error.stage, "warm")
        assert.deepStrictEqual(
          error.failures.map((f) => [f.kind, f.id, f.image, f.cause._tag]),
          [
            ["processor", "b", "acme/nowhere:1", "PullFailed"],
            ["plugin", "d", "acme/nowhere:1", "PullFailed"],
            ["resolver", "r", "acme/nowhere:1", "PullFailed"]
          ]
        )
        const images = recorded.events.flatMap((e) =>
          e._tag === "ImagePresent" || e._tag === "ImagePulled" ? [`${e._tag} ${e.image}`] : []
        )
        assert.deepStrictEqual(images.sort(), [
          "ImagePresent armada/test-app:dev",
          "ImagePulled acme/pullable:1"
        ])
        assert.deepStrictEqual(yield* harness.leftovers, [])
      }).pipe(
        Effect.provide(
          Layer.merge(
            harness.layer({}, { images: [{ ref: harness.image }], catalog: [{ ref: "acme/pullable:1" }] }),
            recorded.layer
          )
        )
      )
    }
  )

  it.effect("pulls each image once however the spec writes it, and follows the spec's pull policy", () => {
    const recorded = recording()
    return Effect.gen(function* () {
      const control = yield* MemoryEngine.MemoryEngine
      const pulls = Effect.map(control.calls, (calls) => calls.filter((call) => call.operation === "pull"))
      // Two ways of writing one image: Docker Hub's host made explicit.
      const processors = [
        { id: "a", image: "acme/pullable:1" },
        { id: "b", image: "docker.io/acme/pullable:1" }
      ]
      const never = yield* harness.spec({ template: template.dir, processors, options: { pull: "never" } })
      const refused = yield* Effect.flip(Effect.scoped(Orchestrator.warm(never)))
      assert.deepStrictEqual(
        refused.failures.map((f) => [f.kind, f.id, f.cause._tag]),
        [
          ["processor", "a", "ImageNotFound"],
          ["processor", "b", "ImageNotFound"]
        ]
      )
      assert.deepStrictEqual(yield* pulls, [], "never: no pull")

      const missing = yield* harness.spec({ template: template.dir, processors })
      yield* Effect.scoped(Orchestrator.warm(missing))
      assert.deepStrictEqual(
        (yield* pulls).map((call) => call.name),
        ["acme/pullable:1"]
      )
      const started = recorded.events.flatMap((e) =>
        e._tag === "StageStarted" && e.stage === "warm" ? [e.items] : []
      )
      assert.deepStrictEqual(started, [2, 2], "two images: the pullable one and the merger's")
      assert.deepStrictEqual(yield* harness.leftovers, [])
    }).pipe(
      Effect.provide(
        Layer.merge(
          harness.layer({}, { images: [{ ref: harness.image }], catalog: [{ ref: "acme/pullable:1" }] }),
          recorded.layer
        )
      )
    )
  })

  it.effect("a merge failure is a StageFailed of stage merge naming the merger", () =>
    Effect.gen(function* () {
      const spec = yield* harness.spec({ template: template.dir, processors: processors("p") })
      const error = yield* Effect.flip(Orchestrator.pipeline(spec, { output: freshOutput() }))
      assert.strictEqual(error.stage, "merge")
      assert.deepStrictEqual(
        error.failures.map((f) => [f.kind, f.id, f.image, f.cause._tag]),
        [["merger", "merger", harness.image, "Timeout"]]
      )
      assert.deepStrictEqual(yield* harness.leftovers, [])
    }).pipe(
      Effect.provide(
        harness.layer({
          merge: () =>
            Effect.fail(
              new ProcessorError.Timeout({ endpoint: { name: "merger", url: "memory" }, afterMillis: 10 })
            )
        })
      )
    )
  )
})

describe("containers, volumes and network", () => {
  it.effect("each container gets its role, env, labels, mounts, network, port and limits", () => {
    const envs = new Map<string, Readonly<Record<string, string>>>()
    const cohorts = new Map<string, string | undefined>()
    const options: MemoryEngine.Options = {
      images: [
        {
          ref: harness.image,
          run: ({ name, env }) => {
            envs.set(name, env)
            return {}
          }
        }
      ]
    }
    return Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const spec = yield* harness.spec({
        template: template.dir,
        processors: [{ id: "p", image: harness.image, env: { ARMADA_FAULT_X: "1", ARMADA_ROLE: "plugin" } }],
        plugins: plugins("q"),
        options: { limits: { memory: "64m", cpus: 0.5, pids: 100 } }
      })
      yield* Effect.scoped(
        Effect.gen(function* () {
          const session = yield* Orchestrator.warm(spec)
          const started = yield* Orchestrator.start(session)
          const byName = (role: Names.Role, id: string) =>
            engine.inspectContainer(
              Names.containerName(harness.prefix, role, Names.Id.make(id), spec.session)
            )
          const processor = yield* byName("processor", "p")
          const plugin = yield* byName("plugin", "q")
          const merger = yield* byName("merger", "merger")

          assert.deepStrictEqual(processor.labels, {
            "armadaunit.managed": "true",
            "armadaunit.session": "s1",
            "armadaunit.role": "processor",
            "armadaunit.run": session.runId
          })
          assert.strictEqual(plugin.labels["armadaunit.role"], "plugin")
          assert.strictEqual(merger.labels["armadaunit.role"], "merger")
          const template = {
            volume: "armadaunit-tpl-s1-template",
            target: "/workspace/cyanprint",
            readOnly: true
          }
          const area = { volume: "armadaunit-tpl-s1", target: "/workspace/area", readOnly: false }
          assert.deepStrictEqual(processor.mounts, [template, area])
          assert.deepStrictEqual(merger.mounts, [template, area])
          // Plugins read the template too, as in CyanPrint's coordinator.
          assert.deepStrictEqual(plugin.mounts, [template, area])
          assert.deepStrictEqual(
            [processor, plugin, merger].map((c) => c.ports.map((p) => p.containerPort)),
            [[5551], [5552], [9000]]
          )
          assert.deepStrictEqual(
            [processor, plugin, merger].map((c) => c.security.networkMode),
            ["armadaunit", "armadaunit", "armadaunit"]
          )
          assert.deepStrictEqual(
            [processor.security.memoryBytes, processor.security.nanoCpus, processor.security.pidsLimit],
            [64 * 1024 * 1024, 500_000_000, 100]
          )
          // The item's env is passed; the role is armada's to set.
          assert.deepStrictEqual(envs.get(processor.name), { ARMADA_FAULT_X: "1", ARMADA_ROLE: "processor" })
          assert.deepStrictEqual(envs.get(plugin.name), { ARMADA_ROLE: "plugin" })
          assert.deepStrictEqual(envs.get(merger.name), { ARMADA_ROLE: "merger" })
          assert.strictEqual(started.merger.endpoint.url, `http://127.0.0.1:${merger.ports[0]!.hostPort}`)
          // Each wait learns from the containers of its role and image.
          assert.deepStrictEqual(
            [processor, plugin, merger].map((c) => cohorts.get(c.name)),
            [`processor ${harness.image}`, `plugin ${harness.image}`, `merger ${spec.merger.image}`]
          )

          // The template was loaded into its volume.
          const memory = yield* MemoryEngine.MemoryEngine
          assert.deepStrictEqual(Archive.contents(yield* memory.readVolume(session.templateVolume)), {
            "README.md": "# the template\n",
            "name.txt": "{{name}}\n"
          })
          const volumes = yield* engine.listVolumes(Names.labelFilter(harness.prefix, spec.session))
          assert.deepStrictEqual(volumes.map((v) => [v.name, v.labels["armadaunit.role"]]).sort(), [
            ["armadaunit-tpl-s1", "session"],
            ["armadaunit-tpl-s1-template", "template"]
          ])
        })
      )
      assert.deepStrictEqual(yield* harness.leftovers, [])
    }).pipe(Effect.provide(harness.layer({ cohorts }, options)))
  })

  it.effect(
    "the security profile: default keeps what root's file work needs, strict drops every capability",
    () =>
      Effect.gen(function* () {
        const engine = yield* ContainerEngine
        const capabilitiesOf = (security: "default" | "strict" | undefined) =>
          Effect.gen(function* () {
            const spec = yield* harness.spec({
              template: template.dir,
              processors: processors("p"),
              plugins: plugins("q"),
              resolvers: [{ id: "r", image: harness.image, files: ["*.json"] }],
              options: security === undefined ? {} : { security }
            })
            return yield* Effect.scoped(
              Effect.gen(function* () {
                const started = yield* Orchestrator.start(yield* Orchestrator.warm(spec))
                const containers = [
                  ...started.processors,
                  ...started.plugins,
                  ...started.resolvers,
                  started.merger
                ]
                const infos = yield* Effect.forEach(containers, (c) => engine.inspectContainer(c.containerId))
                const resolver = infos.find((info) => info.labels["armadaunit.role"] === "resolver")!
                // A resolver's work comes in its request: it mounts nothing.
                assert.deepStrictEqual(resolver.mounts, [])
                assert.deepStrictEqual(
                  resolver.ports.map((p) => p.containerPort),
                  [5553]
                )
                return infos.map((info) => ({
                  capDrop: info.security.capDrop,
                  capAdd: info.security.capAdd,
                  securityOpt: info.security.securityOpt
                }))
              })
            )
          })
        const kept = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID"]
        for (const security of [undefined, "default"] as const) {
          for (const container of yield* capabilitiesOf(security)) {
            assert.deepStrictEqual(container, {
              capDrop: ["ALL"],
              capAdd: kept,
              securityOpt: ["no-new-privileges"]
            })
          }
        }
        for (const container of yield* capabilitiesOf("strict")) {
          assert.deepStrictEqual(container, {
            capDrop: ["ALL"],
            capAdd: [],
            securityOpt: ["no-new-privileges"]
          })
        }
        assert.deepStrictEqual(yield* harness.leftovers, [])
      }).pipe(Effect.provide(harness.layer()))
  )

  it.effect("two runs of one spec at once both succeed, and each removes only its own resources", () => {
    const order: Array<string> = []
    const gates = {
      twoWarmed: Deferred.unsafeMake<void>(FiberId.none),
      oneCleaned: Deferred.unsafeMake<void>(FiberId.none)
    }
    // Run two warms (its template volume exists beside run one's), then waits until run one has
    // finished and removed what it made; only then does it process.
    const interleave = Progress.layer((event) => {
      const session = "session" in event ? event.session : undefined
      if (event._tag === "StageDone" && session === "two" && event.stage === "warm") {
        order.push("two warmed")
        return Deferred.succeed(gates.twoWarmed, undefined)
      }
      if (event._tag === "StageDone" && session === "one" && event.stage === "export") {
        return Deferred.await(gates.twoWarmed)
      }
      if (event._tag === "CleanupDone" && session === "one") {
        order.push("one cleaned")
        return Deferred.succeed(gates.oneCleaned, undefined)
      }
      if (event._tag === "StageStarted" && session === "two" && event.stage === "process") {
        return Effect.zipRight(
          Deferred.await(gates.oneCleaned),
          Effect.sync(() => order.push("two processes"))
        )
      }
      return Effect.void
    })
    return Effect.gen(function* () {
      const input = { template: template.dir, processors: processors("a", "b"), plugins: plugins("q") }
      const one = yield* harness.spec({ ...input, session: "one" })
      const two = yield* harness.spec({ ...input, session: "two" })
      const [first, second] = yield* Effect.all(
        [
          Orchestrator.pipeline(one, { output: freshOutput() }),
          Orchestrator.pipeline(two, { output: freshOutput() })
        ],
        { concurrency: 2 }
      )
      assert.deepStrictEqual(order, ["two warmed", "one cleaned", "two processes"])
      assert.deepStrictEqual(second.files, first.files)
      assert.deepStrictEqual(readText(second.output, "a.txt"), readText(first.output, "a.txt"))
      assert.deepStrictEqual(yield* harness.leftovers, [])
    }).pipe(Effect.provide(Layer.merge(harness.layer(), interleave)))
  })

  it.effect("keep leaves everything for later; clean finds it by label, by session or all", () =>
    Effect.gen(function* () {
      const first = yield* harness.spec({
        template: template.dir,
        processors: processors("p"),
        options: { keep: true }
      })
      const second = yield* harness.spec({
        session: "s2",
        templateId: "other",
        template: template.dir,
        plugins: plugins("q"),
        options: { keep: true }
      })
      yield* Orchestrator.pipeline(first, { output: freshOutput() })
      yield* Orchestrator.pipeline(second, { output: freshOutput() })
      assert.strictEqual((yield* harness.leftovers).length, 2 + 2 + 2 + 2 + 1)

      const one = yield* Orchestrator.clean({ session: first.session }, { prefix: harness.prefix })
      assert.deepStrictEqual(one.failures, [])
      assert.deepStrictEqual(one.successes.map((s) => `${s.item.kind} ${s.item.name} ${s.value}`).sort(), [
        "container armadaunit-merger-merger-s1 removed",
        "container armadaunit-processor-p-s1 removed",
        "network armadaunit in-use",
        "volume armadaunit-tpl-s1 removed",
        "volume armadaunit-tpl-s1-template removed"
      ])
      const all = yield* Orchestrator.clean({ all: true }, { prefix: harness.prefix })
      assert.deepStrictEqual(all.failures, [])
      assert.deepStrictEqual(all.successes.map((s) => `${s.item.kind} ${s.value}`).sort(), [
        "container removed",
        "container removed",
        "network removed",
        "volume removed",
        "volume removed"
      ])
      assert.deepStrictEqual(yield* harness.leftovers, [])
    }).pipe(Effect.provide(harness.layer()))
  )

  it.effect("a resource the cleanup could not remove is reported with its typed error", () => {
    const recorded = recording()
    return Effect.gen(function* () {
      const memory = yield* MemoryEngine.MemoryEngine
      const busy = new ContainerEngineError.EngineError({
        operation: "removeContainer",
        resource: "armadaunit-processor-p-s1",
        status: 500,
        detail: "device or resource busy"
      })
      yield* memory.fail({ operation: "removeContainer", name: "armadaunit-processor-p-s1", error: busy })
      const spec = yield* harness.spec({ template: template.dir, processors: processors("p") })
      yield* Orchestrator.pipeline(spec, { output: freshOutput() })
      const done = recorded.events.at(-1)
      assert.strictEqual(done?._tag, "CleanupDone")
      if (done?._tag === "CleanupDone") {
        // The container stays, and so do the volumes it still uses.
        assert.strictEqual(done.failed, 3)
        assert.deepStrictEqual(
          done.failures.map((f) => [f.kind, f.name, f.cause._tag]),
          [
            ["container", "armadaunit-processor-p-s1", "EngineError"],
            ["volume", "armadaunit-tpl-s1-template", "VolumeInUse"],
            ["volume", "armadaunit-tpl-s1", "VolumeInUse"]
          ]
        )
        assert.strictEqual(done.failures[0]?.cause.message, busy.message)
      }
      yield* memory.reset
      yield* Orchestrator.clean({ session: spec.session }, { prefix: harness.prefix })
      assert.deepStrictEqual(yield* harness.leftovers, [])
    }).pipe(Effect.provide(Layer.merge(harness.layer(), recorded.layer)))
  })

  it.effect("a cleanup that cannot list what the run created says so in its event, not only in a log", () => {
    const recorded = recording()
    return Effect.gen(function* () {
      const memory = yield* MemoryEngine.MemoryEngine
      const refused = new ContainerEngineError.EngineUnreachable({
        address: "tcp://127.0.0.1:2376",
        detail: "connection refused"
      })
      yield* memory.fail({ operation: "listContainers", error: refused })
      const spec = yield* harness.spec({ template: template.dir, processors: processors("p") })
      const summary = yield* Orchestrator.pipeline(spec, { output: freshOutput() })
      assert.deepStrictEqual(summary.files, ["p.txt", "shared.txt"])
      const done = recorded.events.at(-1)
      assert.strictEqual(done?._tag, "CleanupDone")
      if (done?._tag === "CleanupDone") {
        assert.deepStrictEqual([done.removed, done.failed, done.kept], [0, 0, false])
        assert.strictEqual(done.unlisted?._tag, "EngineUnreachable")
        assert.strictEqual(done.unlisted?.message, refused.message)
      }
      // Nothing was removed: `armada clean` does it once the engine answers.
      yield* memory.reset
      assert.isAbove((yield* harness.leftovers).length, 0)
      yield* Orchestrator.clean({ session: spec.session }, { prefix: harness.prefix })
      assert.deepStrictEqual(yield* harness.leftovers, [])
    }).pipe(Effect.provide(Layer.merge(harness.layer(), recorded.layer)))
  })

  it.effect("a volume name already taken is a warm failure, and nothing of the run stays", () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      yield* engine.createVolume({ name: "armadaunit-tpl-s1-template", labels: {} })
      const spec = yield* harness.spec({ template: template.dir, processors: processors("p") })
      const error = yield* Effect.flip(Orchestrator.pipeline(spec, { output: freshOutput() }))
      assert.strictEqual(error.stage, "warm")
      assert.deepStrictEqual(
        error.failures.map((f) => [f.kind, f.id, f.cause._tag]),
        [["template", "armadaunit-tpl-s1-template", "NameConflict"]]
      )
      assert.deepStrictEqual(yield* harness.leftovers, [])
      // The volume that was there before is not the run's to remove.
      assert.deepStrictEqual(
        (yield* engine.listVolumes()).map((v) => v.name),
        ["armadaunit-tpl-s1-template"]
      )
    }).pipe(Effect.provide(harness.layer()))
  )
})

describe("export", () => {
  it.effect("a .tar.gz holds the merge dir's files at their paths", () =>
    Effect.gen(function* () {
      const spec = yield* harness.spec({ template: template.dir, processors: processors("a", "b") })
      const output = freshOutput(".tar.gz")
      const summary = yield* Orchestrator.pipeline(spec, { output })
      assert.strictEqual(summary.format, "tar.gz")
      const tree = yield* Archive.fromTar(Archive.gunzip(Stream.make(new Uint8Array(readFileSync(output)))))
      assert.deepStrictEqual(Archive.contents(tree), {
        "a.txt": "written by a\n",
        "b.txt": "written by b\n",
        "shared.txt": "last writer: b\n"
      })
    }).pipe(Effect.provide(harness.layer()))
  )

  it.effect("refuses to write into a directory that is not empty", () =>
    Effect.gen(function* () {
      const spec = yield* harness.spec({ template: template.dir, processors: processors("a") })
      const occupied = harness.makeOutputRoot()
      writeFileSync(join(occupied.dir, "mine.txt"), "precious")
      const error = yield* Effect.flip(Orchestrator.pipeline(spec, { output: occupied.dir }))
      assert.strictEqual(error.stage, "export")
      assert.strictEqual(error.failures[0]!.cause._tag, "ArchiveError")
      assert.strictEqual(readText(occupied.dir, "mine.txt"), "precious")
      occupied.remove()
      assert.deepStrictEqual(yield* harness.leftovers, [])
    }).pipe(Effect.provide(harness.layer()))
  )
})
