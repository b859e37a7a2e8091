/**
 * The warm pool on the real Docker engine with the test app: 8 concurrent runs of the
 * 8-processor, 2-plugin pipeline through a pool of at most 2 sets all give the golden directory,
 * byte for byte, and closing the pool leaves nothing labelled; a processor that crashes during a
 * warm run fails that run with its typed, named error, and the next run gets a new, healthy set; one
 * that dies while its set is idle moments after it was given back (not probed then) is found by
 * the engine's word and its set replaced before the next run.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Names } from "@armada/core"
import { DockerEngineLive } from "@armada/docker"
import * as Http from "@armada/http"
import { Pool, Spec } from "@armada/orchestrator"
import { Engine, Leftovers, TestImage } from "@armada/testkit"
import { NodeFileSystem, NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Scope } from "effect"
import { afterAll, beforeAll } from "vitest"
import { assertSameFiles, ownPrefix, sweep } from "../support.js"

const prefix = Names.Id.make(ownPrefix("armadapool"))
const fixtures = fileURLToPath(new URL("../fixtures/pipeline/", import.meta.url))
const golden = join(fixtures, "golden")
const scratch = mkdtempSync(join(tmpdir(), "armada-pool-"))

/** Names of containers to kill (`docker kill`) at their next process call: a crash in the middle of a run. */
const crashNext = new Set<string>()

/** The live client, except that a container named in `crashNext` is killed as its process call starts. */
const CrashingClient = Layer.effect(
  Http.ProcessorClient,
  Effect.map(Http.ProcessorClient, (live) => ({
    ...live,
    process: (endpoint, request, options) =>
      Effect.suspend(() => {
        const id = [...crashNext].find((name) => endpoint.name.includes(`-processor-${name}-`))
        if (id === undefined) return live.process(endpoint, request, options)
        crashNext.delete(id)
        execFileSync("docker", ["kill", endpoint.name])
        return live.process(endpoint, request, options)
      })
  }))
).pipe(Layer.provide(Http.layer.pipe(Layer.provide(NodeHttpClient.layerUndici))))

const Live = Layer.mergeAll(DockerEngineLive.layerConfig(), CrashingClient, NodeFileSystem.layer)

const pipelineSpec = Effect.map(Spec.load(join(fixtures, "armada.yaml")), (spec) => ({
  ...spec,
  options: { ...spec.options, prefix }
}))

/** A pool in a scope the test closes itself, to see what closing leaves. */
const poolIn = (options: Pool.Options) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const pool = yield* Scope.extend(Pool.make(options), scope)
    return { pool, close: Scope.close(scope, Exit.void) }
  })

let count = 0
const output = () => join(scratch, `out-${++count}`)

describe.skipIf(Engine.skipWithoutEngine("warm pool on Docker"))("warm pool on Docker", () => {
  beforeAll(() => {
    TestImage.ensureTestAppImage()
  }, 300_000)
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true })
    // Should a test have failed half-way: remove what carries the test label, and only that.
    sweep(`${prefix}.managed=true`)
    execFileSync("docker", ["network", "rm", "--force", prefix])
  })

  it.live("8 concurrent runs through a pool of 2 sets: all golden, ≤ 2 sets, nothing left after close", () =>
    Effect.gen(function* () {
      const spec = yield* pipelineSpec
      const { pool, close } = yield* poolIn({ maxSets: 2 })
      const runs = yield* Effect.all(
        Array.from({ length: 8 }, () =>
          Effect.flatMap(Spec.generateSessionId, (session) =>
            pool.run({ ...spec, session }, { output: output() })
          )
        ),
        { concurrency: "unbounded" }
      )
      for (const run of runs) assertSameFiles(run.output, golden)
      assert.isAtMost(new Set(runs.map((run) => run.pool?.set)).size, 2)
      assert.isAtMost((yield* pool.sets).length, 2)
      const stats = yield* pool.stats
      assert.strictEqual(stats.hits + stats.misses, 8)
      assert.isAtLeast(stats.hits, 6)
      // The sets carry the pool's label with their key.
      const labelled = yield* Leftovers.labelled(prefix)
      assert.strictEqual(labelled.filter((name) => name.startsWith("container ")).length, 2 * 11)
      yield* close
      assert.deepStrictEqual(yield* Leftovers.labelled(prefix), [])
    }).pipe(Effect.provide(Live))
  )

  it.live("a processor that crashes during a warm run fails that run; the next run gets a healthy set", () =>
    Effect.gen(function* () {
      const spec = yield* pipelineSpec
      const { pool, close } = yield* poolIn({ maxSets: 1 })
      const first = yield* pool.run(spec, { output: output() })
      assertSameFiles(first.output, golden)
      crashNext.add("docs")
      const error = yield* Effect.flip(pool.run(spec, { output: output() }))
      assert.strictEqual(error._tag, "StageFailed")
      assert.deepStrictEqual(
        error.failures.map((f) => [f.stage, f.kind, f.id, f.cause._tag]),
        [["process", "processor", "docs", "ExitedDuringCall"]]
      )
      assert.deepStrictEqual(yield* pool.sets, [])
      const next = yield* pool.run(spec, { output: output() })
      assert.isFalse(next.pool?.reused)
      assert.notStrictEqual(next.pool?.set, first.pool?.set)
      assertSameFiles(next.output, golden)
      yield* close
      assert.deepStrictEqual(yield* Leftovers.labelled(prefix), [])
    }).pipe(Effect.provide(Live))
  )

  it.live(
    "a processor killed while its set is idle, moments after it was given back: the set is replaced and the next run is golden",
    () =>
      Effect.gen(function* () {
        const spec = yield* pipelineSpec
        // A window wider than any wait of a loaded machine: the set is surely not probed, only
        // asked after.
        const { pool, close } = yield* poolIn({ maxSets: 1, checkAfter: "10 minutes" })
        const first = yield* pool.run(spec, { output: output() })
        assertSameFiles(first.output, golden)
        while ((yield* pool.sets).some((set) => set.status === "busy")) yield* Effect.sleep("20 millis")
        execFileSync("docker", ["kill", `${prefix}-processor-license-${first.pool!.set}`])
        const next = yield* pool.run(spec, { output: output() })
        assert.isFalse(next.pool?.reused)
        assert.notStrictEqual(next.pool?.set, first.pool?.set)
        assertSameFiles(next.output, golden)
        assert.strictEqual((yield* pool.stats).replaced, 1)
        yield* close
        assert.deepStrictEqual(yield* Leftovers.labelled(prefix), [])
      }).pipe(Effect.provide(Live))
  )
})
