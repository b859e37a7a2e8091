import * as fs from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Archive, ContainerEngineError } from "@armada/engine"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Chunk, Effect, Exit, Option, Stream } from "effect"
import * as tar from "tar-stream"

/** A tar built entry by entry, for archives no well-behaved packer would make. */
const rawTar = (entries: ReadonlyArray<{ header: tar.Headers; body?: string }>) =>
  Effect.promise(async () => {
    const pack = tar.pack()
    for (const { header, body } of entries) {
      await new Promise<void>((resolve, reject) =>
        body === undefined
          ? pack.entry(header, (error) => (error ? reject(error) : resolve()))
          : pack.entry(header, body, (error) => (error ? reject(error) : resolve()))
      )
    }
    pack.finalize()
    const chunks: Array<Uint8Array> = []
    for await (const chunk of pack) chunks.push(chunk)
    return Stream.make(new Uint8Array(Buffer.concat(chunks)))
  })

const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(tmpdir(), "armada-archive-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

const listHost = async (dir: string, rel = ""): Promise<Record<string, string>> => {
  const result: Record<string, string> = {}
  for (const name of (await fs.readdir(path.join(dir, rel))).sort()) {
    const childRel = rel === "" ? name : `${rel}/${name}`
    const child = path.join(dir, childRel)
    const stat = await fs.lstat(child)
    if (stat.isSymbolicLink()) result[childRel] = `-> ${await fs.readlink(child)}`
    else if (stat.isDirectory())
      Object.assign(result, { [`${childRel}/`]: "" }, await listHost(dir, childRel))
    else result[childRel] = await fs.readFile(child, "utf8")
  }
  return result
}

describe("Archive", () => {
  it.effect("a tree survives tar and back: files, modes, directories, symlinks", () =>
    Effect.gen(function* () {
      const tree = Archive.make({
        "a.txt": "alpha",
        "bin/run.sh": Archive.file("#!/bin/sh\n", { mode: 0o755 }),
        "deep/er/still/z.json": "{}",
        empty: Archive.directory({ mode: 0o700 }),
        link: Archive.symlink("a.txt")
      })
      const back = yield* Archive.fromTar(Archive.toTar(tree))
      assert.deepStrictEqual(Archive.contents(back), Archive.contents(tree))
      assert.deepStrictEqual([...back.keys()].sort(), [...tree.keys()].sort())
      assert.strictEqual((back.get("bin/run.sh") as Archive.File).mode, 0o755)
      assert.strictEqual((back.get("empty") as Archive.Directory).mode, 0o700)
      assert.deepStrictEqual(back.get("link"), Archive.symlink("a.txt"))
      assert.strictEqual(back.get("deep/er")?._tag, "Directory")
    })
  )

  it("tree operations: put below a path, subtree, remove", () => {
    const base = Archive.make({ "keep.txt": "k", "area/old.txt": "o" })
    const added = Archive.put(base, "area/new", Archive.make({ "x.txt": "x" }))
    assert.deepStrictEqual(Archive.contents(added), {
      "area/new/x.txt": "x",
      "area/old.txt": "o",
      "keep.txt": "k"
    })
    assert.deepStrictEqual(Archive.contents(Archive.subtree(added, "area")), {
      "new/x.txt": "x",
      "old.txt": "o"
    })
    assert.deepStrictEqual(Archive.contents(Archive.remove(added, "area")), { "keep.txt": "k" })
    assert.isTrue(Option.isNone(Archive.relativePath("a/../../etc")))
    assert.deepStrictEqual(Archive.relativePath("/a/./b/../c"), Option.some("a/c"))
  })

  it.scoped("packs a host directory and extracts it elsewhere, links kept as links", () =>
    Effect.gen(function* () {
      const source = yield* tempDir
      const target = yield* tempDir
      yield* Effect.promise(async () => {
        await fs.mkdir(path.join(source, "src/nested"), { recursive: true })
        await fs.writeFile(path.join(source, "src/nested/a.ts"), "export {}")
        await fs.writeFile(path.join(source, "run.sh"), "#!/bin/sh", { mode: 0o755 })
        await fs.symlink("src/nested/a.ts", path.join(source, "alias"))
      })
      const summary = yield* Archive.extractToDirectory(Archive.packDirectory(source), target)
      assert.deepStrictEqual(summary, { files: 2, directories: 2, symlinks: 1, skipped: [] })
      const listed = yield* Effect.promise(() => listHost(target))
      assert.deepStrictEqual(listed, {
        alias: "-> src/nested/a.ts",
        "run.sh": "#!/bin/sh",
        "src/": "",
        "src/nested/": "",
        "src/nested/a.ts": "export {}"
      })
      const mode = (yield* Effect.promise(() => fs.stat(path.join(target, "run.sh")))).mode & 0o777
      assert.strictEqual(mode, 0o755)
    })
  )

  it.scoped("a prefix nests the entries and strip removes it again", () =>
    Effect.gen(function* () {
      const source = yield* tempDir
      const target = yield* tempDir
      yield* Effect.promise(() => fs.writeFile(path.join(source, "f.txt"), "f"))
      const tree = yield* Archive.fromTar(Archive.packDirectory(source, { prefix: "area" }))
      assert.deepStrictEqual([...tree.keys()].sort(), ["area", "area/f.txt"])
      yield* Archive.extractToDirectory(Archive.packDirectory(source, { prefix: "area" }), target, {
        strip: 1
      })
      assert.deepStrictEqual(yield* Effect.promise(() => listHost(target)), { "f.txt": "f" })
    })
  )

  it.scoped("never writes outside the target: .., absolute and escaping links, writes through links", () =>
    Effect.gen(function* () {
      const outer = yield* tempDir
      const target = path.join(outer, "target")
      const cases: ReadonlyArray<[string, ReadonlyArray<{ header: tar.Headers; body?: string }>]> = [
        ["dot-dot", [{ header: { name: "../escaped.txt" }, body: "x" }]],
        ["nested dot-dot", [{ header: { name: "a/../../escaped.txt" }, body: "x" }]],
        ["absolute link", [{ header: { name: "etc", type: "symlink", linkname: "/etc" } }]],
        ["escaping link", [{ header: { name: "up", type: "symlink", linkname: "../.." } }]],
        [
          "write through link",
          [
            { header: { name: "sub", type: "directory" } },
            { header: { name: "inner", type: "symlink", linkname: "sub" } },
            { header: { name: "inner/f.txt" }, body: "x" }
          ]
        ],
        ["hard link out", [{ header: { name: "h", type: "link", linkname: "../escaped.txt" } }]]
      ]
      for (const [label, entries] of cases) {
        const exit = yield* Effect.exit(Archive.extractToDirectory(yield* rawTar(entries), target))
        assert.isTrue(Exit.isFailure(exit), label)
        if (Exit.isFailure(exit)) {
          // The typed failure, whatever else the cause holds (the input's writer, interrupted
          // when the parser stops, when it was still writing).
          const error = Option.getOrThrow(Cause.failureOption(exit.cause))
          assert.instanceOf(error, ContainerEngineError.ArchiveError, label)
          assert.strictEqual((error as ContainerEngineError.ArchiveError).reason, "UnsafeEntry", label)
        }
      }
      const outside = yield* Effect.promise(() => fs.readdir(outer))
      assert.deepStrictEqual(outside, ["target"])
      // The link inside the target is fine; only the write through it was refused.
      assert.deepStrictEqual(yield* Effect.promise(() => listHost(target)), { inner: "-> sub", "sub/": "" })
    })
  )

  it.scoped("a leading / is dropped (neutralised), and onUnsafe: skip lists what it left out", () =>
    Effect.gen(function* () {
      const outer = yield* tempDir
      const target = path.join(outer, "t")
      const summary = yield* Archive.extractToDirectory(
        yield* rawTar([
          { header: { name: "/abs.txt" }, body: "a" },
          { header: { name: "../escaped.txt" }, body: "x" },
          { header: { name: "ok.txt" }, body: "ok" }
        ]),
        target,
        { onUnsafe: "skip" }
      )
      assert.strictEqual(summary.files, 2)
      assert.deepStrictEqual(
        summary.skipped.map((skipped) => skipped.path),
        ["../escaped.txt"]
      )
      assert.deepStrictEqual(yield* Effect.promise(() => listHost(target)), {
        "abs.txt": "a",
        "ok.txt": "ok"
      })
      assert.deepStrictEqual(yield* Effect.promise(() => fs.readdir(outer)), ["t"])
    })
  )

  it.scoped("gzip and gunzip round trip, and writeFile writes a .tar.gz", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const tree = Archive.make({ "big.txt": "x".repeat(200_000), "small.txt": "s" })
      const file = path.join(dir, "out.tar.gz")
      yield* Archive.writeFile(Archive.gzip(Archive.toTar(tree)), file)
      const size = (yield* Effect.promise(() => fs.stat(file))).size
      assert.isTrue(size > 0 && size < 20_000, `compressed size ${size}`)
      const bytes = yield* Effect.promise(() => fs.readFile(file))
      const back = yield* Archive.fromTar(Archive.gunzip(Stream.make(new Uint8Array(bytes))))
      assert.deepStrictEqual(Archive.contents(back), Archive.contents(tree))
    })
  )

  it.effect("a malformed archive fails with Malformed; a failing input fails with its own error", () =>
    Effect.gen(function* () {
      const garbage = yield* Effect.flip(Archive.fromTar(Stream.make(new Uint8Array(1024).fill(65))))
      assert.strictEqual(garbage._tag, "ArchiveError")
      assert.strictEqual((garbage as ContainerEngineError.ArchiveError).reason, "Malformed")
      const failing = Stream.concat(Stream.make(new Uint8Array(10)), Stream.fail("input broke" as const))
      assert.strictEqual(yield* Effect.flip(Archive.fromTar(failing)), "input broke")
      assert.strictEqual(yield* Effect.flip(Stream.runDrain(Archive.gzip(failing))), "input broke")
    })
  )

  it.effect("packing a missing directory fails with Io naming it", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Stream.runCollect(Archive.packDirectory("/nonexistent/armada")))
      assert.strictEqual(error.reason, "Io")
      assert.strictEqual(error.path, "/nonexistent/armada")
      assert.strictEqual(Chunk.size(yield* Stream.runCollect(Archive.toTar(Archive.make({})))) > 0, true)
    })
  )
})
