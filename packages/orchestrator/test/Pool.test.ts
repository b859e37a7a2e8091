/**
 * The warm pool on the in-memory engine: reuse, the check before reuse, discarding a set whose run
 * failed, distinct sets for concurrent runs under `maxSets`, eviction, the idle TTL, `remove`,
 * and closing the pool's scope; and what goes into the key.
 */
import { createHash } from "node:crypto"
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Archive, ContainerEngine, MemoryEngine } from "@armada/engine"
import { ProcessorClient, ProcessorError, Protocol } from "@armada/http"
import { Pool } from "@armada/orchestrator"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, FiberId, Layer, Scope, Stream, TestClock } from "effect"
import * as harness from "./harness.js"

const template = harness.makeTemplate({ "README.md": "# the template\n" })
const sameContent = harness.makeTemplate({ "README.md": "# the template\n" })
const otherTemplate = harness.makeTemplate({ "README.md": "# another template\n" })
const outputs = harness.makeOutputRoot()
afterAll(() => {
  for (const dir of [template, sameContent, otherTemplate, outputs]) dir.remove()
})
let count = 0
const output = () => `${outputs.dir}/out-${++count}`

const input = (overrides: Record<string, unknown> = {}) =>
  harness.spec({
    template: template.dir,
    processors: [
      { id: "p1", image: harness.image },
      { id: "p2", image: harness.image }
    ],
    plugins: [{ id: "q", image: harness.image }],
    ...overrides
  })

const files = ["p1.txt", "p2.txt", "plugins.log", "shared.txt"]

/** A pool in a scope of the test's own, closed by the test. */
const scopedPool = (options: Pool.Options) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const pool = yield* Scope.extend(Pool.make(options), scope)
    return { pool, close: Scope.close(scope, Exit.void) }
  })

/** Until no set is busy: a run answers before its set is back (its directories are removed after). */
const settled = (pool: Pool.Pool.Service) =>
  Effect.gen(function* () {
    while ((yield* pool.sets).some((set) => set.status === "busy")) yield* Effect.yieldNow()
  })

/** The engine's archive calls, `put <path>` and `get <path>`, in order. */
const archiveCalls = (calls: Array<string>) =>
  Layer.effect(
    ContainerEngine,
    Effect.map(
      ContainerEngine,
      (engine): ContainerEngine.Service => ({
        ...engine,
        putArchive: (target, path, tar) =>
          Effect.zipRight(
            Effect.sync(() => calls.push(`put ${path}`)),
            engine.putArchive(target, path, tar)
          ),
        getArchive: (target, path) =>
          Stream.unwrap(
            Effect.as(
              Effect.sync(() => calls.push(`get ${path}`)),
              engine.getArchive(target, path)
            )
          )
      })
    )
  )

/** A merger without the file endpoints (a spec's own image): `/files` is not found. */
const noFileEndpoints = Layer.effect(
  ProcessorClient,
  Effect.map(ProcessorClient, (client): ProcessorClient.Service => {
    const notFound = (endpoint: ProcessorError.Endpoint) =>
      new ProcessorError.BadStatus({ endpoint, status: 404, body: "404 page not found" })
    return {
      ...client,
      putFiles: (endpoint) => Effect.fail(notFound(endpoint)),
      getFiles: (endpoint) => Stream.fail(notFound(endpoint))
    }
  })
)

/** The area volume's entries of the set `id`. */
const area = (id: string) =>
  Effect.gen(function* () {
    const memory = yield* MemoryEngine.MemoryEngine
    return yield* Effect.orDie(memory.readVolume(`${harness.prefix}-tpl-${id}`))
  })

