import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { LocalEngine, ProcessGroup } from "@armada/local"
import { Effect } from "effect"
import { afterEach, assert, beforeAll, describe, it } from "vitest"
import { until } from "../support.js"

// A Node.js process that ends without closing its local engine: the engine's exit guard (on
// process.exit and unhandled SIGTERM) or, after SIGKILL, the next engine must clean up.
const script = fileURLToPath(new URL("./fixtures/abandon.mjs", import.meta.url))
const built = fileURLToPath(new URL("../../packages/local/dist/index.js", import.meta.url))
const parents: Array<string> = []

const abandon = async () => {
  const parent = mkdtempSync(join(tmpdir(), "armada-local-guard-test-"))
  parents.push(parent)
  const child: ChildProcess = spawn(process.execPath, [script, parent], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.once("exit", (code, signal) => resolve(signal ?? code))
  )
  let out = ""
  child.stdout!.on("data", (chunk) => (out += chunk))
  await until(() => out.includes("\n"), "the engine to start")
  const { folder } = JSON.parse(out) as { folder: string }
  await until(() => ProcessGroup.startedUnder(folder).length === 2, "the container and its child")
  return { child, exited, folder, parent, pids: ProcessGroup.startedUnder(folder) }
}

const nothingLeft = async (pids: ReadonlyArray<number>, folder: string) => {
  // The kill is sent synchronously; the kernel ends the processes a moment later.
  await until(() => !pids.some(ProcessGroup.isAlive), `${pids} to end`)
  assert.isFalse(existsSync(folder), `${folder} is still there`)
}

beforeAll(() => {
  if (!existsSync(built))
    throw new Error(`${built} is missing: run \`pnpm build\` first (./scripts/test does)`)
})

afterEach(() => {
  for (const parent of parents.splice(0)) {
    for (const pid of ProcessGroup.startedUnder(parent)) ProcessGroup.signal(pid, "SIGKILL")
    rmSync(parent, { recursive: true, force: true })
  }
})

describe("a Node.js that ends without closing its local engine", () => {
  it("process.exit(): the exit guard kills the groups and removes the state folder", async () => {
    const { child, exited, folder, pids } = await abandon()
    child.kill("SIGUSR2")
    assert.strictEqual(await exited, 0)
    await nothingLeft(pids, folder)
  })

  it("a SIGTERM nobody handles: the guard cleans up, then Node.js dies of the signal", async () => {
    const { child, exited, folder, pids } = await abandon()
    child.kill("SIGTERM")
    assert.strictEqual(await exited, "SIGTERM")
    await nothingLeft(pids, folder)
  })

  it("SIGKILL: the processes outlive it, and the next engine in that folder reaps them", async () => {
    const { child, exited, folder, parent, pids } = await abandon()
    child.kill("SIGKILL")
    assert.strictEqual(await exited, "SIGKILL")
    assert.isTrue(pids.every(ProcessGroup.isAlive), "nothing can run in a process killed with SIGKILL")
    await Effect.runPromise(Effect.scoped(LocalEngine.make({ stateDir: parent, catalog: {} })))
    await nothingLeft(pids, folder)
  })
})
