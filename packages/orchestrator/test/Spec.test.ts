import { readdirSync, readFileSync } from "node:fs"
import { Spec } from "@armada/orchestrator"
import { FileSystem } from "@effect/platform"
import { SystemError } from "@effect/platform/Error"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either } from "effect"

const base = { template: "./tpl" }
const decode = (input: unknown) => Spec.decode(input, { baseDir: "/specs" })
const issuesOf = (input: unknown) =>
  Effect.map(Effect.either(decode(input)), (result) =>
    Either.isLeft(result) ? result.left.issues.map((i) => `${i.path}: ${i.message}`) : []
  )

describe("Spec.decode", () => {
  it.effect("fills every default, resolves the template against the spec's dir, derives templateId", () =>
    Effect.gen(function* () {
      const spec = yield* decode({
        template: "./My Template",
        processors: [{ id: "P1", image: "acme/p:1" }],
        plugins: [{ id: "fmt", image: "acme/fmt", config: { width: 80 } }]
      })
      assert.strictEqual(spec.template, "/specs/My Template")
      assert.strictEqual(spec.templateId, "my-template")
      assert.match(spec.session, /^[a-z][a-z0-9]{7}$/)
      // Ids are lower-cased.
      assert.strictEqual(spec.processors[0]!.id, "p1")
      assert.deepStrictEqual(spec.processors[0]!.globs, [])
      assert.deepStrictEqual(spec.processors[0]!.config, {})
      assert.deepStrictEqual(spec.plugins[0]!.config, { width: 80 })
      assert.strictEqual(spec.merger.image, "armada/test-app:dev")
      assert.strictEqual(spec.options.concurrency, "cpus")
      assert.strictEqual(spec.options.prefix, "armada")
      assert.strictEqual(spec.options.keep, false)
      assert.strictEqual(Duration.toMillis(spec.options.timeouts.ready), 60_000)
      assert.strictEqual(Duration.toMillis(spec.options.timeouts.call), 300_000)
      assert.deepStrictEqual(spec.options.limits, {})
      assert.strictEqual(spec.options.security, "default")
      assert.deepStrictEqual(spec.resolvers, [])
      assert.deepStrictEqual(spec.local, {})
    })
  )

  it.effect("reads resolvers (globs, config) and the strict security profile", () =>
    Effect.gen(function* () {
      const spec = yield* decode({
        ...base,
        resolvers: [
          { id: "JSON", image: "acme/json:1", files: ["**/*.json"], config: { indent: 2 } },
          { id: "text", image: "acme/text:1", files: ["*.txt", "docs/**"] }
        ],
        options: { security: "strict" }
      })
      assert.deepStrictEqual(
        spec.resolvers.map((r) => [r.id, r.image, r.files, r.config, r.env]),
        [
          ["json", "acme/json:1", ["**/*.json"], { indent: 2 }, {}],
          ["text", "acme/text:1", ["*.txt", "docs/**"], {}, {}]
        ]
      )
      assert.strictEqual(spec.options.security, "strict")
    })
  )

  it.effect("refuses a resolver without globs, an empty glob, a duplicate id and an unknown profile", () =>
    Effect.gen(function* () {
      const issues = yield* issuesOf({
        ...base,
        resolvers: [
          { id: "a", image: "acme/a", files: [] },
          { id: "b", image: "acme/b", files: [""] },
          { id: "A", image: "acme/c", files: ["*"] },
          { id: "c", image: "acme/c" }
        ],
        options: { security: "loose" }
      })
      assert.deepStrictEqual(issues.sort(), [
        'options.security: expected "default" or "strict", got "loose"',
        "resolvers[0].files: expected at least one glob",
        "resolvers[1].files[0]: expected a glob, got an empty string",
        "resolvers[3].files: is missing"
      ])
      const duplicate = yield* issuesOf({
        ...base,
        resolvers: [
          { id: "a", image: "acme/a", files: ["*"] },
          { id: "A", image: "acme/c", files: ["*"] }
        ]
      })
      assert.deepStrictEqual(duplicate, ['resolvers[1].id: duplicate id "a" (also at [0])'])
    })
  )

  it.effect(
    "reads options: durations as ms or strings, memory sizes, cpus, pids, and the local catalog",
    () =>
      Effect.gen(function* () {
        const spec = yield* decode({
          ...base,
          session: "Run-1",
          templateId: "tpl",
          options: {
            concurrency: 8,
            prefix: "armadatest",
            keep: true,
            timeouts: { ready: "30s", call: 1500 },
            limits: { memory: "256m", cpus: 0.5, pids: 64 }
          },
          local: { "acme/p:1": { command: ["node", "p.js"] } }
        })
        assert.strictEqual(spec.session, "run-1")
        assert.strictEqual(spec.options.concurrency, 8)
        assert.strictEqual(spec.options.prefix, "armadatest")
        assert.strictEqual(Duration.toMillis(spec.options.timeouts.ready), 30_000)
        assert.strictEqual(Duration.toMillis(spec.options.timeouts.call), 1500)
        assert.deepStrictEqual(spec.options.limits, { memory: 256 * 1024 * 1024, cpus: 0.5, pids: 64 })
        assert.deepStrictEqual(spec.local, { "acme/p:1": { command: ["node", "p.js"] } })
      })
  )

  it.effect("resolves ./ and ../ words of a local command against the spec's directory", () =>
    Effect.gen(function* () {
      const spec = yield* decode({
        ...base,
        local: {
          "acme/p:1": { command: ["node", "./p/main.mjs", "--config", "../shared/p.json", "--flag=./x"] },
          "acme/q:1": { command: ["./bin/q", "/opt/q.json"] }
        }
      })
      assert.deepStrictEqual(spec.local, {
        "acme/p:1": { command: ["node", "/specs/p/main.mjs", "--config", "/shared/p.json", "--flag=./x"] },
        "acme/q:1": { command: ["/specs/bin/q", "/opt/q.json"] }
      })
    })
  )

  it.effect("names the path and what was expected", () =>
    Effect.gen(function* () {
      const issues = yield* issuesOf({
        ...base,
        processors: [
          { id: "a", image: "acme/a" },
          { id: "b", image: "acme/b" },
          { id: "c", image: "Not An Image" }
        ]
      })
      assert.deepStrictEqual(issues, ['processors[2].image: expected an image reference, got "Not An Image"'])
    })
  )

  it.effect("lists every problem at once, each at its path", () =>
    Effect.gen(function* () {
      const issues = yield* issuesOf({
        session: "no spaces",
        processors: [
          { id: "a", image: "acme/a", env: { A: 1 } },
          { image: 3, extra: true },
          { id: "A", image: "x" }
        ],
        plugins: "nope",
        options: { concurrency: 0, timeouts: { ready: "soon" }, limits: { memory: "lots" } },
        typo: 1
      })
      assert.deepStrictEqual(issues.sort(), [
        'options.concurrency: expected a positive integer or "cpus", got 0',
        'options.limits.memory: expected a memory size of at least 6m, such as 268435456 or "256m", got "lots"',
        'options.timeouts.ready: expected a duration: milliseconds, or a number with a unit such as "30s", "2m", "500ms", got "soon"',
        'plugins: expected a list, got "nope"',
        "processors[0].env.A: expected a string, got 1",
        'processors[1].extra: is unexpected, expected: "id" | "image" | "config" | "globs" | "env"',
        "processors[1].id: is missing",
        "processors[1].image: expected an image reference, got 3",
        'session: expected an id of 1-63 characters [a-z0-9_.-] starting with a letter or digit, got "no spaces"',
        "template: is missing",
        'typo: is unexpected, expected: "session" | "template" | "templateId" | "processors" | "plugins" | "resolvers" | "merger" | "options" | "local"'
      ])
    })
  )

  it.effect("refuses duplicate ids within a list, naming both places", () =>
    Effect.gen(function* () {
      const issues = yield* issuesOf({
        ...base,
        processors: [
          { id: "a", image: "acme/a" },
          { id: "b", image: "acme/b" },
          { id: "A", image: "acme/c" }
        ],
        // The same id as a processor is fine: containers are named by role too.
        plugins: [{ id: "a", image: "acme/a" }]
      })
      assert.deepStrictEqual(issues, ['processors[2].id: duplicate id "a" (also at [0])'])
    })
  )

  it.effect("refuses a template whose name gives no id unless templateId is set", () =>
    Effect.gen(function* () {
      const issues = yield* issuesOf({ template: "/x/___" })
      assert.deepStrictEqual(issues, [
        'templateId: cannot derive an id from the template directory "/x/___"; set templateId'
      ])
      const spec = yield* decode({ template: "/x/___", templateId: "t" })
      assert.strictEqual(spec.templateId, "t")
    })
  )
})

