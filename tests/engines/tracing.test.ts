import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Engine, OtlpReceiver, TestImage } from "@armada/testkit"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { beforeAll } from "vitest"
import { ownPrefix, sweep } from "../support.js"
import { armada, example, requireBin } from "./example.js"

const suite = "tests/engines tracing (armada run exporting its spans over OTLP/HTTP)"
const skip = Engine.skipWithoutEngine(suite)
const prefix = ownPrefix("armadaotel")

/** The span of each stage the CLI shows (its clean stage is the orchestrator's cleanup). */
const stageSpans = [
  "armada.warm",
  "armada.start",
  "armada.process",
  "armada.merge",
  "armada.plug",
  "armada.export",
  "armada.cleanup"
]

/** The example with the processor `code` answering HTTP 500, written to a temp folder. */
const failingSpec = (dir: string): string => {
  const anchor = "  - id: code\n    image: armada/test-app:dev\n"
  const yaml = readFileSync(join(example, "pipeline.yaml"), "utf8").replace(
    "template: ./template",
    `template: ${join(example, "template")}`
  )
  assert.include(yaml, anchor, "the example changed; update this test's edit")
  const path = join(dir, "pipeline.yaml")
  writeFileSync(path, yaml.replace(anchor, `${anchor}    env: { ARMADA_FAULT_STATUS: "500" }\n`))
  return path
}

/** Runs `args` with the receiver as the collector; answers the spans of that run. */
const traced = (args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const receiver = yield* OtlpReceiver.start
    const result = yield* armada([...args, "--prefix", prefix], {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_SERVICE_NAME: "armada-under-test",
      OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20not-in-any-span"
    })
    sweep(`${prefix}.managed=true`)
    // The CLI flushes before it exits: everything is here once it has.
    assert.deepStrictEqual(receiver.rejected(), [])
    return { result, spans: receiver.spans() }
  }).pipe(Effect.scoped)

describe.skipIf(skip)(suite, () => {
  let work = ""
  beforeAll(() => {
    requireBin()
    TestImage.ensureTestAppImage()
    work = mkdtempSync(join(tmpdir(), "armada-tracing-"))
    return () => rmSync(work, { recursive: true, force: true })
  }, 300_000)

  it.live(
    "one run, one trace: a span per stage and per item, under one root, with the service name and no secret",
    () =>
      Effect.gen(function* () {
        const { result, spans } = yield* traced([
          "run",
          "examples/hello/pipeline.yaml",
          "--output",
          join(work, "ok")
        ])
        assert.strictEqual(result.code, 0, result.stdout + result.stderr)
        assert.strictEqual(new Set(spans.map((span) => span.traceId)).size, 1, "one trace")
        const roots = spans.filter((span) => span.parentSpanId === undefined)
        assert.lengthOf(roots, 1, `one root: ${roots.map((span) => span.name).join(", ")}`)
        const names = new Set(spans.map((span) => span.name))
        for (const stage of stageSpans) assert.isTrue(names.has(stage), `a span ${stage}`)
        const ids = (name: string) =>
          spans
            .filter((span) => span.name === name)
            .map((span) => String(span.attributes.id))
            .sort()
        assert.deepStrictEqual(ids("armada.process.item"), ["assets", "code", "docs"])
        assert.deepStrictEqual(ids("armada.plug.item"), ["stamp"])
        assert.lengthOf(
          spans.filter((span) => span.name === "armada.merge.item"),
          1
        )
        assert.deepStrictEqual(ids("armada.start.container"), ["assets", "code", "docs", "merger", "stamp"])
        assert.isTrue(
          spans.some((span) => span.name.startsWith("ContainerEngine.")),
          "the engine's calls have spans"
        )
        assert.isTrue(
          spans.some((span) => span.name.startsWith("ProcessorClient.")),
          "the HTTP calls have spans"
        )
        assert.strictEqual(roots[0]!.resource["service.name"], "armada-under-test")
        assert.strictEqual(roots[0]!.name, "armada run")
        assert.strictEqual(roots[0]!.attributes["armada.exit_code"], 0)
        assert.isTrue(
          spans.every((span) => span.status.code !== 2),
          "nothing failed"
        )
        assert.notInclude(JSON.stringify(spans.map(({ headers: _, ...span }) => span)), "not-in-any-span")
      })
  )

  it.live(
    "a failing run: the failing item's span is an error naming the typed error, the others are not",
    () =>
      Effect.gen(function* () {
        const { result, spans } = yield* traced(["run", failingSpec(work), "--output", join(work, "failing")])
        assert.strictEqual(result.code, 1, result.stdout + result.stderr)
        assert.strictEqual(new Set(spans.map((span) => span.traceId)).size, 1, "one trace")
        const items = spans.filter((span) => span.name === "armada.process.item")
        const failed = items.filter((span) => span.status.code === 2)
        assert.deepStrictEqual(
          failed.map((span) => span.attributes.id),
          ["code"]
        )
        assert.include(failed[0]!.status.message ?? "", "answered HTTP 500")
        assert.deepInclude(failed[0]!.events[0]?.attributes ?? {}, { "exception.type": "BadStatus" })
        const root = spans.find((span) => span.parentSpanId === undefined)
        assert.deepInclude(root, { name: "armada run" })
        assert.strictEqual(root!.attributes["armada.exit_code"], 1)
        assert.isTrue(
          items.filter((span) => span.attributes.id !== "code").every((span) => span.status.code !== 2)
        )
      })
  )
})
