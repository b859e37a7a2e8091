import * as fs from "node:fs/promises"
import { join } from "node:path"
import { ProcessorClient, Protocol } from "@armada/http"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { clientLayer, read, readTree, serve, tempDir, writeTree } from "./helpers.js"

const template = {
  "workspace/cyanprint/src/a.ts": "export const name = '{{name}}'\n",
  "workspace/cyanprint/src/a.test.ts": "test('{{name}}')\n",
  "workspace/cyanprint/src/deep/b.ts": "{{ name }} and {{unknown}} and {{count}}\n",
  "workspace/cyanprint/src/link.ts": { link: "a.ts" },
  "workspace/cyanprint/README.md": "# {{name}}\n",
  "workspace/cyanprint/img.bin": new Uint8Array(Array.from({ length: 256 }, (_, i) => i)),
  "workspace/cyanprint/.env": "SECRET={{name}}\n"
}

describe("processor over HTTP", () => {
  it.scopedLive("renders templates, copies bytes, honours root and exclude, copies links as links", () =>
    Effect.gen(function* () {
      const root = yield* tempDir
      yield* writeTree(root, template)
      const endpoint = yield* serve("processor", root)
      const client = yield* ProcessorClient
      const ready = yield* client.waitReady(endpoint)
      assert.strictEqual(ready.attempts, 1)
      const response = yield* client.process(
        endpoint,
        Protocol.ProcessRequest.make({
          readDir: "/workspace/cyanprint",
          writeDir: "/workspace/area/p1",
          globs: [
            Protocol.Glob.make({ root: "src", glob: "**/*.ts", exclude: ["**/*.test.ts"], type: "template" }),
            Protocol.Glob.make({ root: null, glob: "*.{bin,md}", exclude: [], type: "copy" }),
            Protocol.Glob.make({ glob: ".env", exclude: [], type: "template" })
          ],
          config: { vars: { name: "demo", count: 3 } }
        })
      )
      assert.strictEqual(response.outputDir, "/workspace/area/p1")
      const written = yield* readTree(join(root, "workspace/area/p1"))
      assert.deepStrictEqual(Object.keys(written).sort(), [
        ".env",
        "README.md",
        "a.ts",
        "deep/b.ts",
        "img.bin",
        "link.ts"
      ])
      assert.strictEqual(written["a.ts"], "export const name = 'demo'\n")
      assert.strictEqual(written["deep/b.ts"], "demo and {{unknown}} and 3\n")
      assert.strictEqual(written["README.md"], "# {{name}}\n", "copy, not rendered")
      assert.strictEqual(written[".env"], "SECRET=demo\n")
      assert.strictEqual(written["link.ts"], "-> a.ts")
      const bytes = yield* Effect.promise(() => fs.readFile(join(root, "workspace/area/p1/img.bin")))
      assert.deepStrictEqual(
        [...bytes],
        Array.from({ length: 256 }, (_, i) => i)
      )
    }).pipe(Effect.provide(clientLayer))
  )

  it.scopedLive("answers 500 naming the path when readDir is missing", () =>
    Effect.gen(function* () {
      const root = yield* tempDir
      const endpoint = yield* serve("processor", root)
      const client = yield* ProcessorClient
      const error = yield* Effect.flip(
        client.process(
          endpoint,
          Protocol.ProcessRequest.make({
            readDir: "/workspace/nothing",
            writeDir: "/workspace/area/p1",
            globs: [Protocol.Glob.make({ glob: "**", exclude: [], type: "copy" })],
            config: null
          })
        )
      )
      assert.strictEqual(error._tag, "BadStatus")
      if (error._tag !== "BadStatus") return
      assert.strictEqual(error.status, 500)
      assert.include(error.body, "/workspace/nothing")
    }).pipe(Effect.provide(clientLayer))
  )

  it.scopedLive("answers 400 to a body that is not a processor request", () =>
    Effect.gen(function* () {
      const endpoint = yield* serve("processor", undefined)
      const response = yield* Effect.promise(() =>
        fetch(`${endpoint.url}/api/process`, { method: "POST", body: '{"readDir": 1}' })
      )
      assert.strictEqual(response.status, 400)
      assert.include(yield* Effect.promise(() => response.text()), "readDir")
    })
  )
})