describe("Pool", () => {
  it.scoped("a second run takes the first one's set, and finds its directories gone", () =>
    Effect.gen(function* () {
      const pool = yield* Pool.make({ maxSets: 2 })
      const spec = yield* input()
      const first = yield* pool.run(spec, { output: output() })
      assert.deepStrictEqual(first.files, files)
      assert.isFalse(first.pool?.reused)
      const second = yield* pool.run(spec, { output: output() })
      assert.deepStrictEqual(second.files, files)
      assert.isTrue(second.pool?.reused)
      assert.strictEqual(second.pool?.set, first.pool?.set)
      assert.strictEqual(readFileSync(join(second.output, "plugins.log"), "utf8"), "q\n")
      yield* settled(pool)
      // Every directory both runs used is an empty file now: nothing of a run is left for the next.
      const tree = yield* area(first.pool!.set)
      const left = [...tree.entries()]
      // Two write dirs (the output dirs) and a merge dir per run.
      assert.strictEqual(left.length, 2 * 3)
      for (const [, node] of left) assert.isTrue(node._tag === "File" && node.content.length === 0)
      assert.deepStrictEqual(yield* pool.stats, {
        hits: 1,
        misses: 1,
        replaced: 0,
        discarded: 0,
        expired: 0,
        live: 1
      })
      const [set] = yield* pool.sets
      assert.strictEqual(set?.status, "idle")
      assert.strictEqual(set?.uses, 2)
      assert.strictEqual(set?.containers, 4)
    }).pipe(Effect.provide(harness.layer()))
  )

  it.effect("closing the pool's scope removes every set", () =>
    Effect.gen(function* () {
      const { pool, close } = yield* scopedPool({ maxSets: 3 })
      const a = yield* input()
      const b = yield* input({ template: otherTemplate.dir })
      yield* Effect.all([pool.run(a, { output: output() }), pool.run(b, { output: output() })], {
        concurrency: "unbounded"
      })
      assert.strictEqual((yield* pool.sets).length, 2)
      assert.isAbove((yield* harness.leftovers).length, 0)
      yield* close
      assert.deepStrictEqual(yield* harness.leftovers, [])
    }).pipe(Effect.provide(harness.layer()))
  )

  it.scoped("a processor that crashes during a warm run fails that run; the next run gets a new set", () => {
    const crash: Record<string, { exitCode: number; logs: Array<string> }> = {}
    return Effect.gen(function* () {
      const pool = yield* Pool.make({ maxSets: 1 })
      const spec = yield* input()
      const first = yield* pool.run(spec, { output: output() })
      crash.p2 = { exitCode: 3, logs: ["Error: out of memory"] }
      const error = yield* Effect.flip(pool.run(spec, { output: output() }))
      delete crash.p2
      assert.strictEqual(error._tag, "StageFailed")
      assert.deepStrictEqual(
        error.failures.map((f) => [f.stage, f.kind, f.id, f.cause._tag]),
        [["process", "processor", "p2", "ExitedDuringCall"]]
      )
      // The broken set is gone, not back in the pool.
      assert.deepStrictEqual(yield* pool.sets, [])
      assert.deepStrictEqual(yield* harness.leftovers, [])
      const next = yield* pool.run(spec, { output: output() })
      assert.isFalse(next.pool?.reused)
      assert.notStrictEqual(next.pool?.set, first.pool?.set)
      assert.deepStrictEqual(next.files, files)
      assert.strictEqual((yield* pool.stats).discarded, 1)
    }).pipe(Effect.provide(harness.layer({ crash })))
  })

  // Idle past checkAfter the set is probed too; given back moments ago it is only asked after.
  for (const { container, idle, when } of [
    { container: "plugin-q", idle: "5 seconds", when: "once it idled past checkAfter" },
    { container: "processor-p2", idle: "4 seconds", when: "moments after it was given back" }
  ] as const) {
    it.scoped(`an idle set whose container exited is replaced, not used, ${when}`, () =>
      Effect.gen(function* () {
        const pool = yield* Pool.make({ maxSets: 1, checkAfter: "5 seconds" })
        const spec = yield* input()
        const first = yield* pool.run(spec, { output: output() })
        yield* settled(pool)
        const memory = yield* MemoryEngine.MemoryEngine
        yield* Effect.orDie(memory.exit(`${harness.prefix}-${container}-${first.pool!.set}`, 137, ["killed"]))
        yield* TestClock.adjust(idle)
        const next = yield* pool.run(spec, { output: output() })
        assert.isFalse(next.pool?.reused)
        assert.notStrictEqual(next.pool?.set, first.pool?.set)
        assert.deepStrictEqual(next.files, files)
        assert.deepStrictEqual(yield* pool.stats, {
          hits: 0,
          misses: 2,
          replaced: 1,
          discarded: 0,
          expired: 0,
          live: 1
        })
        assert.deepStrictEqual(
          (yield* pool.sets).map((s) => s.id),
          [next.pool!.set]
        )
      }).pipe(Effect.provide(harness.layer()))
    )
  }

  it.scoped(
    "a set moves its area's files through its merger's endpoints; the archive API only loads the template",
    () => {
      const behaviour = { puts: [] as Array<string>, gets: [] as Array<string> }
      const calls: Array<string> = []
      return Effect.gen(function* () {
        const pool = yield* Pool.make({ maxSets: 1 })
        const spec = yield* input()
        const first = yield* pool.run(spec, { output: output() })
        const second = yield* pool.run(spec, { output: output() })
        yield* settled(pool)
        assert.deepStrictEqual(second.files, files)
        assert.isTrue(second.pool?.reused)
        // The template went into its volume (at its root) when the set was made; nothing since.
        assert.deepStrictEqual(calls, ["put /"])
        // Asked once when the set was made (a PUT and a GET of the area), then each run's merge dir
        // read and its directories scrubbed.
        assert.deepStrictEqual(behaviour.puts, [Protocol.areaDir, Protocol.areaDir, Protocol.areaDir])
        assert.strictEqual(behaviour.gets[0], Protocol.areaDir)
        assert.strictEqual(behaviour.gets.length, 3)
        for (const path of behaviour.gets.slice(1)) assert.match(path, /^\/workspace\/area\/[0-9a-f-]{36}$/)
        for (const [, node] of yield* area(first.pool!.set))
          assert.isTrue(node._tag === "File" && node.content.length === 0)
      }).pipe(Effect.provide(archiveCalls(calls).pipe(Layer.provideMerge(harness.layer(behaviour)))))
    }
  )

  it.scoped("a set whose merger has no file endpoints moves its area through the archive API", () => {
    const behaviour = { puts: [] as Array<string> }
    const calls: Array<string> = []
    return Effect.gen(function* () {
      const pool = yield* Pool.make({ maxSets: 1 })
      const spec = yield* input()
      const first = yield* pool.run(spec, { output: output() })
      const second = yield* pool.run(spec, { output: output() })
      yield* settled(pool)
      assert.deepStrictEqual(second.files, files)
      assert.isTrue(second.pool?.reused)
      assert.deepStrictEqual(behaviour.puts, [])
      assert.deepStrictEqual(
        calls.map((call) => call.replace(/[0-9a-f-]{36}$/, "<dir>")),
        [
          "put /",
          "get /workspace/area/<dir>",
          `put ${Protocol.areaDir}`,
          "get /workspace/area/<dir>",
          `put ${Protocol.areaDir}`
        ]
      )
      for (const [, node] of yield* area(first.pool!.set))
        assert.isTrue(node._tag === "File" && node.content.length === 0)
    }).pipe(
      Effect.provide(
        Layer.mergeAll(archiveCalls(calls), noFileEndpoints).pipe(
          Layer.provideMerge(harness.layer(behaviour))
        )
      )
    )
  })

  it.scoped("runs in flight at once hold distinct sets; 8 at once never make more than maxSets", () => {
    // p1 answers once three calls are in flight at once: three runs are in their process stage together.
    let waiting = 0
    const together = Deferred.unsafeMake<void>(FiberId.none)
    const p1 = (request: Protocol.ProcessRequest) =>
      Effect.gen(function* () {
        if (++waiting === 3) yield* Deferred.succeed(together, undefined)
        yield* Deferred.await(together)
        return Protocol.ProcessResponse.make({ outputDir: request.writeDir })
      })
    return Effect.gen(function* () {
      const pool = yield* Pool.make({ maxSets: 3 })
      const spec = yield* input({ plugins: [] })
      const three = yield* Effect.all(
        Array.from({ length: 3 }, () => pool.run(spec, { output: output() })),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(new Set(three.map((r) => r.pool?.set)).size, 3)
      const eight = yield* Effect.all(
        Array.from({ length: 8 }, () => pool.run(spec, { output: output() })),
        { concurrency: "unbounded" }
      )
      for (const run of eight) assert.deepStrictEqual(run.files, ["p2.txt", "shared.txt"])
      assert.isAtMost(new Set(eight.map((r) => r.pool?.set)).size, 3)
      assert.isAtMost((yield* pool.sets).length, 3)
      const stats = yield* pool.stats
      assert.strictEqual(stats.hits + stats.misses, 11)
      assert.strictEqual(stats.misses, 3)
      assert.strictEqual(stats.live, 3)
    }).pipe(Effect.provide(harness.layer({ process: { p1 } })))
  })

  it.scoped("a full pool replaces another key's idle set", () =>
    Effect.gen(function* () {
      const pool = yield* Pool.make({ maxSets: 1 })
      const a = yield* pool.run(yield* input(), { output: output() })
      const b = yield* pool.run(yield* input({ template: otherTemplate.dir }), { output: output() })
      assert.notStrictEqual(a.pool?.key, b.pool?.key)
      assert.deepStrictEqual(
        (yield* pool.sets).map((s) => s.key),
        [b.pool!.key]
      )
      // Only the second set's resources are on the engine.
      for (const name of yield* harness.leftovers) assert.notInclude(name, a.pool!.set)
    }).pipe(Effect.provide(harness.layer()))
  )

  it.scoped("idle sets are removed after the TTL; remove(key) removes a key's sets", () =>
    Effect.gen(function* () {
      const pool = yield* Pool.make({ maxSets: 2, idleTtl: "1 minute" })
      const spec = yield* input()
      const first = yield* pool.run(spec, { output: output() })
      yield* settled(pool)
      yield* TestClock.adjust("30 seconds")
      assert.strictEqual((yield* pool.sets).length, 1)
      yield* TestClock.adjust("31 seconds")
      assert.deepStrictEqual(yield* pool.sets, [])
      assert.strictEqual((yield* pool.stats).expired, 1)
      assert.deepStrictEqual(yield* harness.leftovers, [])

      yield* pool.run(spec, { output: output() })
      yield* settled(pool)
      assert.strictEqual(yield* pool.remove("0000000000000000"), 0)
      assert.strictEqual(yield* pool.remove(first.pool!.key), 1)
      assert.deepStrictEqual(yield* pool.sets, [])
      assert.deepStrictEqual(yield* harness.leftovers, [])
    }).pipe(Effect.provide(harness.layer()))
  )

  it.scoped("a keep run runs outside the pool", () =>
    Effect.gen(function* () {
      const pool = yield* Pool.make({})
      const summary = yield* pool.run(yield* input({ options: { keep: true } }), { output: output() })
      assert.isUndefined(summary.pool)
      assert.deepStrictEqual(yield* pool.sets, [])
    }).pipe(Effect.provide(harness.layer()))
  )
})

describe("Pool.keyOf", () => {
  it.effect("the template's content, images, env, security and limits; not config, globs or session", () =>
    Effect.gen(function* () {
      const key = (overrides: Record<string, unknown>) =>
        Effect.map(Effect.flatMap(input(overrides), Pool.keyOf), (k) => k.key)
      const base = yield* key({})
      assert.match(base, /^[0-9a-f]{16}$/)
      assert.strictEqual(yield* key({ template: sameContent.dir, session: "other", templateId: "x" }), base)
      assert.strictEqual(
        yield* key({
          processors: [
            {
              id: "p1",
              image: harness.image,
              config: { a: 1 },
              globs: [{ root: "", glob: "**", type: "template" }]
            },
            { id: "p2", image: harness.image }
          ],
          options: { concurrency: 1, timeouts: { call: "1s" } }
        }),
        base
      )
      for (const changed of [
        { template: otherTemplate.dir },
        {
          processors: [
            { id: "p1", image: harness.image, env: { A: "1" } },
            { id: "p2", image: harness.image }
          ]
        },
        { processors: [{ id: "p1", image: harness.image }] },
        { options: { security: "strict" } },
        { options: { limits: { memory: "256m" } } },
        { merger: { image: "armada/test-app:other" } }
      ]) {
        assert.notStrictEqual(yield* key(changed), base, JSON.stringify(changed))
      }
    })
  )

  it.effect(
    "the template's digest: every entry's path, kind, mode and content or target, in path order",
    () => {
      const layered = harness.makeTemplate({ "a-b.txt": "dash\n", "run.sh": "#!/bin/sh\n" })
      mkdirSync(join(layered.dir, "a"))
      writeFileSync(join(layered.dir, "a", "b.txt"), "nested\n")
      chmodSync(join(layered.dir, "run.sh"), 0o755)
      symlinkSync("a/b.txt", join(layered.dir, "link"))
      /** The digest as a tar of the folder reads it, the way the key was first defined. */
      const throughTar = Effect.map(Archive.fromTar(Archive.packDirectory(layered.dir)), (tree) => {
        const hash = createHash("sha256")
        for (const path of [...tree.keys()].sort()) {
          const node = tree.get(path)!
          hash.update(`${JSON.stringify(path)} ${node._tag}`)
          if (node._tag === "File")
            hash.update(` ${node.mode & 0o7777} ${node.content.length}\n`).update(node.content)
          else if (node._tag === "Directory") hash.update(` ${node.mode & 0o7777}\n`)
          else hash.update(` ${JSON.stringify(node.target)}\n`)
        }
        return hash.digest("hex")
      })
      const digest = Effect.map(
        Effect.flatMap(input({ template: layered.dir }), Pool.keyOf),
        (key) => key.template
      )
      return Effect.gen(function* () {
        const before = yield* digest
        assert.strictEqual(before, yield* Effect.orDie(throughTar))
        chmodSync(join(layered.dir, "run.sh"), 0o700)
        assert.notStrictEqual(yield* digest, before)
        assert.strictEqual(yield* digest, yield* Effect.orDie(throughTar))
      }).pipe(Effect.ensuring(Effect.sync(layered.remove)))
    }
  )

  it.effect("a template that cannot be read fails as warm would", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Effect.flatMap(input({ template: "/nonexistent/template" }), Pool.keyOf)
      )
      assert.deepStrictEqual(
        error.failures.map((f) => [f.stage, f.kind]),
        [["warm", "template"]]
      )
    })
  )
})
