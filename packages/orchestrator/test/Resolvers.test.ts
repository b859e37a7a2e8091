/**
 * Resolvers (docs/protocol.md, "Resolvers") on the in-memory engine: which conflicts go to which
 * resolver, what it is sent, what is written, and every way a file can fail to be settled.
 */
import { Archive, MemoryEngine } from "@armada/engine"
import { ProcessorError, Protocol } from "@armada/http"
import { Orchestrator, Progress } from "@armada/orchestrator"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Layer, Option, Ref } from "effect"
import * as harness from "./harness.js"

const template = harness.makeTemplate({ "README.md": "# the template\n" })
afterAll(() => template.remove())

/** Three processors; a.txt, b.txt and c.md are written by all of them, own.txt by each alone. */
const files: Record<string, Archive.Tree> = Object.fromEntries(
  ["p1", "p2", "p3"].map((id, index) => [
    id,
    Archive.make({
      "a.txt": `${id} a\n`,
      "b.txt": `${id} b\n`,
      "docs/c.md": Archive.file(`${id} c\n`, { mode: index === 2 ? 0o600 : 0o644 }),
      [`${id}.txt`]: `${id} alone\n`
    })
  ])
)

const processors = ["p1", "p2", "p3"].map((id) => ({ id, image: harness.image }))

/** Runs the session's stages (not the export) and gives the run's result or its failure. */
const runOnce = (input: Record<string, unknown>) =>
  Effect.gen(function* () {
    const spec = yield* harness.spec({ template: template.dir, processors, ...input })
    return yield* Effect.scoped(
      Effect.gen(function* () {
        const started = yield* Orchestrator.start(yield* Orchestrator.warm(spec))
        const result = yield* Effect.either(Orchestrator.run(started))
        const memory = yield* MemoryEngine.MemoryEngine
        const area = yield* memory.readVolume(started.session.sessionVolume)
        const merged: Archive.Tree =
          result._tag === "Right"
            ? Archive.subtree(area, result.right.mergeDir.slice(`${Protocol.areaDir}/`.length))
            : new Map()
        return { result, merged }
      })
    )
  })

const resolvedFiles = (result: Orchestrator.RunResult) =>
  result.resolved.map((r) => `${r.path} ${r.resolver}`)

