/**
 * Files through the merger on Docker (docs/scale-out.md, 1.1): `armada run` of the example with
 * the engine's archive API unused (`ARMADA_FILES=merger`) gives byte for byte what the normal run
 * gives, and what the example's expected output holds; the engine's own events show that the
 * normal run used its archive API and the forced run did not; nothing labelled is left. And a
 * merger container of the test image refuses hostile archives with nothing written outside the
 * folder they were sent to: not in its volume (read back), not in its own file system
 * (`docker diff`).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Archive } from "@armada/engine"
import * as Http from "@armada/http"
import { Engine, TestImage } from "@armada/testkit"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { afterAll, beforeAll } from "vitest"
import { type RawEntry, rawTar } from "../../apps/test-app/test/rawTar.js"
import { armada, example, noEngineChosen, requireBin, tree } from "../engines/example.js"
import { docker, labelled, nothing, ownPrefix, sweep } from "../support.js"

const suite = "tests/orchestrator files through the merger on Docker"
const prefix = ownPrefix("armadamft")
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

  it.live(
    "a merger container refuses hostile archives (400) and writes nothing outside their folder",
    () =>
      Effect.gen(function* () {
        TestImage.ensureTestAppImage()
        const name = `${prefix}-hostile-merger`
        docker(["volume", "create", "--label", label, name])
        docker([
          "run",
          "-d",
          "--name",
          name,
          "--label",
          label,
          "-e",
          "ARMADA_ROLE=merger",
          "-p",
          "127.0.0.1::9000",
          "-v",
          `${name}:/workspace/area`,
          "armada/test-app:dev"
        ])
        const port = docker(["port", name, "9000/tcp"])[0]!.split(":").at(-1)
        const endpoint = { name, url: `http://127.0.0.1:${port}` }
        const client = yield* Http.ProcessorClient
        yield* client.waitReady(endpoint, { deadline: "4 minutes" })
        const area = Http.Protocol.areaDir
        yield* client.putFiles(
          endpoint,
          area,
          Archive.toTar(Archive.make({ "t/.keep": "", "escaped.txt": "untouched\n" }))
        )
        const hostile: ReadonlyArray<ReadonlyArray<RawEntry>> = [
          [{ name: "../escaped.txt", body: "overwritten\n" }],
          [{ name: "a/../../../../etc/armada-escaped", body: "overwritten\n" }],
          [
            { name: "out", type: "symlink", linkname: "../../.." },
            { name: "out/etc/armada-escaped", body: "x\n" }
          ],
          [
            { name: "abs", type: "symlink", linkname: "/" },
            { name: "abs/etc/armada-escaped", body: "x\n" }
          ],
          [{ name: "h", type: "link", linkname: "../escaped.txt" }]
        ]
        for (const entries of hostile) {
          const exit = yield* Effect.exit(client.putFiles(endpoint, `${area}/t`, rawTar(entries)))
          assert.isTrue(Exit.isFailure(exit), JSON.stringify(entries))
          const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
          assert.isTrue(error instanceof Http.ProcessorError.BadStatus && error.status === 400, String(error))
        }
        const volume = yield* Archive.fromTar(client.getFiles(endpoint, area))
        assert.deepStrictEqual(Archive.contents(volume), {
          "area/escaped.txt": "untouched\n",
          "area/t/.keep": ""
        })
        // Nothing changed in the container's own file system but the mount point Docker made.
        assert.deepStrictEqual(docker(["diff", name]), ["A /workspace", "A /workspace/area"])
        docker(["rm", "-f", name])
        docker(["volume", "rm", name])
        assert.deepStrictEqual(labelled(label), nothing)
      }).pipe(Effect.provide(Http.layer.pipe(Layer.provide(NodeHttpClient.layerUndici)))),
    // At a load of 50 and more, starting the one container took most of 5 minutes.
    600_000
  )
})
