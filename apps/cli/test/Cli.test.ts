import { afterAll, describe, expect, it } from "@effect/vitest"
import { Layer, Schema } from "effect"
import { ExitCode } from "../src/ExitCode.js"
import * as Report from "../src/Report.js"
import { memoryEngine, removeSpecFiles, run, specFile, unreachableEngine } from "./harness.js"

afterAll(removeSpecFiles)

const goodSpec = () =>
  specFile(`
template: .
processors:
  - { id: docs, image: armada/test-app:dev, globs: [{ glob: "*.md", type: template }] }
plugins:
  - { id: stamp, image: armada/test-app:dev }
`)

const decodeDocument = Schema.decodeUnknownSync(Schema.parseJson(Report.Document))
const lastLine = (text: string) => text.trimEnd().split("\n").at(-1)

describe("help", () => {
  it("the root help lists every command and the exit codes", async () => {
    const result = await run(["--help"])
    expect(result.code).toBe(ExitCode.success)
    for (const command of ["run", "warm", "clean", "ps", "doctor"])
      expect(result.stdout).toContain(`- ${command}`)
    expect(result.stdout).toContain("EXIT CODES")
    expect(result.stdout).toContain("130  interrupted")
    expect(result.stdout).not.toContain("\x1b[")
  })

  it.each(["run", "warm", "clean", "ps", "doctor"])(
    "`armada %s --help` explains it with an example",
    async (command) => {
      const result = await run([command, "--help"])
      expect(result.code).toBe(ExitCode.success)
      expect(result.stdout).toContain("DESCRIPTION")
      expect(result.stdout).toContain(`$ armada ${command}`)
      expect(result.stdout).toContain("EXIT CODES")
      expect(result.stdout).toMatch(/3 {2}the engine is unreachable/)
    }
  )

  it("run --help documents every flag", async () => {
    const { stdout } = await run(["run", "--help"])
    for (const flag of [
      "--output",
      "--concurrency",
      "--keep",
      "--engine",
      "--json",
      "--quiet",
      "--verbose",
      "--prefix"
    ]) {
      expect(stdout).toContain(flag)
    }
  })

  it("--version and shell completions come from @effect/cli", async () => {
    expect((await run(["--version"])).stdout.trim()).toBe("0.1.0")
    const completions = await run(["--completions", "bash"])
    expect(completions.code).toBe(ExitCode.success)
    expect(completions.stdout).toContain("complete -F")
    expect(completions.stdout).toContain("armada")
  })
})

describe("bad input: exit code 2, nothing started", () => {
  it.each([
    [["run", "--concurrency", "0"], "--concurrency"],
    [["run", "--concurrency", "many"], "--concurrency"],
    [["run", "--engine", "podman"], "auto, docker, local"],
    [["run", "--prefix", "Not A Prefix!"], "--prefix"]
  ])("%j", async (args, message) => {
    const result = await run([...args, goodSpec()])
    expect(result.code).toBe(ExitCode.badInput)
    expect(result.stderr).toContain(message)
  })

  it("a spec file that does not exist", async () => {
    const result = await run(["run", "/nonexistent/pipeline.yaml"])
    expect(result.code).toBe(ExitCode.badInput)
  })

  it("a broken spec names the path of every error", async () => {
    const spec = specFile(`
template: .
processors:
  - { id: ok, image: armada/test-app:dev }
  - { id: bad, image: Not An Image }
options: { concurrency: 0 }
`)
    const result = await run(["run", spec])
    expect(result.code).toBe(ExitCode.badInput)
    expect(result.stderr).toContain('processors[1].image: expected an image reference, got "Not An Image"')
    expect(result.stderr).toContain("options.concurrency")
    expect(result.stderr).toContain("hint: fix the spec")
  })

  it("with --json the error is a Result document with the spec's issues", async () => {
    const spec = specFile("template: .\nprocessors: [{ id: bad, image: Not An Image }]\n")
    const result = await run(["run", spec, "--json"])
    expect(result.code).toBe(ExitCode.badInput)
    const document = decodeDocument(lastLine(result.stdout))
    expect(document.outcome).toBe("bad-input")
    expect(document.exitCode).toBe(2)
    expect(document.error?.cause).toMatchObject({
      _tag: "SpecError",
      issues: [{ path: "processors[0].image" }]
    })
  })

  it("an output directory that is not empty is refused before anything runs", async () => {
    const spec = goodSpec()
    const result = await run(["run", spec, "--output", "/"])
    expect(result.code).toBe(ExitCode.badInput)
    expect(result.stderr).toContain("--output: / exists and is not empty")
  })

  it("clean needs --session or --all", async () => {
    const result = await run(["clean"])
    expect(result.code).toBe(ExitCode.badInput)
    expect(result.stderr).toContain("--session ID")
  })
})

