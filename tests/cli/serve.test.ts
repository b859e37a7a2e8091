/**
 * `armada serve` and `armada run --server` as a user runs them, on the real Docker engine: two
 * runs of the 8-processor, 2-plugin pipeline through a server are golden byte for byte, the second
 * on the first one's set; after SIGTERM nothing labelled is left; after SIGKILL `armada clean
 * --all` removes what the server held; a non-loopback address needs a token, and with one every
 * endpoint but /healthz answers 401 without it.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Engine, TestImage } from "@armada/testkit"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { assertSameFiles, type CliResult, count, labelled, nothing, runCli, sweep } from "../support.js"

const root = fileURLToPath(new URL("../../", import.meta.url))
const bin = join(root, "apps", "cli", "dist", "bin.js")
const fixtures = join(root, "tests", "fixtures", "pipeline")
const golden = join(fixtures, "golden")
const prefix = "armadaserve"
const label = `${prefix}.managed=true`

const armada = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<CliResult> =>
  runCli(bin, args, { cwd: root, env, timeout: 280_000 })

interface Server {
  readonly process: ChildProcess
  readonly url: string
  readonly port: number
  readonly exited: Promise<number | null>
}

/** Starts `armada serve --port 0 --json ...` and waits for the line that says where it listens. */
const serve = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Server> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "serve", "--port", "0", "--json", ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)))
    let stdout = ""
    let stderr = ""
    child.stderr.on("data", (chunk) => {
      stderr += chunk
    })
    child.stdout.on("data", (chunk) => {
      stdout += chunk
      const line = stdout.split("\n")[0]
      if (stdout.includes("\n") && line !== undefined) {
        const listening = JSON.parse(line) as { url: string }
        const port = Number(new URL(listening.url).port)
        resolve({ process: child, url: `http://127.0.0.1:${port}`, port, exited })
      }
    })
    void exited.then((code) => reject(new Error(`armada serve exited with ${code}: ${stdout}${stderr}`)))
  })

let work = ""
let spec = ""

describe.skipIf(Engine.skipWithoutEngine("armada serve on Docker"))("armada serve on Docker", () => {
  beforeAll(() => {
    TestImage.ensureTestAppImage()
    work = mkdtempSync(join(tmpdir(), "armada-serve-"))
    spec = join(work, "armada.yaml")
    writeFileSync(
      spec,
      `${readFileSync(join(fixtures, "armada.yaml"), "utf8").replace("template: ./template", `template: ${join(fixtures, "template")}`)}  prefix: ${prefix}\n`
    )
  }, 300_000)
  afterAll(() => {
    sweep(label)
    rmSync(work, { recursive: true, force: true })
  })

  it("two runs through the server are golden, the second on the first one's set; SIGTERM leaves nothing", async () => {
    const server = await serve(["--max-sets", "2", "--engine", "docker"])
    try {
      const first = await armada(["run", spec, "--server", server.url, "--json", "-o", join(work, "out-1")])
      assert.strictEqual(first.code, 0, first.stdout + first.stderr)
      const second = await armada(["run", spec, "--server", server.url, "-o", join(work, "out-2")])
      assert.strictEqual(second.code, 0, second.stdout + second.stderr)
      assertSameFiles(join(work, "out-1"), golden)
      assertSameFiles(join(work, "out-2"), golden)
      const result = JSON.parse(first.stdout.trimEnd().split("\n").at(-1)!) as {
        _tag: string
        outcome: string
      }
      assert.deepStrictEqual([result._tag, result.outcome], ["Result", "success"])
      const metrics = await (await fetch(`${server.url}/metrics`)).text()
      assert.include(metrics, "armada_pool_hits_total 1")
      assert.include(metrics, "armada_pool_misses_total 1")
      assert.include(metrics, "armada_pool_containers 11")
      assert.isAbove(count(labelled(label)), 0)
    } finally {
      server.process.kill("SIGTERM")
      await server.exited
    }
    assert.deepStrictEqual(labelled(label), nothing)
  })

  it("after SIGKILL, armada clean --all removes what the server held", async () => {
    const server = await serve(["--engine", "docker"])
    const run = await armada(["run", spec, "--server", server.url, "-o", join(work, "out-3")])
    assert.strictEqual(run.code, 0, run.stdout + run.stderr)
    server.process.kill("SIGKILL")
    await server.exited
    assert.isAbove(count(labelled(`${prefix}.pool`)), 0)
    const clean = await armada(["clean", "--all", "--prefix", prefix, "--engine", "docker"])
    assert.strictEqual(clean.code, 0, clean.stdout + clean.stderr)
    assert.deepStrictEqual(labelled(label), nothing)
  })

  it("a non-loopback address needs a token; with one, 401 without it on all but /healthz", async () => {
    const refused = await armada(["serve", "--listen", "0.0.0.0", "--port", "0"], { ARMADA_SERVE_TOKEN: "" })
    assert.strictEqual(refused.code, 2)
    assert.include(refused.stderr, "needs a token")
    const server = await serve(["--listen", "0.0.0.0", "--engine", "docker"], { ARMADA_SERVE_TOKEN: "t0ken" })
    try {
      for (const path of ["/pools", "/metrics", "/runs/x", "/openapi.json"]) {
        assert.strictEqual((await fetch(`${server.url}${path}`)).status, 401, path)
      }
      assert.strictEqual((await fetch(`${server.url}/healthz`)).status, 200)
      const authorized = await fetch(`${server.url}/pools`, { headers: { authorization: "Bearer t0ken" } })
      assert.strictEqual(authorized.status, 200)
    } finally {
      server.process.kill("SIGTERM")
      await server.exited
    }
  })
})