describe("plugin over HTTP", () => {
  it.scopedLive("applies its steps in order, and plugin 2 sees plugin 1's work", () =>
    Effect.gen(function* () {
      const root = yield* tempDir
      yield* writeTree(root, {
        "workspace/area/m/a.md": "hello\n",
        "workspace/area/m/sub/c.md": "deep",
        "workspace/area/m/b.txt": "bee\n"
      })
      const endpoint = yield* serve("plugin", root)
      const client = yield* ProcessorClient
      const directory = "/workspace/area/m"
      const first = yield* client.plug(
        endpoint,
        Protocol.PlugRequest.make({
          directory,
          config: {
            prependLine: { glob: "**/*.md", text: "# one" },
            rename: { from: "b.txt", to: "docs/b.txt" }
          }
        })
      )
      assert.strictEqual(first.outputDir, directory)
      yield* client.plug(
        endpoint,
        Protocol.PlugRequest.make({
          directory,
          config: {
            appendLine: { glob: "**/*.md", text: "two" },
            prependLine: { glob: "docs/*.txt", text: "moved by one, seen by two" },
            writeFile: { path: "new/file.txt", content: "made by two" }
          }
        })
      )
      assert.deepStrictEqual(yield* readTree(join(root, "workspace/area/m")), {
        "a.md": "# one\nhello\ntwo\n",
        "sub/c.md": "# one\ndeep\ntwo\n",
        "docs/b.txt": "moved by one, seen by two\nbee\n",
        "new/file.txt": "made by two"
      })
      yield* client.plug(
        endpoint,
        Protocol.PlugRequest.make({ directory, config: { remove: { glob: "**/*.md" } } })
      )
      assert.deepStrictEqual(Object.keys(yield* readTree(join(root, "workspace/area/m"))).sort(), [
        "docs/b.txt",
        "new/file.txt"
      ])
    }).pipe(Effect.provide(clientLayer))
  )

  it.scopedLive("refuses unknown steps and paths that leave the directory, with 400", () =>
    Effect.gen(function* () {
      const root = yield* tempDir
      yield* writeTree(root, { "workspace/area/m/a.md": "a", "outside.txt": "keep" })
      const endpoint = yield* serve("plugin", root)
      const client = yield* ProcessorClient
      const plug = (config: unknown) =>
        Effect.flip(
          client.plug(endpoint, Protocol.PlugRequest.make({ directory: "/workspace/area/m", config }))
        )
      const unknown = yield* plug({ explode: true })
      assert.strictEqual(unknown._tag, "BadStatus")
      if (unknown._tag === "BadStatus") {
        assert.strictEqual(unknown.status, 400)
        assert.include(unknown.body, "explode")
      }
      const leaving = yield* plug({ rename: { from: "a.md", to: "../../../outside.txt" } })
      assert.include(leaving.message, "leaves its directory")
      assert.strictEqual(yield* read(join(root, "outside.txt")), "keep")
      const missing = yield* Effect.flip(
        client.plug(endpoint, Protocol.PlugRequest.make({ directory: "/workspace/area/none", config: {} }))
      )
      assert.include(missing.message, "does not exist")
    }).pipe(Effect.provide(clientLayer))
  )
})

describe("merger over HTTP", () => {
  it.scopedLive(
    "merges in fromDirs order, last write wins, reports files and conflicts, never writes through links",
    () =>
      Effect.gen(function* () {
        const root = yield* tempDir
        const outside = join(root, "outside")
        yield* writeTree(root, {
          "outside/keep.txt": "untouched",
          "workspace/area/p1/a.txt": "a from 1",
          "workspace/area/p1/same.txt": "same from 1",
          "workspace/area/p1/dir/x.txt": "x from 1",
          "workspace/area/p1/escape": { link: outside },
          "workspace/area/p1/alias.txt": { link: "a.txt" },
          "workspace/area/p2/same.txt": "same from 2",
          "workspace/area/p2/escape/keep.txt": "written into the merge dir, not outside",
          "workspace/area/p2/b.txt": "b from 2"
        })
        const endpoint = yield* serve("merger", root)
        const client = yield* ProcessorClient
        const merge = (fromDirs: ReadonlyArray<string>, toDir: string) =>
          client.merge(endpoint, "s1", Protocol.MergeRequest.make({ fromDirs, toDir }))

        const merged = yield* merge(
          ["/workspace/area/p1", "/workspace/area/p2", "/workspace/area/never-written"],
          "/workspace/area/m"
        )
        assert.deepStrictEqual(
          merged,
          Protocol.MergeResponse.make({ status: "ok", files: 6, conflicts: ["escape", "same.txt"] })
        )
        assert.deepStrictEqual(yield* readTree(join(root, "workspace/area/m")), {
          "a.txt": "a from 1",
          "alias.txt": "-> a.txt",
          "b.txt": "b from 2",
          "dir/x.txt": "x from 1",
          "escape/keep.txt": "written into the merge dir, not outside",
          "same.txt": "same from 2"
        })
        assert.strictEqual(yield* read(join(outside, "keep.txt")), "untouched")

        const reversed = yield* merge(["/workspace/area/p2", "/workspace/area/p1"], "/workspace/area/r")
        assert.deepStrictEqual(reversed.conflicts, ["escape", "same.txt"])
        const tree = yield* readTree(join(root, "workspace/area/r"))
        assert.strictEqual(tree["same.txt"], "same from 1", "the order of fromDirs decides, not timing")
        assert.strictEqual(tree.escape, `-> ${outside}`, "a link is copied as a link")
        assert.strictEqual(reversed.files, 6, "escape/keep.txt went with the directory the link replaced")
      }).pipe(Effect.provide(clientLayer))
  )
})

