/**
 * Files through the merger on Docker (docs/scale-out.md, 1.1): `armada run` of the example with
 * the engine's archive API unused (`ARMADA_FILES=merger`) gives byte for byte what the normal run
 * gives, and what the example's expected output holds; the engine's own events show that the
 * normal run used its archive API and the forced run did not; nothing labelled is left.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Engine } from "@armada/testkit"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { afterAll, beforeAll } from "vitest"
import { armada, example, noEngineChosen, requireBin, tree } from "../engines/example.js"
import { docker, labelled, nothing, sweep } from "../support.js"

const suite = "tests/orchestrator files through the merger on Docker"
const prefix = "armadamft"
const label = `${prefix}.managed=true`
const scratch = mkdtempSync(join(tmpdir(), "armada-merger-transfer-"))

/**
 * The archive calls the engine saw on containers carrying the test's label between two instants
 * (Docker's `archive-path` for a GET, `extract-to-dir` for a PUT).
 */
const archiveEvents = (since: number, until: number): Array<string> =>
  docker([
    "events",
    "--since",
    String(Math.floor(since / 1000)),
    "--until",
    String(Math.ceil(until / 1000) + 1),
    "--filter",
    `label=${label}`,
    "--filter",
    "event=archive-path",
    "--filter",
    "event=extract-to-dir",
    "--format",
    "{{.Action}} {{.Actor.Attributes.name}}"
  ])

/** The example run with `env`; its output folder and the archive calls the engine saw. */
const runExample = (name: string, env: Readonly<Record<string, string | undefined>>) =>
  Effect.gen(function* () {
    const output = join(scratch, name)
    const since = Date.now()
    const result = yield* armada(
      ["run", "examples/hello/pipeline.yaml", "--output", output, "--prefix", prefix],
      { ...noEngineChosen, ARMADA_FILES: undefined, ...env }
    )
    assert.strictEqual(result.code, 0, result.stdout + result.stderr)
    return { output, archive: archiveEvents(since, Date.now()) }
  })

describe.skipIf(Engine.skipWithoutEngine(suite))(suite, () => {
  beforeAll(requireBin)
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true })
    sweep(label)
  })

  it.live(
    "ARMADA_FILES=merger: the example gives byte for byte the normal run's files, and nothing is left",
    () =>
      Effect.gen(function* () {
        const normal = yield* runExample("normal", {})
        const forced = yield* runExample("merger", { ARMADA_FILES: "merger" })
        const expected = tree(join(example, "expected"))
        assert.deepStrictEqual(tree(normal.output), expected)
        assert.deepStrictEqual(tree(forced.output), tree(normal.output))
        // The normal run read the merge dir through the archive API; the forced run never called it.
        assert.isTrue(
          normal.archive.some((event) => event.startsWith("archive-path ")),
          `archive calls of the normal run: ${JSON.stringify(normal.archive)}`
        )
        assert.deepStrictEqual(forced.archive, [])
        assert.deepStrictEqual(labelled(label), nothing)
      })
  )
})
