import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "vitest"

// What every `armada` command reads before it does anything: the built entry and the chunks it
// imports statically. Node.js compiles every byte of them, on every command; what only one
// command needs is a chunk of its own, imported by that command (apps/cli/scripts/bundle.mjs).
const dist = fileURLToPath(new URL("../../apps/cli/dist/", import.meta.url))
const bin = join(dist, "bin.js")

/** The files `file` imports statically (`import … from "./…"`), and theirs, relative to dist/. */
const staticallyRead = (file: string, seen = new Set<string>()): Set<string> => {
  seen.add(file)
  const text = readFileSync(join(dist, file), "utf8")
  const folder = file.includes("/") ? file.slice(0, file.lastIndexOf("/") + 1) : ""
  for (const [, relative] of text.matchAll(/(?:from|import)\s*"\.\/([^"]+\.js)"/g)) {
    const path = `${folder}${relative}`
    if (!seen.has(path)) staticallyRead(path, seen)
  }
  return seen
}

describe("how armada starts (the bundle)", () => {
  it("is built", () => {
    assert.isTrue(existsSync(bin), `${bin} is missing: run \`pnpm build\` first`)
  })

  it.each([
    ["Listen", "armada serve's server: its HTTP stack, the pool, the API"],
    ["Remote", "the client of `armada run --server`"]
  ])("leaves %s (%s) to the command that needs it", (name) => {
    const chunks = readdirSync(join(dist, "chunks")).filter((file) => file.startsWith(`${name}-`))
    assert.lengthOf(chunks, 1, `one chunk of its own, chunks/${name}-<hash>.js`)
    assert.notInclude([...staticallyRead("bin.js")], `chunks/${chunks[0]}`)
  })

  it("runs as an executable, and Node.js gets the V8 settings and glibc the malloc settings of its first line", () => {
    // A module Node.js loads before the CLI (NODE_OPTIONS=--require) reports what it was given.
    const folder = mkdtempSync(join(tmpdir(), "armada-startup-"))
    try {
      const reporter = join(folder, "report.cjs")
      writeFileSync(
        reporter,
        "process.stderr.write(JSON.stringify([process.execArgv, process.env.GLIBC_TUNABLES]) + '\\n')"
      )
      const started = (env: NodeJS.ProcessEnv) => {
        const ran = spawnSync(bin, ["--version"], {
          encoding: "utf8",
          env: { ...env, NODE_OPTIONS: `--require ${reporter}` }
        })
        assert.strictEqual(ran.status, 0, ran.stderr)
        assert.match(ran.stdout.trim(), /^\d+\.\d+\.\d+$/)
        return JSON.parse(ran.stderr.split("\n")[0] ?? "") as [Array<string>, string]
      }
      const { GLIBC_TUNABLES: _, ...unset } = process.env
      const [execArgv, tunables] = started(unset)
      assert.deepStrictEqual(execArgv, ["--single-threaded", "--no-opt"])
      assert.strictEqual(tunables, "glibc.malloc.hugetlb=1:")
      // The user's own tunables come last: glibc applies them in order, so theirs win.
      const [, own] = started({ ...unset, GLIBC_TUNABLES: "glibc.malloc.hugetlb=0" })
      assert.strictEqual(own, "glibc.malloc.hugetlb=1:glibc.malloc.hugetlb=0")
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })
})