describe("engines", () => {
  it("--engine docker with no engine answering: exit code 3 and how to start one", async () => {
    const result = await run(["run", goodSpec(), "--engine", "docker"], { docker: unreachableEngine() })
    expect(result.code).toBe(ExitCode.engineUnreachable)
    expect(result.stderr).toContain("cannot reach the Docker engine at tcp://127.0.0.1:1")
    expect(result.stderr).toContain("hint: start a Docker engine")
  })

  it("--engine auto with no Docker takes the local engine and says why", async () => {
    const result = await run(["warm", goodSpec(), "--json"], {
      docker: unreachableEngine(),
      local: memoryEngine()
    })
    expect(result.code).toBe(ExitCode.success)
    const started = JSON.parse(result.stdout.split("\n")[0]!) as { engine: { kind: string; reason: string } }
    expect(started.engine.kind).toBe("local")
    expect(started.engine.reason).toMatch(/^auto: no Docker engine answered \(connect ECONNREFUSED/)
  })

  it("--engine auto takes Docker when it answers", async () => {
    const result = await run(["warm", goodSpec(), "--json"])
    expect(result.code).toBe(ExitCode.success)
    const document = decodeDocument(lastLine(result.stdout))
    expect(document.engine?.kind).toBe("docker")
    expect(document.engine?.reason).toMatch(
      /^auto: the Docker engine answered in \d+ ms: DOCKER_HOST is set$/
    )
  })

  it("ps, clean and doctor say so too when the engine is unreachable", async () => {
    for (const args of [["ps"], ["clean", "--all"], ["doctor"]]) {
      const result = await run([...args, "--engine", "docker"], { docker: unreachableEngine() })
      expect(result.code, args.join(" ")).toBe(ExitCode.engineUnreachable)
    }
  })
})

describe("a bug", () => {
  it("is reported as one, exit code 1, never a silent exit", async () => {
    const result = await run(["ps", "--engine", "docker"], { docker: Layer.die(new Error("boom")) })
    expect(result.code).toBe(ExitCode.itemsFailed)
    expect(result.stderr).toContain("unexpected failure (a bug in armada; please report it): Error: boom")
  })
})

describe("warm", () => {
  it("a missing image that cannot be pulled fails the item that uses it, exit code 1", async () => {
    const spec = specFile("template: .\nprocessors: [{ id: far, image: acme/far-away:1 }]\n")
    const result = await run(["warm", spec])
    expect(result.code).toBe(ExitCode.itemsFailed)
    expect(result.stdout).toContain("warm processor/far (acme/far-away:1)")
    expect(result.stdout).toContain("not found: docker.io has no such repository or tag")
    expect(result.stdout).toContain("hint: check the image's name and its tag or digest")
  })
})

describe("doctor", () => {
  it("reports the engine, its version, and which images of a spec are present", async () => {
    const spec = specFile("template: .\nprocessors: [{ id: far, image: acme/far-away:1 }]\n")
    const result = await run(["doctor", spec])
    expect(result.code).toBe(ExitCode.itemsFailed)
    expect(result.stdout).toContain("memory://: reachable")
    expect(result.stdout).toContain("✔ present  armada/test-app:dev")
    expect(result.stdout).toContain("✖ missing  acme/far-away:1")
  })
})

describe("ps and clean", () => {
  it("nothing to list or remove on a fresh engine", async () => {
    expect((await run(["ps"])).stdout).toContain("No resources labelled armada.managed=true")
    const clean = await run(["clean", "--all", "--json"])
    expect(clean.code).toBe(ExitCode.success)
    expect(decodeDocument(lastLine(clean.stdout)).items).toEqual([])
  })
})
