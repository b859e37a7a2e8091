/**
 * Bad input: generated pipeline specs, hostile ids and names, hostile archives and templates,
 * answers that are too large or never end. Nothing may throw, nothing invalid may reach an engine,
 * nothing may be written outside its folder, and every refusal names what it refused.
 */
import { once } from "node:events"
import { mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, symlinkSync } from "node:fs"
import { createServer, type Server } from "node:http"
import { createServer as createNetServer } from "node:net"
import { join } from "node:path"
import type { Names } from "@armada/core"
import { Archive, ContainerEngine, MemoryEngine } from "@armada/engine"
import * as Http from "@armada/http"
import { Orchestrator, Spec } from "@armada/orchestrator"
import { Engine, TestImage } from "@armada/testkit"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Chunk, Duration, Effect, Exit, FastCheck as fc, Layer, Option, Stream } from "effect"
import { afterAll, beforeAll } from "vitest"
import { type RawEntry, rawTar } from "../../apps/test-app/test/rawTar.js"
import * as H from "./harness.js"
import * as Report from "./report.js"

const seed = 8
const generated = 10_000

// ---------------------------------------------------------------------------------------------
// What the sections of the report collect.

const specs = {
  generated: 0,
  decoded: 0,
  rejected: 0,
  defects: 0,
  engineCallsOnRejected: 0,
  issues: 0,
  ranOnMemory: 0
}
const hostileRows: Array<ReadonlyArray<string | number>> = []
const archiveRows: Array<ReadonlyArray<string | number>> = []
const answerRows: Array<ReadonlyArray<string | number>> = []

