/**
 * Two `armada run` of `examples/hello/pipeline.yaml` started at the same moment, on Docker and on
 * the local engine: both exit 0 with identical outputs (the example's expected result), and each
 * run's cleanup removes only its own resources, so nothing labelled is left. Each CLI process has
 * a local engine of its own, so on the local engine the two runs also share one engine through the
 * library: there they would collide on a shared template volume.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Names } from "@armada/core"
import { layer as processorClientLayer } from "@armada/http"
import { LocalEngine, ProcessGroup } from "@armada/local"
import { Orchestrator, Spec } from "@armada/orchestrator"
import { Engine, Leftovers, TestImage } from "@armada/testkit"
import { NodeFileSystem, NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import * as H from "../reliability/harness.js"
import { tree } from "../support.js"

const example = join(H.root, "examples", "hello")

/**
 * The example's spec with room for a busy machine: two runs start ten containers at once, and on a
 * loaded 2-core CI machine a merger was once not ready within the default 60 s.
 */
const roomyExample = (work: string): string => {
  const yaml = readFileSync(join(example, "pipeline.yaml"), "utf8")
    .replace("template: ./template", `template: ${join(example, "template")}`)
    .replace("options:\n  concurrency: 4\n", "options:\n  concurrency: 4\n  timeouts: { ready: 300s }\n")
  assert.include(yaml, "ready: 300s", "the example's options changed; update this test's edit")
  const path = join(work, "pipeline.yaml")
  writeFileSync(path, yaml)
  return path
}

/** Two runs of the example at once on `engine`, each with its own output (and TMPDIR). */
const twoAtOnce = async (engine: "docker" | "local", work: string) => {
  const spec = roomyExample(work)
  const runs = [1, 2].map((n) => {
    const tmp = mkdtempSync(join(work, `tmp-${n}-`))
    const out = join(work, `out-${n}`)
    const run = H.armada(["run", spec, "--engine", engine, "--prefix", H.prefix, "--output", out, "--json"], {
      TMPDIR: tmp
    })
    return { run, out, tmp }
  })
  const exits = await Promise.all(runs.map(({ run }) => run.exit))
  return runs.map((entry, index) => ({ ...entry, code: exits[index]!.code }))
}

describe.skipIf(Engine.skipWithoutEngine("cyanprint: concurrent runs"))(
  "cyanprint: concurrent runs on Docker",
  () => {
    let work = ""
    beforeAll(() => {
      TestImage.ensureTestAppImage()
      H.requireBin()
      work = H.scratch("concurrent")
    }, 300_000)

    afterAll(() => {
      H.finishFile(work)
    }, 120_000)

    it("two runs of examples/hello at once both exit 0 with identical outputs, and nothing labelled is left", async () => {
      const [first, second] = await twoAtOnce("docker", work)
      for (const { run, code } of [first!, second!]) {
        assert.strictEqual(code, 0, `${run.stdout()}\n${run.stderr()}`)
      }
      // Different sessions, so different template volumes: no NameConflict.
      assert.notStrictEqual(first!.run.result().session, second!.run.result().session)
      assert.deepStrictEqual(tree(first!.out), tree(join(example, "expected")))
      assert.deepStrictEqual(tree(second!.out), tree(first!.out))
      H.assertNothingLeft()
    })
  }
)

describe("cyanprint: concurrent runs on the local engine", () => {
  let work = ""
  beforeAll(() => {
    H.requireBin()
    work = mkdtempSync(join(tmpdir(), "armada-concurrent-local-"))
  })

  afterAll(() => {
    rmSync(work, { recursive: true, force: true })
  })

  it("two runs of examples/hello at once both exit 0 with identical outputs, and leave no process or folder", async () => {
    const [first, second] = await twoAtOnce("local", work)
    for (const { run, code } of [first!, second!]) {
      assert.strictEqual(code, 0, `${run.stdout()}\n${run.stderr()}`)
    }
    assert.deepStrictEqual(tree(first!.out), tree(join(example, "expected")))
    assert.deepStrictEqual(tree(second!.out), tree(first!.out))
    for (const { tmp } of [first!, second!]) {
      assert.deepStrictEqual(
        { processes: ProcessGroup.startedUnder(tmp), files: readdirSync(tmp) },
        {
          processes: [],
          files: []
        }
      )
    }
  })

  it("two pipelines of examples/hello at once on one local engine both succeed, each removing only its own", async () => {
    TestImage.ensureTestAppBundle()
    const local = LocalEngine.layer({
      catalog: { [TestImage.testAppImage]: { command: [process.execPath, TestImage.testAppBundlePath] } },
      stateDir: work
    })
    const layer = Layer.mergeAll(
      local,
      processorClientLayer.pipe(Layer.provide(NodeHttpClient.layerUndici)),
      NodeFileSystem.layer
    )
    const outputs = await Effect.runPromise(
      Effect.gen(function* () {
        const spec = yield* Spec.load(join(example, "pipeline.yaml"))
        const specs = [1, 2].map((n) => ({
          ...spec,
          session: Names.Id.make(`lib${n}`),
          options: { ...spec.options, prefix: H.prefix }
        }))
        const summaries = yield* Effect.all(
          specs.map((one, n) => Orchestrator.pipeline(one, { output: join(work, `lib-out-${n}`) })),
          { concurrency: 2 }
        )
        const left = yield* Leftovers.labelled(H.prefix)
        return { summaries, left }
      }).pipe(Effect.provide(layer), Effect.scoped)
    )
    assert.deepStrictEqual(outputs.left, [])
    const [first, second] = outputs.summaries
    assert.deepStrictEqual(tree(first!.output), tree(join(example, "expected")))
    assert.deepStrictEqual(tree(second!.output), tree(first!.output))
  })
})
