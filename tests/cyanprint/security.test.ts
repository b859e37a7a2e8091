/**
 * The security profiles on the real engine, with the test app standing in for CyanPrint's Node SDK:
 * a processor that runs as root, copies a 0444 template file and then writes the rendered text
 * over the copy (as the SDK does) succeeds under the `default` profile, which keeps
 * `CAP_DAC_OVERRIDE`, and fails clearly under `strict`, which drops every capability.
 */
import { chmodSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { Engine, TestImage } from "@armada/testkit"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import * as H from "../reliability/harness.js"

let work = ""

/** A template whose one file is 0444, and a spec whose processor renders it the SDK's way. */
const specFor = (dir: string, security: "default" | "strict") => {
  const template = H.writeTree(join(dir, "template"), { "README.md": "# {{name}}\n" })
  chmodSync(join(template, "README.md"), 0o444)
  return H.specFile(dir, {
    template,
    processors: [
      {
        id: "sdk",
        image: H.image,
        env: { ARMADA_FAULT_COPY_THEN_RENDER: "1" },
        globs: [{ glob: "**", type: "template" }],
        config: { vars: { name: "rendered over a read-only copy" } }
      }
    ],
    options: { security }
  })
}

describe.skipIf(Engine.skipWithoutEngine("cyanprint: security profiles"))(
  "cyanprint: security profiles",
  () => {
    beforeAll(() => {
      TestImage.ensureTestAppImage()
      H.requireBin()
      work = H.scratch("security")
    }, 300_000)

    afterAll(() => {
      H.finishFile(work)
    }, 120_000)

    it("default: root copies a 0444 file and writes over the copy; the result keeps mode 0444", async () => {
      const dir = join(work, "default")
      const out = join(dir, "out")
      const run = H.armada(["run", specFor(dir, "default"), "--engine", "docker", "--output", out, "--json"])
      const { code } = await run.exit
      assert.strictEqual(code, 0, `${run.stdout()}\n${run.stderr()}`)
      assert.strictEqual(readFileSync(join(out, "README.md"), "utf8"), "# rendered over a read-only copy\n")
      assert.strictEqual(statSync(join(out, "README.md")).mode & 0o777, 0o444)
      H.assertNothingLeft()
    })

    it("strict: the same write is refused (EACCES), exit 1 naming the processor and the file", async () => {
      const dir = join(work, "strict")
      const run = H.armada([
        "run",
        specFor(dir, "strict"),
        "--engine",
        "docker",
        "--output",
        join(dir, "out"),
        "--json"
      ])
      const { code } = await run.exit
      assert.strictEqual(code, 1, `${run.stdout()}\n${run.stderr()}`)
      const [failure] = run.result().failures
      assert.strictEqual(failure?.stage, "process")
      assert.strictEqual(failure?.item, "sdk")
      assert.strictEqual(failure?.cause._tag, "BadStatus")
      assert.include(failure?.reason, "EACCES")
      assert.include(failure?.reason, "/workspace/area/")
      H.assertNothingLeft()
    })
  }
)