/** The paths this process has open. */
const openFiles = (): Array<string> =>
  readdirSync("/proc/self/fd").flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/self/fd/${fd}`)]
    } catch {
      return [] // closed meanwhile
    }
  })

// ---------------------------------------------------------------------------------------------
// Generated specs.

const hostile = fc.constantFrom(
  "",
  " ",
  "UPPER",
  "Upper-Case",
  "a/b",
  "../up",
  "x".repeat(300),
  "é",
  "日本語",
  "\u212A",
  "a b",
  "-lead",
  ".lead",
  "a:b",
  "nul\u0000byte",
  "emoji🚀"
)
const anyString = fc.oneof(hostile, fc.string({ maxLength: 40 }), fc.fullUnicodeString({ maxLength: 12 }))
/** Mostly `valid`, sometimes anything: each spec then has a fair chance to be valid as a whole. */
const mostly = <A, B>(valid: fc.Arbitrary<A>, invalid: fc.Arbitrary<B>) =>
  fc.oneof({ weight: 15, arbitrary: valid }, { weight: 1, arbitrary: invalid })
const id = mostly(
  fc.stringMatching(/^[a-zA-Z0-9][a-z0-9_.-]{0,20}$/),
  fc.oneof(anyString, fc.integer(), fc.constant(null))
)
const image = mostly(
  fc.constantFrom(
    "armada/test-app:dev",
    "acme/upper:1",
    "127.0.0.1:5000/a/b:c",
    `a@sha256:${"0".repeat(64)}`
  ),
  anyString
)
const duration = mostly(
  fc.constantFrom("30s", "2m", "500ms", "1 hour", 1500),
  fc.oneof(fc.constantFrom("-1s", "0", "abc", "1e9s"), fc.integer(), fc.double())
)
const glob = fc.record(
  {
    root: mostly(fc.constantFrom("src", null), anyString),
    glob: mostly(fc.constantFrom("**", "*.md", "[", "{a,b}"), fc.oneof(anyString, fc.integer())),
    exclude: mostly(fc.array(fc.constantFrom("**/*.test.ts", "x"), { maxLength: 2 }), anyString),
    type: mostly(fc.constantFrom("template", "copy"), fc.constantFrom("bogus", ""))
  },
  { requiredKeys: ["glob", "type"] }
)
const env = fc.dictionary(
  mostly(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/), anyString),
  mostly(fc.string({ maxLength: 8 }), fc.integer()),
  { maxKeys: 2 }
)
const processor = fc.record(
  {
    id,
    image,
    globs: mostly(fc.array(glob, { maxLength: 2 }), anyString),
    config: fc.jsonValue({ maxDepth: 2 }),
    env
  },
  { requiredKeys: ["id", "image"] }
)
const plugin = fc.record(
  { id, image, config: fc.jsonValue({ maxDepth: 2 }), env },
  { requiredKeys: ["id", "image"] }
)

const specArbitrary = (template: string) =>
  fc.oneof(
    { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) },
    {
      weight: 20,
      arbitrary: fc
        .tuple(
          fc.record(
            {
              template: mostly(fc.constant(template), fc.oneof(anyString, fc.integer())),
              session: id,
              templateId: id,
              processors: mostly(fc.array(processor, { maxLength: 3 }), anyString),
              plugins: fc.array(plugin, { maxLength: 2 }),
              merger: fc.record({ image }, { requiredKeys: [] }),
              options: fc.record(
                {
                  concurrency: mostly(
                    fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constant("cpus")),
                    fc.oneof(fc.integer({ min: -2, max: 0 }), fc.constantFrom("8", "many"))
                  ),
                  prefix: mostly(fc.constant(H.prefix), id),
                  keep: mostly(fc.boolean(), anyString),
                  timeouts: fc.record({ ready: duration, call: duration }, { requiredKeys: [] }),
                  limits: fc.record(
                    {
                      memory: mostly(
                        fc.constantFrom("256m", "1g", 268435456),
                        fc.constantFrom("1k", "-5m", "lots", -1)
                      ),
                      cpus: mostly(
                        fc.double({ min: 0.01, max: 8, noNaN: true }),
                        fc.double({ min: -1, max: 2048 })
                      ),
                      pids: mostly(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: -1, max: 0 }))
                    },
                    { requiredKeys: [] }
                  )
                },
                { requiredKeys: [] }
              )
            },
            { requiredKeys: ["template"] }
          ),
          fc.dictionary(
            fc.constantFrom("extra", "processor", "Processors", "optionz"),
            fc.jsonValue({ maxDepth: 1 }),
            {
              maxKeys: 1
            }
          ),
          fc.integer({ min: 0, max: 9 })
        )
        // One spec in ten carries a key the schema does not know.
        .map(([spec, extra, dice]) => (dice === 0 ? { ...extra, ...spec } : spec))
    }
  )

/** `processors[2].image`, `local["a/b"]` → the keys it names. */
const parsePath = (path: string): Array<string | number> | undefined => {
  const keys: Array<string | number> = []
  const token = /^(?:\.?([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[?("(?:[^"\\]|\\.)*")\]?)/
  let rest = path
  while (rest !== "") {
    const match = token.exec(rest)
    if (match === null || match[0] === "") return undefined
    keys.push(match[1] ?? (match[2] !== undefined ? Number(match[2]) : (JSON.parse(match[3]!) as string)))
    rest = rest.slice(match[0].length)
  }
  return keys
}

/** Whether every key of `path` but the last exists in `input`: the issue points into the input. */
const pointsInto = (input: unknown, path: string): boolean => {
  if (path === "") return true
  const keys = parsePath(path)
  if (keys === undefined || keys.length === 0) return false
  let at: unknown = input
  for (const key of keys.slice(0, -1)) {
    if (typeof at !== "object" || at === null || !(key in at)) return false
    at = (at as Record<string | number, unknown>)[key]
  }
  return typeof at === "object" && at !== null
}

// ---------------------------------------------------------------------------------------------
// Hostile archives.

type Entry = Omit<RawEntry, "body"> & { readonly content?: string }

/** A tar archive of `entries`, exactly as written; a file without content holds "x". */
const tarOf = (entries: ReadonlyArray<Entry>): Stream.Stream<Uint8Array> =>
  rawTar(
    entries.map(({ content, ...entry }) => ({
      ...entry,
      body: (entry.type ?? "file") === "file" ? (content ?? "x") : ""
    }))
  )

/** Every path below `dir`, relative to it, sorted. */
const listTree = (dir: string): Array<string> =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort()

const archiveCases: ReadonlyArray<{
  readonly title: string
  readonly entries: ReadonlyArray<Entry>
  /** `refused`: UnsafeEntry; otherwise the tree the extraction must leave. */
  readonly expect: "refused" | ReadonlyArray<string>
}> = [
  { title: "`../escape.txt`", entries: [{ name: "../escape.txt" }], expect: "refused" },
  { title: "`a/../../escape.txt`", entries: [{ name: "a/../../escape.txt" }], expect: "refused" },
  {
    title: "`/abs/evil.txt` (absolute)",
    entries: [{ name: "/abs/evil.txt" }],
    expect: ["abs", "abs/evil.txt"]
  },
  {
    title: "symlink `etc` → `/etc`",
    entries: [{ name: "etc", type: "symlink", linkname: "/etc" }],
    expect: "refused"
  },
  {
    title: "symlink `up` → `../../..`",
    entries: [{ name: "up", type: "symlink", linkname: "../../.." }],
    expect: "refused"
  },
  {
    title: "symlink `in` → `sub`, then file `in/x` through it",
    entries: [
      { name: "sub", type: "directory" },
      { name: "in", type: "symlink", linkname: "sub" },
      { name: "in/x", content: "through" }
    ],
    expect: "refused"
  },
  {
    title: "hard link to `/etc/passwd`",
    entries: [{ name: "pw", type: "link", linkname: "/etc/passwd" }],
    expect: "refused"
  },
  {
    title: "hard link `../outside`",
    entries: [{ name: "pw", type: "link", linkname: "../outside" }],
    expect: "refused"
  }
]

// ---------------------------------------------------------------------------------------------

let work = ""

/** A server on 127.0.0.1 answering every request with `handler`. */
const serve = (handler: Parameters<typeof createServer>[1]) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const server: Server = createServer(handler)
      server.listen(0, "127.0.0.1")
      await once(server, "listening")
      const address = server.address()
      return {
        server,
        url: `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
      }
    }),
    ({ server }) =>
      Effect.promise(() => {
        server.closeAllConnections()
        return new Promise<void>((resolve) => server.close(() => resolve()))
      })
  )