describe("plugin reading the template", () => {
  it.scopedLive("copyFromTemplate copies a file of /workspace/cyanprint; a missing one is a 400", () =>
    Effect.gen(function* () {
      const root = yield* tempDir
      yield* writeTree(root, {
        "workspace/cyanprint/LICENSE": "MIT\n",
        "workspace/cyanprint/link": { link: "LICENSE" },
        "workspace/area/m/a.md": "hello\n"
      })
      const endpoint = yield* serve("plugin", root)
      const client = yield* ProcessorClient
      const directory = "/workspace/area/m"
      yield* client.plug(
        endpoint,
        Protocol.PlugRequest.make({
          directory,
          config: { copyFromTemplate: { path: "LICENSE", to: "docs/LICENSE" } }
        })
      )
      assert.deepStrictEqual(yield* readTree(join(root, "workspace/area/m")), {
        "a.md": "hello\n",
        "docs/LICENSE": "MIT\n"
      })
      for (const path of ["missing.txt", "link"]) {
        const error = yield* Effect.flip(
          client.plug(
            endpoint,
            Protocol.PlugRequest.make({ directory, config: { copyFromTemplate: { path } } })
          )
        )
        assert.strictEqual(error._tag, "BadStatus")
        assert.include(error.message, "is not a file of the template")
        assert.include(error.message, path)
      }
    }).pipe(Effect.provide(clientLayer))
  )
})

describe("resolver over HTTP", () => {
  const versions = (path: string, ...contents: ReadonlyArray<string>) =>
    contents.map((content, layer) =>
      Protocol.FileVersion.make({
        path,
        content,
        origin: Protocol.FileOrigin.make({ template: `p${layer}`, layer })
      })
    )

  it.scopedLive("joins the versions in order, or picks one layer's", () =>
    Effect.gen(function* () {
      const endpoint = yield* serve("resolver", undefined)
      const client = yield* ProcessorClient
      yield* client.waitReady(endpoint)
      const joined = yield* client.resolve(
        endpoint,
        Protocol.ResolveRequest.make({
          config: { separator: "--\n" },
          files: versions("a.txt", "one\n", "two\n")
        })
      )
      assert.deepStrictEqual({ ...joined }, { path: "a.txt", content: "one\n--\ntwo\n" })
      const picked = yield* client.resolve(
        endpoint,
        Protocol.ResolveRequest.make({
          config: { strategy: "pick", layer: 0 },
          files: versions("b.txt", "first", "second")
        })
      )
      assert.deepStrictEqual({ ...picked }, { path: "b.txt", content: "first" })
    }).pipe(Effect.provide(clientLayer))
  )

  it.scopedLive("refuses failOn paths with 422, a bad config with 400", () =>
    Effect.gen(function* () {
      const endpoint = yield* serve("resolver", undefined)
      const client = yield* ProcessorClient
      const refused = yield* Effect.flip(
        client.resolve(
          endpoint,
          Protocol.ResolveRequest.make({ config: { failOn: ["*.txt"] }, files: versions("a.txt", "1", "2") })
        )
      )
      assert.strictEqual(refused._tag === "BadStatus" ? refused.status : 0, 422)
      assert.include(refused.message, "refusing a.txt")
      const bad = yield* Effect.flip(
        client.resolve(
          endpoint,
          Protocol.ResolveRequest.make({ config: { strategy: "vote" }, files: versions("a", "1") })
        )
      )
      assert.strictEqual(bad._tag === "BadStatus" ? bad.status : 0, 400)
      assert.include(bad.message, "resolver config")
    }).pipe(Effect.provide(clientLayer))
  )
})
