/**
 * What `armada run` reports at the end, end to end through the command with the memory engine
 * and the in-memory HTTP client: typed causes, failures in declared order, every stage's time,
 * and the plugins a failure skipped.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ContainerEngineError } from "@armada/engine"
import type * as Http from "@armada/http"
import { ProcessorError } from "@armada/http"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Schedule, Schema } from "effect"
import * as Event from "../src/Event.js"
import { ExitCode } from "../src/ExitCode.js"
import * as Report from "../src/Report.js"
import * as RunState from "../src/RunState.js"
import { type Routes, removeSpecFiles, run, scriptedEngine, specFile } from "./harness.js"

const outputs = mkdtempSync(join(tmpdir(), "armada-cli-result-"))
afterAll(() => {
  removeSpecFiles()
  rmSync(outputs, { recursive: true, force: true })
})

let outputCount = 0
const freshOutput = () => join(outputs, `out-${++outputCount}`)

const decodeDocument = Schema.decodeUnknownSync(Schema.parseJson(Report.Document))
const decodeEvent = Schema.decodeUnknownSync(Schema.parseJson(Event.Event))

/** The NDJSON events and the final document of `run --json` output. */
const parsed = (stdout: string) => {
  const lines = stdout.trimEnd().split("\n")
  return {
    events: lines.slice(0, -1).map((line) => decodeEvent(line)),
    document: decodeDocument(lines.at(-1))
  }
}

const image = "armada/test-app:dev"

const spec = (processors: ReadonlyArray<string>, plugins: ReadonlyArray<string> = []) =>
  specFile(
    [
      "template: .",
      "session: result1",
      `processors: [${processors.map((id) => `{ id: ${id}, image: "${image}" }`).join(", ")}]`,
      `plugins: [${plugins.map((id) => `{ id: ${id}, image: "${image}" }`).join(", ")}]`,
      ""
    ].join("\n")
  )

const badStatus = (endpoint: ProcessorError.Endpoint) =>
  new ProcessorError.BadStatus({ endpoint, status: 500, body: `${endpoint.name} broke` })

/** Whether `stdout` holds the failure of `item`: its JSON event or its plain line. */
const printedFailureOf = (item: string) => (stdout: string) =>
  stdout.split("\n").some((line) => line.includes(item) && /"ItemFailed"|FAILED/.test(line))

/** Waits until the run has printed the failure of `item` (a minute at most: then it dies). */
const afterFailureOf = (stdout: Effect.Effect<string>, item: string) =>
  stdout.pipe(
    Effect.repeat({ until: printedFailureOf(item), schedule: Schedule.spaced("5 millis") }),
    Effect.timeout("1 minute"),
    Effect.orDie
  )

/** The id in a container name `armada-<role>-<id>-result1`. */
const idOf = (endpoint: ProcessorError.Endpoint) => endpoint.name.split("-").slice(2, -1).join("-")

describe("the cleanup's failure", () => {
  it("carries the engine's typed error in the ItemFailed event and the Result, with a reason and a hint", async () => {
    const engine = scriptedEngine(
      (memory) =>
        memory.fail({
          operation: "removeContainer",
          error: (name) =>
            new ContainerEngineError.EngineError({
              operation: "removeContainer",
              resource: name ?? "?",
              status: 500,
              detail: "device or resource busy"
            })
        }),
      { images: [{ ref: image }] }
    )
    const result = await run(["run", spec(["docs"]), "--output", freshOutput(), "--json"], { docker: engine })
    const { events, document } = parsed(result.stdout)
    const failed = events.flatMap((event) =>
      event._tag === "ItemFailed" && event.failure.stage === "clean" ? [event.failure] : []
    )
    expect(failed).toHaveLength(1)
    const [clean] = document.failures.filter((failure) => failure.stage === "clean")
    expect(clean).toEqual(failed[0])
    expect(clean?.item).toBe("result1")
    expect(clean?.cause).toMatchObject({
      _tag: "EngineError",
      operation: "removeContainer",
      status: 500,
      detail: "device or resource busy"
    })
    expect(clean?.reason).toMatch(/^\d+ resources could not be removed \(\d+ were\)/)
    expect(clean?.reason).toContain("device or resource busy")
    expect(clean?.hint).toContain("armada clean --session result1")
  })
})

describe("a cleanup that cannot list what the run created", () => {
  it("fails the run's clean item with the engine's typed error and the command that removes it", async () => {
    const engine = scriptedEngine(
      (memory) =>
        memory.fail({
          operation: "listContainers",
          error: new ContainerEngineError.EngineUnreachable({
            address: "tcp://127.0.0.1:2376",
            detail: "connection refused"
          })
        }),
      { images: [{ ref: image }] }
    )
    const result = await run(["run", spec(["docs"]), "--output", freshOutput(), "--json"], { docker: engine })
    const { document } = parsed(result.stdout)
    const [clean] = document.failures.filter((failure) => failure.stage === "clean")
    expect(clean?.item).toBe("result1")
    expect(clean?.cause).toMatchObject({ _tag: "EngineUnreachable", address: "tcp://127.0.0.1:2376" })
    expect(clean?.reason).toMatch(/^could not list what the run created, so nothing was removed: /)
    expect(clean?.hint).toContain("armada clean --session result1")
  })
})