const liveClient = Http.layer.pipe(Layer.provide(NodeHttpClient.layerUndici))

beforeAll(() => {
  work = H.scratch("input")
})

// After both suites of the file.
afterAll(() => {
  H.cleanup(work)
  Report.save("input", {
    title: "Bad input",
    how: "Specs and archives need no engine: the specs run on `MemoryEngine.layerMemory` (which logs every call that reaches it) with `Http.layerTest`, archives on the host. Hostile ids also go through the built CLI with `DOCKER_HOST` pointing at a socket of the test's that counts connections. The template holding links and the oversized answers use the real Docker engine and a real HTTP server.",
    figures: [
      `generated specs: ${specs.generated} (fast-check, seed ${seed}): ${specs.decoded} decoded, ${specs.rejected} rejected with a SpecError (${specs.issues} issues, each with its path), ${specs.defects} threw or died`,
      `engine calls made for a rejected spec: ${specs.engineCallsOnRejected}`,
      `decoded specs run through the pipeline on the memory engine: ${specs.ranOnMemory}, none failing with an input error from the engine or a defect`,
      `hostile ids and names: ${hostileRows.length} cases, every one an input error before any engine call`,
      `hostile archives: ${archiveRows.length} cases, files written outside their folder: 0`
    ],
    tables: [
      { title: "Hostile ids and names", columns: ["where", "value", "via", "outcome"], rows: hostileRows },
      {
        title: "Hostile archives and templates",
        columns: ["case", "via", "outcome", "outside the folder"],
        rows: archiveRows
      },
      {
        title: "Answers that are too large or never end",
        columns: ["answer", "outcome", "time"],
        rows: answerRows
      }
    ]
  })
}, 60_000)

