/**
 * The merger's file endpoints over HTTP (`PUT /files?dir=`, `GET /files?path=`), called with the
 * live client on a merger in this process whose `/workspace` lies in a temporary folder: the
 * folder's whole content is compared before and after, so a write outside the target shows.
 */
import * as fs from "node:fs/promises"
import { join } from "node:path"
import { Archive } from "@armada/engine"
import { ProcessorClient, ProcessorError, Protocol } from "@armada/http"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Schema, Stream } from "effect"
import { clientLayer, readTree, serve, tempDir, writeTree } from "./helpers.js"
import { type RawEntry, rawTar } from "./rawTar.js"

/** A workspace with a template, a session area and a file beside the workspace. */
const workspace = {
  "workspace/cyanprint/.keep": "",
  "workspace/area/t/.keep": "",
  "workspace/area/escaped.txt": "untouched\n",
  "outside.txt": "untouched\n"
}

/** The refusal a failed call carries: its status and its `Protocol.FilesFailure`. */
const refusal = <A, E>(exit: Exit.Exit<A, E>) => {
  if (Exit.isSuccess(exit)) throw new Error("expected a refusal, the call succeeded")
  const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (!(error instanceof ProcessorError.BadStatus)) throw new Error(`expected a BadStatus, got ${exit.cause}`)
  return {
    status: error.status,
    failure: Schema.decodeUnknownSync(Protocol.FilesFailure)(JSON.parse(error.body))
  }
}

/** Every entry of `root` but those below `below` (a path relative to `root`). */
const outside = (root: string, below: string) =>
  Effect.map(readTree(root), (tree) =>
    Object.fromEntries(Object.entries(tree).filter(([path]) => !path.startsWith(`${below}/`)))
  )

const merger = (root: string, maxFileBytes?: number) =>
  Effect.gen(function* () {
    yield* writeTree(root, workspace)
    return yield* serve("merger", root, {}, maxFileBytes)
  })