describe("Spec.parse", () => {
  it.effect("reads YAML and JSON alike", () =>
    Effect.gen(function* () {
      const yaml = yield* Spec.parse(
        "template: tpl\nprocessors:\n  - id: a\n    image: acme/a\n    globs: [{ glob: '**/*', type: copy }]\n",
        { format: "yaml", baseDir: "/s" }
      )
      const json = yield* Spec.parse(
        JSON.stringify({
          template: "tpl",
          processors: [{ id: "a", image: "acme/a", globs: [{ glob: "**/*", type: "copy" }] }]
        }),
        { format: "json", baseDir: "/s" }
      )
      assert.strictEqual(yaml.template, "/s/tpl")
      assert.deepStrictEqual(
        yaml.processors[0]!.globs.map((g) => [g.glob, g.type, g.exclude]),
        [["**/*", "copy", []]]
      )
      assert.deepStrictEqual(
        json.processors.map((p) => p.globs.map((g) => g.glob)),
        yaml.processors.map((p) => p.globs.map((g) => g.glob))
      )
    })
  )

  it.effect("a syntax error is a SpecError naming the source", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Spec.parse("{ not json", { format: "json", baseDir: "/s", source: "/s/armada.json" })
      )
      assert.strictEqual(error._tag, "SpecError")
      assert.strictEqual(error.source, "/s/armada.json")
      assert.match(error.message, /^\/s\/armada\.json: invalid pipeline spec:\n {2}not valid JSON: /)
    })
  )
})

