/**
 * `armada serve` and `armada run --server` as a user runs them, on the real Docker engine: two
 * runs of the 8-processor, 2-plugin pipeline through a server are golden byte for byte, the second
 * on the first one's set; after SIGTERM nothing labelled is left; after SIGKILL `armada clean
 * --all` removes what the server held; a non-loopback address needs a token, and with one every
 * endpoint but /healthz answers 401 without it; with --allow-template-dir, `armada run --server
 * --template-on-server` sends the template's path and the run is golden, while a path outside the
 * allowed folder (or any path, without the flag) is refused, exit 2, with the path named; 8
 * concurrent re-runs through one server are all golden and leave no more sets than --max-sets;
 * SIGTERM while a run that cannot end by itself is in flight interrupts it after --grace, stops the
 * server within minutes and leaves nothing; the token may come from --token-file (its first line).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Engine, TestImage } from "@armada/testkit"
import { afterAll, assert, beforeAll, describe, it, onTestFinished } from "vitest"
import {
  assertSameFiles,
  type CliResult,
  count,
  labelled,
  nothing,
  ownPrefix,
  runCli,
  sweep,
  until
} from "../support.js"

const root = fileURLToPath(new URL("../../", import.meta.url))
const bin = join(root, "apps", "cli", "dist", "bin.js")
const fixtures = join(root, "tests", "fixtures", "pipeline")
const golden = join(fixtures, "golden")
// A prefix of this run's own: other checkouts run this file beside it on the same engine, and what
// a test removes by label must be only what its own servers made.
const prefix = ownPrefix("armadaserve")
const label = `${prefix}.managed=true`

// One CLI run may take its spec's whole ready timeout (300 s) to start a cold set on a machine under
// load (at load ~55 a set's containers took ~50 s each to be started), then do its work: 10
// minutes per run, and a test room for two runs one after another.
const cliTimeout = 600_000

const armada = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<CliResult> =>
  runCli(bin, args, { cwd: root, env, timeout: cliTimeout })

interface Server {
  readonly process: ChildProcess
  readonly url: string
  readonly port: number
  readonly exited: Promise<number | null>
}

/** How long a server left running by its test may take to stop on SIGTERM before it gets SIGKILL. */
const stopMillis = 60_000

/**
 * Ends a server its test left running, by its PID: SIGTERM (it removes its sets), SIGKILL if it
 * has not exited within `stopMillis`; returns once it has exited.
 */
const stop = async (child: ChildProcess, exited: Promise<unknown>): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill("SIGTERM")
  let timer: NodeJS.Timeout | undefined
  const stopped = await Promise.race([
    exited.then(() => true),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), stopMillis)
    })
  ])
  clearTimeout(timer)
  if (!stopped) {
    child.kill("SIGKILL")
    await exited
  }
}

/**
 * Starts `armada serve --port 0 --json ...` and waits for the line that says where it listens.
 * The server ends with the test that started it, however the test ends (an assertion, a timeout):
 * it is stopped if still running, then what carries this run's label is removed.
 */
const serve = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Server> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "serve", "--port", "0", "--json", ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)))
    onTestFinished(async () => {
      await stop(child, exited)
      sweep(label)
    }, stopMillis + 120_000)
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

