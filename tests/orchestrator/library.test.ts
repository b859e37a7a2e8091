/**
 * docs/library.md's example is this directory's library-example.ts, verbatim (checked here), so it
 * compiles with the tests; and it runs, on the real engine.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Names } from "@armada/core"
import { Engine, Leftovers, TestImage } from "@armada/testkit"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { afterAll, beforeAll } from "vitest"
import { build, MainLive } from "./library-example.js"

const here = fileURLToPath(new URL(".", import.meta.url))
const doc = readFileSync(join(here, "..", "..", "docs", "library.md"), "utf8")

describe("docs/library.md", () => {
  it("shows library-example.ts as it is", () => {
    const block = /```ts example\n([\s\S]*?)```/.exec(doc)?.[1]
    assert.strictEqual(block, readFileSync(join(here, "library-example.ts"), "utf8"))
  })
})

describe.skipIf(Engine.skipWithoutEngine("docs/library.md example on Docker"))(
  "docs/library.md example on Docker",
  () => {
    const scratch = mkdtempSync(join(tmpdir(), "armada-library-"))
    beforeAll(() => {
      TestImage.ensureTestAppImage()
    }, 300_000)
    afterAll(() => rmSync(scratch, { recursive: true, force: true }))

    it.live(
      "runs a spec end to end and leaves nothing behind",
      () =>
        Effect.gen(function* () {
          const output = join(scratch, "out")
          const summary = yield* build(join(here, "..", "fixtures", "library", "armada.yaml"), output)
          assert.deepStrictEqual(summary.files, ["LICENSE", "README.md", "VERSION"])
          assert.strictEqual(readFileSync(join(output, "README.md"), "utf8"), "# my-app\n\nBy me.\n")
          assert.deepStrictEqual(yield* Leftovers.labelled(Names.Id.make("armadatest")), [])
        }).pipe(Effect.provide(MainLive)),
      300_000
    )
  }
)