describe("merger file endpoints", () => {
  it.scopedLive("PUT extracts a tar into the template dir; GET gives a dir, a file and a link back", () =>
    Effect.gen(function* () {
      const root = yield* tempDir
      const endpoint = yield* merger(root)
      const client = yield* ProcessorClient
      const tree = Archive.make({
        "src/a.ts": Archive.file("export const a = 1\n", { mode: 0o600 }),
        "src/deep/b.txt": "b\n",
        "src/link.ts": Archive.symlink("a.ts"),
        "run.sh": Archive.file("#!/bin/sh\n", { mode: 0o755 })
      })
      const summary = yield* client.putFiles(endpoint, Protocol.templateDir, Archive.toTar(tree))
      assert.deepStrictEqual({ ...summary }, { files: 3, directories: 2, symlinks: 1 })
      const written = yield* readTree(join(root, "workspace/cyanprint"))
      assert.deepStrictEqual(written, {
        ".keep": "",
        "run.sh": "#!/bin/sh\n",
        "src/a.ts": "export const a = 1\n",
        "src/deep/b.txt": "b\n",
        "src/link.ts": "-> a.ts"
      })
      const mode = (yield* Effect.promise(() => fs.stat(join(root, "workspace/cyanprint/run.sh")))).mode
      assert.strictEqual(mode & 0o777, 0o755)

      const dir = yield* Archive.fromTar(client.getFiles(endpoint, `${Protocol.templateDir}/src`))
      assert.deepStrictEqual(Archive.contents(dir), {
        "src/a.ts": "export const a = 1\n",
        "src/deep/b.txt": "b\n"
      })
      const link = Archive.get(dir, "src/link.ts")
      assert.deepStrictEqual(
        link._tag === "Some" && link.value._tag === "Symlink" && link.value.target,
        "a.ts"
      )
      const file = yield* Archive.fromTar(client.getFiles(endpoint, `${Protocol.templateDir}/src/a.ts`))
      assert.deepStrictEqual(Archive.contents(file), { "a.ts": "export const a = 1\n" })
      const fileNode = Archive.get(file, "a.ts")
      assert.strictEqual(
        fileNode._tag === "Some" && fileNode.value._tag === "File" && fileNode.value.mode,
        0o600
      )
    }).pipe(Effect.provide(clientLayer))
  )

  const hostile: ReadonlyArray<readonly [string, ReadonlyArray<RawEntry>, string]> = [
    ["a ../ name", [{ name: "../escaped.txt", body: "overwritten\n" }], "../escaped.txt"],
    [
      "a nested ../ name",
      [{ name: "a/../../../../outside.txt", body: "overwritten\n" }],
      "a/../../../../outside.txt"
    ],
    [
      "a symbolic link out, then a file written through it",
      [
        { name: "out", type: "symlink", linkname: "../../.." },
        { name: "out/outside.txt", body: "overwritten\n" }
      ],
      "out"
    ],
    [
      "an absolute symbolic link, then a file written through it",
      [
        { name: "abs", type: "symlink", linkname: "/" },
        { name: "abs/outside.txt", body: "overwritten\n" }
      ],
      "abs"
    ],
    [
      "a file written through a link that points inside",
      [
        { name: "sub/x", body: "x\n" },
        { name: "in", type: "symlink", linkname: "sub" },
        { name: "in/y", body: "overwritten\n" }
      ],
      "in"
    ],
    ["a hard link to a file outside", [{ name: "h", type: "link", linkname: "../escaped.txt" }], "h"],
    ["a hard link to an absolute path", [{ name: "p", type: "link", linkname: "/etc/passwd" }], "p"]
  ]

  for (const [title, entries, path] of hostile) {
    it.scopedLive(
      `a tar with ${title} is refused (400 UnsafeEntry naming ${path}) and writes nothing outside its folder`,
      () =>
        Effect.gen(function* () {
          const root = yield* tempDir
          const endpoint = yield* merger(root)
          const client = yield* ProcessorClient
          const before = yield* outside(root, "workspace/area/t")
          const exit = yield* Effect.exit(client.putFiles(endpoint, `${Protocol.areaDir}/t`, rawTar(entries)))
          const { status, failure } = refusal(exit)
          assert.strictEqual(status, 400)
          assert.strictEqual(failure.reason, "UnsafeEntry")
          assert.strictEqual(failure.path, path)
          assert.deepStrictEqual(yield* outside(root, "workspace/area/t"), before)
        }).pipe(Effect.provide(clientLayer))
    )
  }

  it.scopedLive(
    "an absolute entry name lands inside the folder, as tar extracts it, and nothing outside",
    () =>
      Effect.gen(function* () {
        const root = yield* tempDir
        const endpoint = yield* merger(root)
        const client = yield* ProcessorClient
        const before = yield* outside(root, "workspace/area/t")
        yield* client.putFiles(
          endpoint,
          `${Protocol.areaDir}/t`,
          rawTar([{ name: "/outside.txt", body: "inside\n" }])
        )
        assert.deepStrictEqual(yield* outside(root, "workspace/area/t"), before)
        assert.strictEqual(
          yield* Effect.promise(() => fs.readFile(join(root, "workspace/area/t/outside.txt"), "utf8")),
          "inside\n"
        )
      }).pipe(Effect.provide(clientLayer))
  )

  it.scopedLive("a directory outside the template and the area, or reached through a link, is refused", () =>
    Effect.gen(function* () {
      const root = yield* tempDir
      const endpoint = yield* merger(root)
      yield* writeTree(root, { "workspace/area/out": { link: "../.." } })
      const client = yield* ProcessorClient
      const before = yield* readTree(root)
      const put = (dir: string) =>
        Effect.map(
          Effect.exit(client.putFiles(endpoint, dir, rawTar([{ name: "x.txt", body: "x\n" }]))),
          refusal
        )
      for (const dir of ["/etc", "/workspace", `${Protocol.areaDir}/../../etc`, "workspace/area/t"]) {
        const { status, failure } = yield* put(dir)
        assert.strictEqual(status, 403, dir)
        assert.strictEqual(failure.reason, "Forbidden", dir)
        assert.strictEqual(failure.path, dir)
      }
      const throughLink = yield* put(`${Protocol.areaDir}/out/workspace`)
      assert.deepStrictEqual([throughLink.status, throughLink.failure.reason], [403, "Forbidden"])
      const theLink = yield* put(`${Protocol.areaDir}/out`)
      assert.deepStrictEqual([theLink.status, theLink.failure.reason], [404, "NotFound"])
      const missing = yield* put(`${Protocol.areaDir}/missing`)
      assert.deepStrictEqual([missing.status, missing.failure.reason], [404, "NotFound"])
      assert.deepStrictEqual(yield* readTree(root), before)
      const gone = refusal(
        yield* Effect.exit(Stream.runDrain(client.getFiles(endpoint, `${Protocol.areaDir}/nothing`)))
      )
      assert.deepStrictEqual(
        [gone.status, gone.failure.reason, gone.failure.path],
        [404, "NotFound", `${Protocol.areaDir}/nothing`]
      )
      const etc = refusal(yield* Effect.exit(Stream.runDrain(client.getFiles(endpoint, "/etc/passwd"))))
      assert.deepStrictEqual([etc.status, etc.failure.reason], [403, "Forbidden"])
    }).pipe(Effect.provide(clientLayer))
  )

  it.scopedLive("over the bound, a PUT and a GET are 413 TooLarge", () =>
    Effect.gen(function* () {
      const root = yield* tempDir
      const endpoint = yield* merger(root, 4096)
      const client = yield* ProcessorClient
      const big = Archive.make({ "big.txt": "x".repeat(10_000) })
      const put = refusal(
        yield* Effect.exit(client.putFiles(endpoint, `${Protocol.areaDir}/t`, Archive.toTar(big)))
      )
      assert.deepStrictEqual(
        [put.status, put.failure.reason, put.failure.path],
        [413, "TooLarge", `${Protocol.areaDir}/t`]
      )
      yield* writeTree(root, { "workspace/area/big/big.txt": "x".repeat(10_000) })
      const get = refusal(
        yield* Effect.exit(Stream.runDrain(client.getFiles(endpoint, `${Protocol.areaDir}/big`)))
      )
      assert.deepStrictEqual([get.status, get.failure.reason], [413, "TooLarge"])
      // Under the bound, the same merger answers.
      yield* client.putFiles(
        endpoint,
        `${Protocol.areaDir}/t`,
        Archive.toTar(Archive.make({ "small.txt": "s\n" }))
      )
    }).pipe(Effect.provide(clientLayer))
  )
})