describe("a run whose items all went through", () => {
  const header: Event.Event & { readonly _tag: "RunStarted" } = {
    _tag: "RunStarted",
    at: 0,
    command: "run",
    spec: "pipeline.yaml",
    session: "result1",
    prefix: "armada",
    engine: { kind: "docker", address: "unix:///var/run/docker.sock", reason: "--engine docker" }
  }
  const succeeded: ReadonlyArray<Event.Event> = [
    header,
    { _tag: "ItemStarted", at: 1, stage: "process", item: "docs" },
    { _tag: "ItemSucceeded", at: 2, stage: "process", item: "docs" }
  ]
  const cleanFailed: Event.Event = {
    _tag: "ItemFailed",
    at: 3,
    failure: { stage: "clean", item: "result1", reason: "1 resource could not be removed", cause: {} }
  }
  const documentOf = (events: ReadonlyArray<Event.Event>) =>
    Report.fromState(events.reduce(RunState.reduce, RunState.make(header)), {
      outcome: "success",
      finishedAt: 4
    })

  it("succeeded when nothing failed", () => {
    const document = documentOf(succeeded)
    expect([document.outcome, document.exitCode]).toEqual(["success", ExitCode.success])
  })

  it("failed when its cleanup failed: what it left is reported, and the exit code says so", () => {
    const document = documentOf([...succeeded, cleanFailed])
    expect([document.outcome, document.exitCode]).toEqual(["failed", ExitCode.itemsFailed])
    expect(document.failures.map((failure) => failure.stage)).toEqual(["clean"])
  })
})

describe("failures", () => {
  it("are listed in declared order, whatever order they arrived in", async () => {
    // `second` fails at once, `first` once the failure of `second` has been printed.
    const http: Routes = (stdout) => ({
      "*": {
        process: (_, endpoint) =>
          idOf(endpoint) === "first"
            ? Effect.zipRight(afterFailureOf(stdout, "second"), Effect.fail(badStatus(endpoint)))
            : idOf(endpoint) === "second"
              ? Effect.fail(badStatus(endpoint))
              : Effect.succeed({ outputDir: "/workspace/area/x" })
      }
    })
    const args = ["run", spec(["first", "ok", "second"])]
    const json = await run([...args, "--output", freshOutput(), "--json"], {}, { http })
    expect(json.code).toBe(ExitCode.itemsFailed)
    const { events, document } = parsed(json.stdout)
    const arrived = events.flatMap((event) => (event._tag === "ItemFailed" ? [event.failure.item] : []))
    expect(arrived).toEqual(["second", "first"])
    expect(document.failures.map((failure) => failure.item)).toEqual(["first", "second"])

    const plain = await run([...args, "--output", freshOutput()], {}, { http })
    const summary = plain.stdout.slice(plain.stdout.indexOf("Failures:"))
    expect(summary.indexOf("✖ process first")).toBeGreaterThan(-1)
    expect(summary.indexOf("✖ process first")).toBeLessThan(summary.indexOf("✖ process second"))
  })
})

describe("stage durations", () => {
  it("the warm stage's time is its wall time, not 0 when every image is present", async () => {
    // Loading the template takes 200 ms; the images are present.
    const engine = scriptedEngine((memory) => memory.addLatency({ operation: "putArchive", latency: 200 }), {
      images: [{ ref: image }]
    })
    const result = await run(["run", spec(["docs"]), "--output", freshOutput(), "--json"], { docker: engine })
    const { document } = parsed(result.stdout)
    const warm = document.stages.find((stage) => stage.stage === "warm")
    expect(warm?.durationMs).toBeGreaterThanOrEqual(200)
  })
})

describe("plugins after a failing one", () => {
  it("are named as skipped in the Result and in the summary", async () => {
    const http: Http.TestRoutes = {
      "*": {
        plug: (_, endpoint) =>
          idOf(endpoint) === "second" ? Effect.fail(badStatus(endpoint)) : Effect.succeed({})
      }
    }
    const args = ["run", spec(["docs"], ["first", "second", "third", "fourth"])]
    const json = await run([...args, "--output", freshOutput(), "--json"], {}, { http })
    expect(json.code).toBe(ExitCode.itemsFailed)
    const { document } = parsed(json.stdout)
    expect(document.failures.map((failure) => [failure.stage, failure.item])).toEqual([["plug", "second"]])
    expect(document.skipped).toEqual([
      { stage: "plug", item: "third", reason: "not run: plugin second failed before it" },
      { stage: "plug", item: "fourth", reason: "not run: plugin second failed before it" }
    ])

    const plain = await run([...args, "--output", freshOutput()], {}, { http })
    expect(plain.stdout).toContain("Skipped:")
    expect(plain.stdout).toContain("  - plug third: not run: plugin second failed before it")
    expect(plain.stdout).toContain("  - plug fourth: not run: plugin second failed before it")
  })
})