describe("reliability: bad input", () => {
  it.live(
    `${generated} generated specs either decode or fail with a SpecError naming the path; none throws, none reaches the engine`,
    () =>
      Effect.gen(function* () {
        const template = H.writeTree(join(work, "gen-template"), { "a.md": "# {{name}}\n" })
        const inputs = fc.sample(specArbitrary(template), { numRuns: generated, seed })
        const memory = yield* MemoryEngine.MemoryEngine
        const keptPrefixes = new Set<Names.Id>()
        const problems: Array<string> = []
        for (const [index, input] of inputs.entries()) {
          specs.generated++
          const before = (yield* memory.calls).length
          const decoded = Effect.runSyncExit(Spec.decode(input, { baseDir: work }))
          if (Exit.isFailure(decoded)) {
            const error = Cause.failureOption(decoded.cause)
            if (Option.isNone(error) || error.value._tag !== "SpecError") {
              specs.defects++
              problems.push(`#${index}: ${Cause.pretty(decoded.cause)}`)
              continue
            }
            specs.rejected++
            specs.issues += error.value.issues.length
            for (const issue of error.value.issues) {
              if (issue.message === "" || !pointsInto(input, issue.path)) {
                problems.push(
                  `#${index}: issue ${JSON.stringify(issue)} does not point into ${JSON.stringify(input)}`
                )
              }
            }
            if (typeof input === "object" && input !== null && !Array.isArray(input)) {
              if (error.value.issues.some((issue) => issue.path === "")) {
                problems.push(`#${index}: an issue without a path: ${error.value.message}`)
              }
            }
          } else {
            specs.decoded++
            if (decoded.value.options.keep) keptPrefixes.add(decoded.value.options.prefix)
            // A decoded spec goes all the way: the engine must never refuse what the spec accepted.
            const ran = yield* Orchestrator.pipeline(decoded.value, {
              output: join(work, "gen-out", String(index))
            }).pipe(Effect.exit)
            specs.ranOnMemory++
            if (Exit.isFailure(ran)) {
              const failed = Cause.failureOption(ran.cause)
              if (Option.isNone(failed))
                problems.push(`#${index}: pipeline defect ${Cause.pretty(ran.cause)}`)
              else {
                for (const failure of failed.value.failures) {
                  if (failure.cause._tag === "InputError" || failure.cause._tag === "Defect") {
                    problems.push(`#${index}: ${failure.message} for ${JSON.stringify(input)}`)
                  }
                }
              }
            }
          }
          const calls = (yield* memory.calls).length - before
          if (Exit.isFailure(decoded)) {
            specs.engineCallsOnRejected += calls
            if (calls > 0) problems.push(`#${index}: ${calls} engine calls for a rejected spec`)
          }
        }
        assert.deepStrictEqual(problems.slice(0, 20), [])
        assert.strictEqual(specs.generated, generated)
        assert.isAbove(specs.decoded, 100, "the generator must also make valid specs")
        assert.isAbove(specs.rejected, 1000)
        // Every run cleaned up after itself, whatever its prefix, but those asked to keep theirs:
        // `clean` removes those.
        for (const prefix of keptPrefixes) yield* Orchestrator.clean({ all: true }, { prefix })
        const engine = yield* ContainerEngine
        assert.deepStrictEqual([...(yield* engine.listContainers()), ...(yield* engine.listVolumes())], [])
      }).pipe(
        Effect.provide(
          Layer.provideMerge(
            Http.layerTest(),
            MemoryEngine.layerMemory({ images: [{ ref: TestImage.testAppImage }] })
          )
        )
      ),
    // Pure CPU, some 3,300 of the specs run through the pipeline: on a busy 2-core machine (load
    // average ~30) it took 20 minutes.
    2_400_000
  )

  it.live(
    "hostile ids and names are input errors before any engine call (library and CLI)",
    () =>
      Effect.gen(function* () {
        const ids = ["", "UPPER/CASE", "a/b", "x".repeat(300), "日本語", "\u212Aelvin", "-lead", "a b"]
        const images = ["", "UPPER/CASE", "x".repeat(300), "日本語", "a b", "-lead", "a:b:c", "a@sha256:zz"]
        const fields: ReadonlyArray<{
          readonly where: string
          readonly values: ReadonlyArray<string>
          readonly spec: (value: string) => Record<string, unknown>
        }> = [
          {
            where: "processors[0].id",
            values: ids,
            spec: (value) => ({ processors: [{ id: value, image: H.image }] })
          },
          {
            where: "plugins[0].id",
            values: ids,
            spec: (value) => ({ plugins: [{ id: value, image: H.image }] })
          },
          { where: "session", values: ids, spec: (value) => ({ session: value }) },
          { where: "templateId", values: ids, spec: (value) => ({ templateId: value }) },
          { where: "options.prefix", values: ids, spec: (value) => ({ options: { prefix: value } }) },
          {
            where: "processors[0].image",
            values: images,
            spec: (value) => ({ processors: [{ id: "p", image: value }] })
          }
        ]
        for (const field of fields) {
          for (const value of field.values) {
            const result = yield* Effect.either(
              Spec.decode({ template: work, ...field.spec(value) }, { baseDir: work })
            )
            assert.isTrue(result._tag === "Left", `${field.where} = ${JSON.stringify(value)} was accepted`)
            if (result._tag === "Left") {
              assert.include(
                result.left.issues.map((issue) => issue.path),
                field.where,
                `${field.where} = ${JSON.stringify(value)}: ${result.left.message}`
              )
            }
          }
          hostileRows.push([
            field.where,
            field.values
              .map((v) => (v.length > 20 ? `${v.slice(0, 8)}…(${v.length})` : JSON.stringify(v)))
              .join(" "),
            "library",
            "SpecError naming the path"
          ])
        }
        // Upper case alone is lower-cased, as PROTOCOL.md says, not refused.
        const upper = yield* Spec.decode(
          { template: work, processors: [{ id: "UPPER", image: H.image }] },
          { baseDir: work }
        )
        assert.strictEqual(upper.processors[0]!.id, "upper")
        hostileRows.push([
          "processors[0].id",
          '"UPPER"',
          "library",
          'accepted as "upper" (ids are lower-cased)'
        ])

        // Through the CLI, with an "engine" that only counts who knocks.
        const socket = join(work, "engine.sock")
        let connections = 0
        const server = createNetServer((connection) => {
          connections++
          connection.destroy()
        })
        yield* Effect.promise(() => new Promise<void>((resolve) => server.listen(socket, resolve)))
        const env = { DOCKER_HOST: `unix://${socket}` }
        const dir = H.writeTree(join(work, "hostile-cli"), {})
        const validSpec = H.specFile(H.writeTree(join(dir, "valid"), {}), { template: work })
        const cli: ReadonlyArray<{
          readonly title: string
          readonly args: ReadonlyArray<string>
          readonly code: number
        }> = [
          {
            title: "processors[0].id = a/b",
            args: ["run", H.specFile(dir, { template: work, processors: [{ id: "a/b", image: H.image }] })],
            code: 2
          },
          { title: "--prefix Bad/Prefix", args: ["run", validSpec, "--prefix", "Bad/Prefix"], code: 2 },
          { title: "clean --session ../x", args: ["clean", "--session", "../x"], code: 2 },
          {
            title: `clean --session ${"x".repeat(300).slice(0, 8)}…(300)`,
            args: ["clean", "--session", "x".repeat(300)],
            code: 2
          }
        ]
        for (const c of cli) {
          const run = H.armada([...c.args, "--engine", "docker", "--json"], env)
          const exit = yield* Effect.promise(() => run.exit)
          assert.strictEqual(exit.code, c.code, `${c.title}: ${run.stdout()}${run.stderr()}`)
          hostileRows.push([c.title, "", "cli", `exit ${exit.code}, ${connections} engine connections`])
        }
        assert.strictEqual(connections, 0, "a refused input reached the engine")
        // The control: a valid spec does knock.
        const valid = H.armada(["run", validSpec, "--engine", "docker", "--json"], env)
        const validExit = yield* Effect.promise(() => valid.exit)
        assert.strictEqual(validExit.code, 3, valid.stdout())
        assert.isAbove(connections, 0)
        hostileRows.push([
          "a valid spec (control)",
          "",
          "cli",
          `exit 3, ${connections} engine connection(s): the counter works`
        ])
        yield* Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
      }),
    300_000
  )

  it.live("hostile tar entries are refused or neutralised, never written outside the folder", () =>
    Effect.gen(function* () {
      for (const [index, c] of archiveCases.entries()) {
        const root = join(work, `tar-${index}`)
        const target = join(root, "inside", "deeper")
        mkdirSync(target, { recursive: true })
        const result = yield* Effect.either(Archive.extractToDirectory(tarOf(c.entries), target))
        const outside = listTree(root).filter((path) => !path.startsWith("inside/deeper"))
        assert.deepStrictEqual(outside, ["inside"], `${c.title}: written outside`)
        if (c.expect === "refused") {
          assert.isTrue(
            result._tag === "Left" && result.left.reason === "UnsafeEntry",
            `${c.title}: ${JSON.stringify(result)}`
          )
        } else {
          assert.isTrue(result._tag === "Right", `${c.title}: ${JSON.stringify(result)}`)
          assert.deepStrictEqual(listTree(target), c.expect)
        }
        archiveRows.push([
          c.title,
          "Archive.extractToDirectory",
          result._tag === "Left"
            ? `refused: ${result.left.message}`
            : `neutralised: written as ${listTree(target).at(-1)}`,
          0
        ])
      }
      // Read into memory, `..` is refused too.
      const read = yield* Effect.either(Archive.fromTar(tarOf([{ name: "../escape.txt" }])))
      assert.isTrue(read._tag === "Left" && read.left.reason === "UnsafeEntry")
      archiveRows.push([
        "`../escape.txt`",
        "Archive.fromTar",
        `refused: ${read._tag === "Left" ? read.left.message : ""}`,
        0
      ])
    })
  )

  it.live("a template packed while its reader stops half-way leaves no unhandled rejection", () =>
    Effect.gen(function* () {
      const dir = H.writeTree(join(work, "big-template"), { "big.bin": "x".repeat(8 * 1024 * 1024) })
      const rejections: Array<unknown> = []
      const onRejection = (reason: unknown) => rejections.push(reason)
      process.on("unhandledRejection", onRejection)
      // The consumer takes one chunk and stops, as an interrupted template load does.
      const first = yield* Stream.runCollect(Stream.take(Archive.packDirectory(dir), 1))
      assert.strictEqual(Chunk.size(first), 1)
      // The packing is over once it has let go of the file; a rejection it left unhandled would
      // have been reported by then (it settles as the file closes, and `until` waits between looks).
      const big = realpathSync(join(dir, "big.bin"))
      yield* Effect.promise(() => H.until(() => !openFiles().includes(big), "the packing to close big.bin"))
      process.removeListener("unhandledRejection", onRejection)
      assert.deepStrictEqual(rejections.map(String), [])
      archiveRows.push([
        "a template whose packing stops half-way (an interrupted load)",
        "Archive.packDirectory",
        "no unhandled rejection",
        0
      ])
    })
  )

  it.live("an answer of 10 MiB without a length, or one that never ends, is a bounded typed error", () =>
    Effect.gen(function* () {
      const big = yield* serve((_, response) => {
        response.writeHead(200, { "content-type": "application/json" })
        const chunk = Buffer.alloc(64 * 1024, " ")
        response.write('{"outputDir":"/workspace/area/x","padding":"')
        for (let i = 0; i < 160; i++) response.write(chunk)
        response.end('"}')
      })
      const forever = yield* serve((_, response) => {
        response.writeHead(200, { "content-type": "application/json" })
        const timer = setInterval(() => response.write(" "), 100)
        response.on("close", () => clearInterval(timer))
      })
      const client = yield* Http.ProcessorClient
      const request = Http.Protocol.ProcessRequest.make({
        readDir: "/workspace/cyanprint",
        writeDir: "/workspace/area/x",
        globs: [],
        config: {}
      })
      const call = (url: string, timeout: Duration.DurationInput) =>
        Effect.timed(Effect.flip(client.process({ name: "hostile", url }, request, { timeout })))
      // Only the endless answer is about the timeout; the large one has all the time it needs.
      const [bigTook, bigError] = yield* call(big.url, "60 seconds")
      assert.strictEqual(bigError._tag, "BadResponse")
      assert.match(bigError.message, /larger than 1048576 bytes \(stopped reading at \d+ bytes\)/)
      answerRows.push([
        "10 MiB of JSON, chunked (no content-length)",
        `${bigError._tag}: ${bigError.message}`,
        `${Math.round(Duration.toMillis(bigTook))} ms`
      ])
      const [foreverTook, foreverError] = yield* call(forever.url, "3 seconds")
      assert.strictEqual(foreverError._tag, "Timeout")
      answerRows.push([
        "200 and a space every 100 ms, forever",
        `${foreverError._tag}: ${foreverError.message}`,
        `${Math.round(Duration.toMillis(foreverTook))} ms`
      ])
    }).pipe(Effect.provide(liveClient), Effect.scoped)
  )
})

