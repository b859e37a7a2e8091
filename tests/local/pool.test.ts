/**
 * The warm pool on the local engine (processes and folders): three runs of the 8-processor,
 * 2-plugin pipeline through one set all give the golden directory, byte for byte, the second and
 * third on the first one's set; closing the pool leaves nothing labelled.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Names } from "@armada/core"
import { layer as processorClientLayer } from "@armada/http"
import { LocalEngine } from "@armada/local"
import { Pool, Spec } from "@armada/orchestrator"
import { Leftovers, TestImage } from "@armada/testkit"
import { NodeFileSystem, NodeHttpClient } from "@effect/platform-node"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Scope } from "effect"
import { assertSameFiles, ownPrefix } from "../support.js"

const prefix = Names.Id.make(ownPrefix("armadalocalpool"))
const fixtures = fileURLToPath(new URL("../fixtures/pipeline/", import.meta.url))
const golden = join(fixtures, "golden")
const outputs = mkdtempSync(join(tmpdir(), "armada-local-pool-"))
afterAll(() => rmSync(outputs, { recursive: true, force: true }))

const Local = Layer.mergeAll(
  LocalEngine.layer({
    catalog: { [TestImage.testAppImage]: { command: [process.execPath, TestImage.ensureTestAppBundle()] } }
  }),
  processorClientLayer.pipe(Layer.provide(NodeHttpClient.layerUndici)),
  NodeFileSystem.layer
)

describe("warm pool on the local engine", () => {
  it.live("three runs through one set: all golden, the set reused, nothing left after close", () =>
    Effect.gen(function* () {
      const loaded = yield* Spec.load(join(fixtures, "armada.yaml"))
      const spec: Spec.Spec = { ...loaded, options: { ...loaded.options, prefix } }
      const scope = yield* Scope.make()
      const pool = yield* Scope.extend(Pool.make({ maxSets: 1 }), scope)
      const runs = []
      for (const n of [1, 2, 3]) runs.push(yield* pool.run(spec, { output: join(outputs, `run-${n}`) }))
      for (const run of runs) assertSameFiles(run.output, golden)
      assert.deepStrictEqual(
        runs.map((run) => run.pool?.reused),
        [false, true, true]
      )
      assert.strictEqual(new Set(runs.map((run) => run.pool?.set)).size, 1)
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(yield* Leftovers.labelled(prefix), [])
    }).pipe(Effect.provide(Local))
  )
})
