/**
 * Resolvers and the plugin's template mount on the real engine, through `armada run`: two
 * resolvers settle three conflicting files; a failing resolver fails the run naming every file it
 * could not settle; an answer for another path is a typed failure; a plugin reads
 * `/workspace/cyanprint`.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Engine, TestImage } from "@armada/testkit"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import * as H from "../reliability/harness.js"

let work = ""

/** Three processors that each copy the whole template, so every file of it is a conflict. */
const processors = ["first", "second", "third"].map((id) => ({
  id,
  image: H.image,
  globs: [{ glob: "**", type: "template" }],
  config: { vars: { who: id } }
}))

const template = (dir: string) =>
  H.writeTree(join(dir, "template"), {
    "notes.txt": "{{who}} notes\n",
    "list.txt": "{{who}} list\n",
    "docs/guide.md": "{{who}} guide\n",
    LICENSE: "MIT\n"
  })

describe.skipIf(Engine.skipWithoutEngine("cyanprint: resolvers"))("cyanprint: resolvers", () => {
  beforeAll(() => {
    TestImage.ensureTestAppImage()
    H.requireBin()
    work = H.scratch("resolvers")
  }, 300_000)

  afterAll(() => {
    H.finishFile(work)
  }, 120_000)

  it("two resolvers settle three conflicting files; the rest is last-write-wins; a plugin reads the template", async () => {
    const dir = join(work, "ok")
    const out = join(dir, "out")
    const spec = H.specFile(dir, {
      template: template(dir),
      processors,
      resolvers: [
        { id: "join", image: H.image, files: ["*.txt"], config: { separator: "+" } },
        { id: "pick", image: H.image, files: ["docs/**"], config: { strategy: "pick", layer: 0 } }
      ],
      plugins: [
        { id: "license", image: H.image, config: { copyFromTemplate: { path: "LICENSE", to: "COPYING" } } }
      ]
    })
    const run = H.armada(["run", spec, "--engine", "docker", "--output", out, "--json"])
    const { code } = await run.exit
    assert.strictEqual(code, 0, `${run.stdout()}\n${run.stderr()}`)
    assert.strictEqual(
      readFileSync(join(out, "notes.txt"), "utf8"),
      "first notes\n+second notes\n+third notes\n"
    )
    assert.strictEqual(readFileSync(join(out, "list.txt"), "utf8"), "first list\n+second list\n+third list\n")
    assert.strictEqual(readFileSync(join(out, "docs/guide.md"), "utf8"), "first guide\n")
    // LICENSE is a conflict no resolver matches: the last processor's copy.
    assert.strictEqual(readFileSync(join(out, "LICENSE"), "utf8"), "MIT\n")
    // The plugin read it from /workspace/cyanprint.
    assert.strictEqual(readFileSync(join(out, "COPYING"), "utf8"), "MIT\n")
    const merged = run.result().items.filter((item) => item.stage === "merge")
    assert.deepStrictEqual(merged.map((item) => `${item.item} ${item.status}`).sort(), [
      "docs/guide.md done",
      "list.txt done",
      "merger done",
      "notes.txt done"
    ])
    H.assertNothingLeft()
  })

  it("a failing resolver: exit 1, and every file it could not settle is named", async () => {
    const dir = join(work, "failing")
    const spec = H.specFile(dir, {
      template: template(dir),
      processors,
      resolvers: [
        { id: "broken", image: H.image, files: ["*.txt"], env: { ARMADA_FAULT_STATUS: "500" } },
        { id: "pick", image: H.image, files: ["docs/**"], config: { strategy: "pick", layer: 2 } }
      ]
    })
    const run = H.armada(["run", spec, "--engine", "docker", "--output", join(dir, "out"), "--json"])
    const { code } = await run.exit
    assert.strictEqual(code, 1, `${run.stdout()}\n${run.stderr()}`)
    // Files the spec does not declare come by name, whatever order they failed in.
    const failures = run.result().failures
    assert.deepStrictEqual(
      failures.map((f) => [f.stage, f.item, f.cause._tag]),
      [
        ["merge", "list.txt", "BadStatus"],
        ["merge", "notes.txt", "BadStatus"]
      ]
    )
    for (const failure of failures) assert.include(failure.reason, "answered HTTP 500")
    H.assertNothingLeft()
  })

  it("a resolver that answers for another path, and a file two resolvers match, are typed failures", async () => {
    const dir = join(work, "wrong")
    const spec = H.specFile(dir, {
      template: template(dir),
      processors,
      resolvers: [
        { id: "liar", image: H.image, files: ["notes.txt"], env: { ARMADA_FAULT_WRONG_PATH: "1" } },
        { id: "a", image: H.image, files: ["docs/*.md"] },
        { id: "b", image: H.image, files: ["**/guide.md"] }
      ]
    })
    const run = H.armada(["run", spec, "--engine", "docker", "--output", join(dir, "out"), "--json"])
    const { code } = await run.exit
    assert.strictEqual(code, 1, `${run.stdout()}\n${run.stderr()}`)
    // Files the spec does not declare come by name, whatever order they failed in.
    const failures = run.result().failures
    assert.deepStrictEqual(
      failures.map((f) => [f.stage, f.item, f.cause._tag]),
      [
        ["merge", "docs/guide.md", "AmbiguousResolvers"],
        ["merge", "notes.txt", "BadResponse"]
      ]
    )
    assert.include(failures[0]?.reason, "docs/guide.md is matched by 2 resolvers (a, b)")
    assert.include(failures[1]?.reason, 'answered for path "notes.txt.elsewhere"')
    H.assertNothingLeft()
  })
})