describe("resolvers", () => {
  it.effect("a conflict no resolver matches stays last-write-wins; no resolver is called", () => {
    const calls: Array<string> = []
    return Effect.gen(function* () {
      const { result, merged } = yield* runOnce({
        resolvers: [{ id: "json", image: harness.image, files: ["**/*.json"] }]
      })
      assert.isTrue(result._tag === "Right")
      if (result._tag !== "Right") return
      assert.deepStrictEqual(result.right.conflicts, ["a.txt", "b.txt", "docs/c.md"])
      assert.deepStrictEqual(result.right.resolved, [])
      assert.deepStrictEqual(calls, [])
      assert.strictEqual(Archive.contents(merged)["a.txt"], "p3 a\n")
      assert.deepStrictEqual(yield* harness.leftovers, [])
    }).pipe(
      Effect.provide(
        harness.layer({
          files,
          resolve: {
            json: (request) =>
              Effect.sync(() => calls.push(request.files[0]!.path)).pipe(
                Effect.as(Protocol.ResolveResponse.make({ path: "", content: "" }))
              )
          }
        })
      )
    )
  })

  it.effect(
    "two resolvers, three conflicting files: each file matched by one resolver gets its answer, with every version and the last one's mode",
    () => {
      const requests: Array<Protocol.ResolveRequest> = []
      return Effect.gen(function* () {
        const { result, merged } = yield* runOnce({
          resolvers: [
            { id: "join", image: harness.image, files: ["*.txt"], config: { separator: "|" } },
            { id: "pick", image: harness.image, files: ["docs/**"], config: { layer: 1 } }
          ]
        })
        assert.isTrue(result._tag === "Right")
        if (result._tag !== "Right") return
        assert.deepStrictEqual(resolvedFiles(result.right), ["a.txt join", "b.txt join", "docs/c.md pick"])
        const contents = Archive.contents(merged)
        assert.strictEqual(contents["a.txt"], "p1 a\n|p2 a\n|p3 a\n")
        assert.strictEqual(contents["b.txt"], "p1 b\n|p2 b\n|p3 b\n")
        assert.strictEqual(contents["docs/c.md"], "p2 c\n")
        // Files only one processor wrote are the merger's.
        assert.strictEqual(contents["p2.txt"], "p2 alone\n")
        // The resolved file keeps the mode of the last version (p3's 0600).
        const c = Archive.get(merged, "docs/c.md")
        assert.strictEqual(Option.isSome(c) && c.value._tag === "File" ? c.value.mode : 0, 0o600)

        const forC = requests.find((request) => request.files[0]?.path === "docs/c.md")!
        assert.deepStrictEqual(forC.config, { layer: 1 })
        assert.deepStrictEqual(
          forC.files.map((file) => [file.path, file.content, file.origin.template, file.origin.layer]),
          [
            ["docs/c.md", "p1 c\n", "p1", 0],
            ["docs/c.md", "p2 c\n", "p2", 1],
            ["docs/c.md", "p3 c\n", "p3", 2]
          ]
        )
        assert.deepStrictEqual(yield* harness.leftovers, [])
      }).pipe(
        Effect.provide(
          harness.layer({
            files,
            resolve: {
              join: (request) =>
                Effect.sync(() => {
                  requests.push(request)
                  return Protocol.ResolveResponse.make({
                    path: request.files[0]!.path,
                    content: request.files.map((file) => file.content).join("|")
                  })
                }),
              pick: (request) =>
                Effect.sync(() => {
                  requests.push(request)
                  return Protocol.ResolveResponse.make({
                    path: request.files[0]!.path,
                    content: request.files.find((file) => file.origin.layer === 1)!.content
                  })
                })
            }
          })
        )
      )
    }
  )

  it.effect("a file two resolvers match is an AmbiguousResolvers failure naming the path and both", () =>
    Effect.gen(function* () {
      const { result } = yield* runOnce({
        resolvers: [
          { id: "all", image: harness.image, files: ["**"] },
          { id: "text", image: harness.image, files: ["a.txt"] },
          { id: "docs", image: harness.image, files: ["docs/*.md"] }
        ]
      })
      assert.isTrue(result._tag === "Left")
      if (result._tag !== "Left") return
      const error = result.left
      assert.strictEqual(error.stage, "merge")
      assert.deepStrictEqual(
        error.failures.map((f) => [f.kind, f.id, f.cause._tag]),
        [
          ["file", "a.txt", "AmbiguousResolvers"],
          ["file", "docs/c.md", "AmbiguousResolvers"]
        ]
      )
      const first = error.failures[0]!.cause
      assert.deepStrictEqual(first._tag === "AmbiguousResolvers" ? first.resolvers : [], ["all", "text"])
      assert.match(error.message, /a\.txt is matched by 2 resolvers \(all, text\)/)
      assert.deepStrictEqual(yield* harness.leftovers, [])
    }).pipe(Effect.provide(harness.layer({ files })))
  )

  it.effect("an answer for another path is a BadResponse of that file", () =>
    Effect.gen(function* () {
      const { result } = yield* runOnce({
        resolvers: [{ id: "liar", image: harness.image, files: ["a.txt"] }]
      })
      assert.isTrue(result._tag === "Left")
      if (result._tag !== "Left") return
      assert.deepStrictEqual(
        result.left.failures.map((f) => [f.stage, f.kind, f.id, f.image, f.cause._tag]),
        [["merge", "file", "a.txt", harness.image, "BadResponse"]]
      )
      assert.match(result.left.failures[0]!.cause.message, /answered for path "elsewhere\.txt".*"a\.txt"/)
    }).pipe(
      Effect.provide(
        harness.layer({
          files,
          resolve: {
            liar: () => Effect.succeed(Protocol.ResolveResponse.make({ path: "elsewhere.txt", content: "x" }))
          }
        })
      )
    )
  )

  it.effect(
    "conflicting files are settled in parallel under the limit, and every failing file is reported",
    () => {
      const recorded: Array<Progress.Event> = []
      return Effect.gen(function* () {
        const inFlight = yield* Ref.make(0)
        const most = yield* Ref.make(0)
        const two = yield* Deferred.make<void>()
        const resolve = (request: Protocol.ResolveRequest) =>
          Effect.gen(function* () {
            const now = yield* Ref.updateAndGet(inFlight, (n) => n + 1)
            yield* Ref.update(most, (m) => Math.max(m, now))
            // The first two wait for each other: only parallel calls get past this.
            if (now === 2) yield* Deferred.succeed(two, undefined)
            yield* Deferred.await(two)
            yield* Ref.update(inFlight, (n) => n - 1)
            const path = request.files[0]!.path
            return path === "docs/c.md"
              ? Protocol.ResolveResponse.make({ path, content: "settled\n" })
              : yield* new ProcessorError.BadStatus({
                  endpoint: { name: "r", url: "memory" },
                  status: 500,
                  body: `cannot settle ${path}`
                })
          })
        const { result } = yield* runOnce({
          resolvers: [{ id: "r", image: harness.image, files: ["**"] }],
          options: { concurrency: 2 }
        }).pipe(
          Effect.provide(
            Layer.merge(
              harness.layer({ files, resolve: { r: resolve } }),
              Progress.layer((event) => Effect.sync(() => recorded.push(event)))
            )
          )
        )
        assert.strictEqual(yield* Ref.get(most), 2)
        assert.isTrue(result._tag === "Left")
        if (result._tag !== "Left") return
        assert.deepStrictEqual(
          result.left.failures.map((f) => [f.stage, f.kind, f.id, f.cause._tag]),
          [
            ["merge", "file", "a.txt", "BadStatus"],
            ["merge", "file", "b.txt", "BadStatus"]
          ]
        )
        assert.deepStrictEqual(
          recorded
            .flatMap((e) =>
              e._tag === "ConflictResolved"
                ? [`${e.path} by ${e.resolver}`]
                : e._tag === "ConflictFailed"
                  ? [`${e.path} failed`]
                  : []
            )
            .sort(),
          ["a.txt failed", "b.txt failed", "docs/c.md by r"]
        )
      })
    }
  )

  it.effect("the pipeline's summary lists the resolver's container and the files it settled", () =>
    Effect.gen(function* () {
      const outputs = harness.makeOutputRoot()
      const spec = yield* harness.spec({
        template: template.dir,
        processors: processors.slice(0, 2),
        resolvers: [{ id: "r", image: harness.image, files: ["docs/*.md"] }]
      })
      const summary = yield* Orchestrator.pipeline(spec, { output: `${outputs.dir}/out` }).pipe(
        Effect.ensuring(Effect.sync(outputs.remove))
      )
      assert.deepStrictEqual(summary.conflicts, ["a.txt", "b.txt", "docs/c.md"])
      assert.deepStrictEqual(
        summary.resolved.map((r) => [r.path, r.resolver]),
        [["docs/c.md", "r"]]
      )
      assert.deepStrictEqual(
        summary.items.map((item) => `${item.role}/${item.id}`),
        ["processor/p1", "processor/p2", "resolver/r", "merger/merger"]
      )
      assert.deepStrictEqual(yield* harness.leftovers, [])
    }).pipe(Effect.provide(harness.layer({ files })))
  )
})