const on = describe.skipIf(Engine.skipWithoutEngine("armada serve on Docker"))
on("armada serve on Docker", { timeout: 2 * cliTimeout }, () => {
  beforeAll(() => {
    TestImage.ensureTestAppImage()
    work = mkdtempSync(join(tmpdir(), "armada-serve-"))
    spec = join(work, "armada.yaml")
    // A ready timeout with room for a machine under load (8 runs start their sets beside others'
    // suites): at load ~90 a processor was once not ready within the fixture's 120 s.
    const yaml = `${readFileSync(join(fixtures, "armada.yaml"), "utf8")
      .replace("template: ./template", `template: ${join(fixtures, "template")}`)
      .replace("ready: 120s", "ready: 300s")}  prefix: ${prefix}\n`
    assert.include(yaml, "ready: 300s", "the fixture's options changed; update this test's edit")
    writeFileSync(spec, yaml)
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
      // This server allows no template folder: a path is refused, naming the flag it lacks.
      const path = await armada(["run", spec, "--server", server.url, "--template-on-server"])
      assert.strictEqual(path.code, 2, path.stdout + path.stderr)
      assert.include(path.stderr, JSON.stringify(join(fixtures, "template")))
      assert.include(path.stderr, "--allow-template-dir")
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

  it("--allow-template-dir: a template path inside is golden, one outside is refused, named", async () => {
    const server = await serve(["--engine", "docker", "--allow-template-dir", fixtures])
    try {
      const inside = await armada([
        "run",
        spec,
        "--server",
        server.url,
        "--template-on-server",
        "--json",
        "-o",
        join(work, "out-path")
      ])
      assert.strictEqual(inside.code, 0, inside.stdout + inside.stderr)
      assertSameFiles(join(work, "out-path"), golden)
      const outsideSpec = join(work, "outside.yaml")
      const outside = join(work, "template")
      cpSync(join(fixtures, "template"), outside, { recursive: true })
      writeFileSync(outsideSpec, readFileSync(spec, "utf8").replace(join(fixtures, "template"), outside))
      const refused = await armada(["run", outsideSpec, "--server", server.url, "--template-on-server"])
      assert.strictEqual(refused.code, 2, refused.stdout + refused.stderr)
      assert.include(refused.stderr, JSON.stringify(outside))
      assert.include(refused.stderr, "outside the folders this server allows")
    } finally {
      server.process.kill("SIGTERM")
      await server.exited
    }
    assert.deepStrictEqual(labelled(label), nothing)
  })

  // A cold set, then 8 runs of which one may start the second set cold.
  it("8 concurrent re-runs through one server: all golden, no more sets than --max-sets after", async () => {
    const server = await serve(["--engine", "docker", "--max-sets", "2"])
    try {
      const warm = await armada(["run", spec, "--server", server.url, "-o", join(work, "out-c0")])
      assert.strictEqual(warm.code, 0, warm.stdout + warm.stderr)
      const runs = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          armada(["run", spec, "--server", server.url, "-o", join(work, `out-c${i + 1}`)])
        )
      )
      for (const [i, run] of runs.entries()) {
        assert.strictEqual(run.code, 0, run.stdout + run.stderr)
        assertSameFiles(join(work, `out-c${i + 1}`), golden)
      }
      const pools = (await (await fetch(`${server.url}/pools`)).json()) as {
        sets: Array<unknown>
        stats: { hits: number; misses: number }
      }
      assert.isAtMost(pools.sets.length, 2)
      assert.strictEqual(pools.stats.hits + pools.stats.misses, 9)
      assert.isAtMost(pools.stats.misses, 2)
    } finally {
      server.process.kill("SIGTERM")
      await server.exited
    }
    assert.deepStrictEqual(labelled(label), nothing)
  }, 1_800_000)

  it("SIGTERM while a run is in flight: it is interrupted after --grace, and nothing is left", async () => {
    // A processor that never answers, and a call timeout longer than the test: the run cannot end
    // by itself, only by the server's interruption, while its client streams its events.
    const hanging = join(work, "hanging.yaml")
    const yaml = readFileSync(spec, "utf8")
      .replace("  - id: code\n    image: armada/test-app:dev\n", '$&    env: { ARMADA_FAULT_HANG: "1" }\n')
      .replace("call: 60s", "call: 60m")
    assert.include(yaml, "ARMADA_FAULT_HANG", "the fixture's processors changed; update this test's edit")
    assert.include(yaml, "call: 60m", "the fixture's options changed; update this test's edit")
    writeFileSync(hanging, yaml)
    const server = await serve(["--engine", "docker", "--grace", "1s"])
    const client = armada(["run", hanging, "--server", server.url, "--json", "-o", join(work, "out-term")])
    let stopping = 0
    try {
      // The set is listed once its containers are ready; the run then hangs in its process stage.
      await until(
        async () => {
          const pools = (await (await fetch(`${server.url}/pools`)).json()) as { sets: Array<unknown> }
          return pools.sets.length > 0
        },
        "a set held by the run",
        240_000
      )
    } finally {
      stopping = Date.now()
      server.process.kill("SIGTERM")
    }
    // As every armada command that SIGINT or SIGTERM ends (docs/serve.md, Stopping).
    assert.strictEqual(await server.exited, 130)
    // The grace, the interruption and the removal of 11 containers; not the call's hour.
    assert.isBelow(Date.now() - stopping, 300_000, "the server stopped within 5 minutes of SIGTERM")
    // The client ends with the run `interrupted` (130): the events it follows end with the Result,
    // sent before the listener closes.
    const run = await client
    assert.strictEqual(run.code, 130, run.stdout + run.stderr)
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
    // From --token-file: its first line is the token, over ARMADA_SERVE_TOKEN; a file with none is refused.
    const tokenFile = join(work, "token")
    writeFileSync(tokenFile, "f1le-token\nsecond line\n")
    const fromFile = await serve(["--listen", "0.0.0.0", "--engine", "docker", "--token-file", tokenFile], {
      ARMADA_SERVE_TOKEN: "t0ken"
    })
    try {
      const header = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })
      assert.strictEqual((await fetch(`${fromFile.url}/pools`, header("f1le-token"))).status, 200)
      assert.strictEqual((await fetch(`${fromFile.url}/pools`, header("t0ken"))).status, 401)
      assert.strictEqual((await fetch(`${fromFile.url}/pools`)).status, 401)
    } finally {
      fromFile.process.kill("SIGTERM")
      await fromFile.exited
    }
    writeFileSync(tokenFile, "\n")
    const empty = await armada(["serve", "--listen", "0.0.0.0", "--port", "0", "--token-file", tokenFile])
    assert.strictEqual(empty.code, 2)
    assert.include(empty.stderr, "holds no token")
  })
})