describe("Spec.load", () => {
  // The real file system, through the platform interface, for the two calls `load` makes.
  const hostFs = FileSystem.layerNoop({
    readFileString: (path) =>
      Effect.try({
        try: () => readFileSync(path, "utf8"),
        catch: () =>
          new SystemError({
            reason: "NotFound",
            module: "FileSystem",
            method: "readFileString",
            pathOrDescriptor: path
          })
      }),
    readDirectory: (path) =>
      Effect.try({
        try: () => readdirSync(path),
        catch: () =>
          new SystemError({
            reason: "NotFound",
            module: "FileSystem",
            method: "readDirectory",
            pathOrDescriptor: path
          })
      })
  })
  const fixtures = new URL("./fixtures/", import.meta.url).pathname

  it.effect("resolves the template against the file's directory", () =>
    Effect.gen(function* () {
      const spec = yield* Spec.load(`${fixtures}armada.yaml`)
      assert.strictEqual(spec.template, `${fixtures}template`)
      assert.strictEqual(spec.templateId, "template")
      assert.deepStrictEqual(
        spec.processors.map((p) => p.id),
        ["upper", "copy"]
      )
    }).pipe(Effect.provide(hostFs))
  )

  it.effect("a template that is not a directory is a SpecError at `template`", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Spec.load(`${fixtures}missing-template.json`))
      assert.deepStrictEqual(
        error.issues.map((i) => i.path),
        ["template"]
      )
      assert.strictEqual(error.source, `${fixtures}missing-template.json`)
    }).pipe(Effect.provide(hostFs))
  )
})