describe.skipIf(Engine.skipWithoutEngine("reliability: hostile templates"))(
  "reliability: hostile templates",
  () => {
    beforeAll(() => {
      TestImage.ensureTestAppImage()
    }, 300_000)

    afterAll(() => {
      H.sweep()
    })

    it.live(
      "links in a template that point outside are refused on the way in or out, never followed",
      () =>
        Effect.gen(function* () {
          const root = join(work, "links")
          const processors = [{ id: "copy", image: H.image, globs: [{ glob: "**", type: "copy" }] }]
          const failureOf = (ran: H.Ran) =>
            Exit.isFailure(ran.exit) ? Option.getOrUndefined(Cause.failureOption(ran.exit.cause)) : undefined

          // A relative link climbing out of the template: the engine refuses to load it.
          const climbing = H.writeTree(join(root, "climbing"), { "a.txt": "a\n" })
          symlinkSync("../../../../../../tmp", join(climbing, "up"))
          const refused = failureOf(
            yield* H.runPipeline(yield* H.specOf({ template: climbing, processors }), join(root, "out-1"))
          )
          assert.strictEqual(refused?.stage, "warm", JSON.stringify(refused))
          assert.strictEqual(refused?.failures[0]?.kind, "template")
          archiveRows.push([
            "template link `up` → `../../../../../../tmp`",
            "Orchestrator.pipeline (Docker)",
            `refused at warm: ${refused?.failures[0]?.message.slice(0, 160)}`,
            0
          ])

          // An absolute link: loaded and copied as a link, refused when exported to a directory.
          const absolute = H.writeTree(join(root, "absolute"), { "a.txt": "a\n" })
          symlinkSync("/etc/passwd", join(absolute, "passwd"))
          const outputs = join(root, "outputs")
          const exported = failureOf(
            yield* H.runPipeline(yield* H.specOf({ template: absolute, processors }), join(outputs, "dir"))
          )
          assert.strictEqual(exported?.stage, "export", JSON.stringify(exported))
          assert.strictEqual(exported?.failures[0]?.cause._tag, "ArchiveError")
          assert.match(
            exported?.failures[0]?.cause.message ?? "",
            /refused archive entry passwd: absolute symbolic link/
          )
          assert.deepStrictEqual(
            listTree(outputs).filter((path) => !path.startsWith("dir")),
            [],
            "written outside the output folder"
          )
          archiveRows.push([
            "template link `passwd` → `/etc/passwd`, exported to a directory",
            "Orchestrator.pipeline (Docker)",
            `refused at export: ${exported?.failures[0]?.cause.message}`,
            0
          ])

          // As a .tar.gz the link stays a link: the archive holds it, nothing is followed.
          const gz = join(outputs, "out.tar.gz")
          const packed = yield* H.runPipeline(yield* H.specOf({ template: absolute, processors }), gz)
          assert.isTrue(Exit.isSuccess(packed.exit), JSON.stringify(packed.exit))
          const tree = yield* Archive.fromTar(
            Archive.gunzip(Stream.succeed(new Uint8Array(readFileSync(gz))))
          )
          assert.strictEqual(tree.get("passwd")?._tag, "Symlink")
          assert.strictEqual((tree.get("passwd") as Archive.Symlink).target, "/etc/passwd")
          assert.strictEqual(Archive.contents(tree)["a.txt"], "a\n")
          archiveRows.push([
            "the same template, exported as .tar.gz",
            "Orchestrator.pipeline (Docker)",
            "the link is kept as a link, never followed",
            0
          ])
          assert.deepStrictEqual(H.armadaLeft(H.labelled(H.managedLabel)), H.nothing)
        }),
      400_000
    )

    it(`leaves nothing labelled ${H.managedLabel}`, () => {
      H.assertNothingLeft()
    })
  }
)
