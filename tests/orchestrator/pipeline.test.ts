import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Names } from "@armada/core"
import { DockerEngineLive } from "@armada/docker"
import * as Http from "@armada/http"
import { Orchestrator, Spec } from "@armada/orchestrator"
import { Engine, Leftovers, TestImage } from "@armada/testkit"
import { NodeFileSystem, NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { afterAll, beforeAll } from "vitest"
import { assertSameFiles, filesOf, sweep } from "../support.js"

const prefix = Names.Id.make("armadatest")
const fixtures = fileURLToPath(new URL("../fixtures/pipeline/", import.meta.url))
const golden = join(fixtures, "golden")

const Live = Layer.mergeAll(
  DockerEngineLive.layer(),
  Http.layer.pipe(Layer.provide(NodeHttpClient.layerUndici)),
  NodeFileSystem.layer
)

/** Nothing carrying the test prefix's label is left on the engine. */
const noLeftovers = Effect.map(Leftovers.labelled(prefix), (left) => assert.deepStrictEqual(left, []))

const withTestPrefix = (spec: Spec.Spec, session: string): Spec.Spec => ({
  ...spec,
  session: Names.Id.make(session),
  options: { ...spec.options, prefix }
})

const scratch = mkdtempSync(join(tmpdir(), "armada-e2e-"))

describe.skipIf(Engine.skipWithoutEngine("orchestrator pipeline on Docker"))(
  "orchestrator pipeline on Docker",
  () => {
    beforeAll(() => {
      TestImage.ensureTestAppImage()
    }, 300_000)
    afterAll(() => {
      rmSync(scratch, { recursive: true, force: true })
      // Should a test have failed half-way: remove what carries the test label, and only that.
      sweep(`${prefix}.managed=true`)
    })

    it.live(
      "8 processors and 2 plugins give exactly the golden directory, and nothing stays",
      () =>
        Effect.gen(function* () {
          const spec = withTestPrefix(yield* Spec.load(join(fixtures, "armada.yaml")), "e2egolden")
          const output = join(scratch, "golden-run")
          const summary = yield* Orchestrator.pipeline(spec, { output })

          assertSameFiles(output, golden)
          assert.deepStrictEqual(summary.files, filesOf(golden))
          assert.deepStrictEqual(summary.conflicts, ["README.md"])
          assert.strictEqual(summary.items.length, 11)
          yield* noLeftovers
        }).pipe(Effect.provide(Live)),
      300_000
    )

    it.live(
      "the template is read-only to processors: the test app's write attempt fails with EROFS",
      () =>
        Effect.gen(function* () {
          const spec = yield* Spec.decode(
            {
              session: "e2eerofs",
              template: "./template",
              templateId: "erofs",
              processors: [
                {
                  id: "probe",
                  image: "armada/test-app:dev",
                  env: { ARMADA_FAULT_WRITE_TEMPLATE: "1" },
                  globs: [{ glob: "LICENSE", type: "copy" }]
                }
              ],
              options: { prefix, timeouts: { ready: "120s", call: "60s" } }
            },
            { baseDir: fixtures }
          )
          const output = join(scratch, "erofs-run")
          const summary = yield* Orchestrator.pipeline(spec, { output })
          assert.deepStrictEqual(summary.files, [".armada-write-probe", "LICENSE"])
          assert.strictEqual(readFileSync(join(output, ".armada-write-probe"), "utf8"), "EROFS")
          yield* noLeftovers
        }).pipe(Effect.provide(Live)),
      300_000
    )

    it.live(
      "a container that exits at start is reported with its exit code and log tail, and nothing stays",
      () =>
        Effect.gen(function* () {
          const spec = yield* Spec.decode(
            {
              session: "e2eexit",
              template: "./template",
              templateId: "exit",
              processors: [
                { id: "fine", image: "armada/test-app:dev" },
                { id: "dies", image: "armada/test-app:dev", env: { ARMADA_FAULT_EXIT: "3" } }
              ],
              options: { prefix, timeouts: { ready: "120s" } }
            },
            { baseDir: fixtures }
          )
          const error = yield* Effect.flip(Orchestrator.pipeline(spec, { output: join(scratch, "exit-run") }))
          assert.strictEqual(error.stage, "start")
          assert.deepStrictEqual(
            error.failures.map((f) => [f.kind, f.id, f.cause._tag]),
            [["processor", "dies", "Exited"]]
          )
          const cause = error.failures[0]!.cause
          if (cause._tag === "Exited") {
            assert.strictEqual(cause.exitCode, 3)
            assert.notStrictEqual(cause.logTail, "")
          }
          yield* noLeftovers
        }).pipe(Effect.provide(Live)),
      300_000
    )
  }
)
