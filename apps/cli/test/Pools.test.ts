/**
 * `armada ps` lists pooled sets (labelled `<prefix>.pool=<key>`) apart from run sessions, and
 * `armada clean --pools` removes them and nothing else. In-process, on one memory engine shared by
 * the commands, holding what a `--keep` run and a killed `armada serve` with two keys leave.
 */
import { ImageRef, Names } from "@armada/core"
import { ContainerEngine, type Labels } from "@armada/engine"
import { Context, Effect, Layer, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { ExitCode } from "../src/ExitCode.js"
import { memoryEngine, run } from "./harness.js"

const image = Schema.decodeSync(ImageRef.ImageRef)("armada/test-app:dev")
const prefix = Names.Id.make("armada")

const labels = (session: string, role: string, pool?: string): Labels => ({
  ...Names.labels(prefix, { session: Names.Id.make(session), role }),
  ...(pool === undefined ? {} : { [`${prefix}.pool`]: pool })
})

/** One engine for every command of a test, holding a kept run and three pooled sets of two keys. */
const populated = async (): Promise<Layer.Layer<ContainerEngine>> => {
  const engine = await Effect.runPromise(
    Effect.scoped(Effect.map(Layer.build(memoryEngine()), (context) => Context.get(context, ContainerEngine)))
  )
  const make = (session: string, pool?: string) =>
    Effect.gen(function* () {
      yield* engine.createVolume({ name: `armada-${session}-area`, labels: labels(session, "area", pool) })
      yield* engine.createContainer({
        name: `armada-${session}-p1`,
        image,
        labels: labels(session, "processor", pool)
      })
    })
  await Effect.runPromise(
    Effect.all([
      make("keptrun1"),
      make("setaaa1", "key0000aaaa"),
      make("setaaa2", "key0000aaaa"),
      make("setbbb1", "key0000bbbb")
    ])
  )
  return Layer.succeed(ContainerEngine, engine)
}

describe("ps and clean with pools", () => {
  it("ps lists pooled sets per key, apart from run sessions, in text and JSON", async () => {
    const docker = await populated()
    const text = await run(["ps"], { docker })
    expect(text.code).toBe(ExitCode.success)
    const [sessions, pools] = text.stdout.split("Pooled sets")
    expect(sessions).toContain("keptrun1")
    expect(sessions).not.toContain("setaaa1")
    expect(sessions).toContain("armada clean --session keptrun1")
    expect(pools).toContain("2 pool keys, 3 sets")
    expect(pools).toMatch(
      /key0000aaaa\s+setaaa1\s+container\s+armada-setaaa1-p1\s+processor\s+created\s+\d+s/
    )
    expect(pools).toMatch(/key0000bbbb\s+setbbb1\s+volume\s+armada-setbbb1-area/)
    expect(pools).toContain("armada clean --pools")
    expect(pools).not.toContain("keptrun1")

    const json = JSON.parse((await run(["ps", "--json"], { docker })).stdout)
    expect(json.sessions.map((s: { session: string }) => s.session)).toEqual(["keptrun1"])
    expect(json.pools.map((p: { key: string; set: string }) => `${p.key}/${p.set}`).sort()).toEqual([
      "key0000aaaa/setaaa1",
      "key0000aaaa/setaaa2",
      "key0000bbbb/setbbb1"
    ])
    expect(json.pools[0].containers[0]).toMatchObject({ role: "processor", state: "created" })
  })

  it("clean --pools removes every pooled set and leaves run sessions", async () => {
    const docker = await populated()
    const clean = await run(["clean", "--pools"], { docker })
    expect(clean.code).toBe(ExitCode.success)
    expect(clean.stdout).toContain("Removed 6 of 6 resources for the pools of prefix armada.")
    expect(clean.stdout).not.toContain("keptrun1")
    const json = JSON.parse((await run(["ps", "--json"], { docker })).stdout)
    expect(json.pools).toEqual([])
    expect(json.sessions.map((s: { session: string }) => s.session)).toEqual(["keptrun1"])
    expect((await run(["clean", "--pools"], { docker })).stdout).toContain("Nothing to remove for the pools")
  })

  it("clean takes exactly one of --session, --pools and --all", async () => {
    const docker = await populated()
    const both = await run(["clean", "--pools", "--all"], { docker })
    expect(both.code).toBe(ExitCode.badInput)
    expect(both.stderr).toContain("--pools (every pooled set)")
    const help = await run(["clean", "--help"])
    expect(help.stdout).toContain("--pools")
    expect(help.stdout).toContain("DELETE /pools/:key")
  })
})
