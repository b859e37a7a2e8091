import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Engine, TestImage } from "@armada/testkit"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "vitest"
import {
  type CliResult,
  cliMillis,
  docker,
  labelled,
  nothing,
  ownPrefix,
  runCli,
  sweep,
  tree,
  until
} from "../support.js"
import { inTerminal, type Terminal } from "../terminal.js"

// The built `armada` binary end to end on the real Docker engine, as a user runs it. Every
// resource carries the test's own prefix, and each test checks that none is left by label.
const root = fileURLToPath(new URL("../../", import.meta.url))
const bin = join(root, "apps", "cli", "dist", "bin.js")
const example = join(root, "examples", "hello")
const prefix = ownPrefix("armadacli")

const armada = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<CliResult> =>
  runCli(bin, args, { cwd: root, env, timeout: 180_000 })

const nothingLeft = (label: string) => {
  assert.deepStrictEqual(labelled(label), nothing, `left with ${label}`)
}

let work = ""

/** The example's spec, with `edit` applied, written where the test can find it. */
const exampleSpec = (edit: (yaml: string) => string = (yaml) => yaml) => {
  const original = readFileSync(join(example, "pipeline.yaml"), "utf8").replace(
    "template: ./template",
    `template: ${join(example, "template")}`
  )
  const edited = edit(original)
  const path = join(mkdtempSync(join(work, "spec-")), "pipeline.yaml")
  writeFileSync(path, edited)
  return path
}

/** Gives the processor `id` of the example extra environment (a fault knob). */
const withEnv = (id: string, env: Record<string, string>) => (yaml: string) => {
  const anchor = `  - id: ${id}\n    image: armada/test-app:dev\n`
  assert.include(yaml, anchor, "the example changed; update this test's edit")
  return yaml.replace(anchor, `${anchor}    env: ${JSON.stringify(env)}\n`)
}

describe.skipIf(Engine.skipWithoutEngine("tests/cli (armada on the real engine)"))(
  "armada on the Docker engine",
  () => {
    beforeAll(() => {
      if (!existsSync(bin))
        throw new Error(`${bin} is missing: run \`pnpm build\` first (./scripts/test does)`)
      TestImage.ensureTestAppImage()
      work = mkdtempSync(join(tmpdir(), "armada-cli-e2e-"))
    })

    afterEach(() => {
      try {
        nothingLeft(`${prefix}.managed=true`)
      } finally {
        sweep(`${prefix}.managed=true`)
      }
    })

    afterAll(() => {
      if (work !== "") rmSync(work, { recursive: true, force: true })
    })

    it("runs the example to the expected files, exit code 0", async () => {
      const output = join(work, "hello")
      const result = await armada([
        "run",
        "examples/hello/pipeline.yaml",
        "--output",
        output,
        "--prefix",
        prefix
      ])
      assert.strictEqual(result.code, 0, result.stdout + result.stderr)
      assert.deepStrictEqual(tree(output), tree(join(example, "expected")))
      assert.include(result.stdout, `Output: ${output} (6 files)`)
      assert.include(result.stdout, "engine  docker: ")
      assert.notInclude(result.stdout, "\x1b", "not a terminal: no escape codes")
    })

    it("a failing processor: exit code 1, the failure names it, and the JSON says the same", async () => {
      const spec = exampleSpec(withEnv("code", { ARMADA_FAULT_STATUS: "500" }))
      const result = await armada([
        "run",
        spec,
        "--output",
        join(work, "failing"),
        "--prefix",
        prefix,
        "--json"
      ])
      assert.strictEqual(result.code, 1, result.stderr)
      const lines = result.stdout.trimEnd().split("\n")
      for (const line of lines) JSON.parse(line)
      const document = JSON.parse(lines.at(-1)!) as {
        _tag: string
        outcome: string
        exitCode: number
        failures: Array<{
          stage: string
          item: string
          image: string
          reason: string
          cause: { _tag: string; status: number }
        }>
      }
      assert.strictEqual(document._tag, "Result")
      assert.strictEqual(document.outcome, "failed")
      assert.strictEqual(document.exitCode, 1)
      assert.deepStrictEqual(
        document.failures.map((f) => [f.stage, f.item, f.image, f.cause._tag, f.cause.status]),
        [["process", "code", "armada/test-app:dev", "BadStatus", 500]]
      )
      assert.isFalse(existsSync(join(work, "failing")), "nothing exported from a failed run")

      const plain = await armada(["run", spec, "--output", join(work, "failing2"), "--prefix", prefix])
      assert.strictEqual(plain.code, 1)
      assert.match(plain.stdout, /✖ process code \(armada\/test-app:dev\): .*answered HTTP 500/)
      assert.include(plain.stdout, "✖ run failed")
    })

    it("a broken spec: exit code 2 with the path of the error, nothing started", async () => {
      const spec = exampleSpec((yaml) =>
        yaml.replace("  - id: code\n    image: armada/test-app:dev", "  - id: code\n    image: Not An Image")
      )
      const result = await armada(["run", spec, "--prefix", prefix])
      assert.strictEqual(result.code, 2)
      assert.include(result.stderr, 'processors[1].image: expected an image reference, got "Not An Image"')
    })

    it("DOCKER_HOST pointing nowhere with --engine docker: exit code 3 within 2 s", async () => {
      // The same command with a broken spec stops just before it looks for the engine.
      const spec = exampleSpec((yaml) => yaml.replace("image: armada/test-app:dev", "image: Not An Image"))
      const before = await cliMillis(bin, ["run", spec, "--engine", "docker", "--prefix", prefix])
      const result = await armada(
        ["run", "examples/hello/pipeline.yaml", "--engine", "docker", "--prefix", prefix],
        {
          DOCKER_HOST: "tcp://127.0.0.1:1"
        }
      )
      assert.strictEqual(result.code, 3, result.stderr)
      assert.include(result.stderr, "tcp://127.0.0.1:1")
      assert.include(result.stderr, "hint: start a Docker engine")
      // 2 s beyond that run (twice it: a busy machine varies from one run to the next).
      assert.isBelow(
        result.millis,
        2000 + 2 * before,
        `from spawning the CLI to its exit (the same run with a broken spec: ${before} ms)`
      )
    })

    describe("Ctrl-C in a terminal (tmux)", () => {
      const terminals: Array<Terminal> = []
      /** A run that hangs in the start stage: `docs` listens only after a minute. */
      const slowSpec = (session: string) =>
        exampleSpec(
          (yaml) => `session: ${session}\n${withEnv("docs", { ARMADA_FAULT_START_DELAY_MS: "60000" })(yaml)}`
        )
      const containersOf = (session: string) =>
        docker(["ps", "-aq", "--filter", `label=${prefix}.session=${session}`])

      /** `armada run` of the slow example in a terminal, once its containers are there. */
      const slowRunInTerminal = async (session: string) => {
        const terminal = inTerminal({
          bin,
          args: ["run", slowSpec(session), "--output", join(work, session), "--prefix", prefix],
          cwd: root,
          work
        })
        terminals.push(terminal)
        await until(() => containersOf(session).length >= 5, "the run's containers", 120_000, 100)
        return terminal
      }

      afterEach(() => {
        for (const terminal of terminals.splice(0)) terminal.close()
      })

      it("the first Ctrl-C cleans up what the run created and exits with 130", async () => {
        const session = "ctrlc1"
        const terminal = await slowRunInTerminal(session)
        await until(() => terminal.pane().includes("waiting until ready"), "the live view", 120_000, 100)
        terminal.send("C-c")
        // The cleanup removes five containers, two volumes and a network.
        const status = await terminal.exited(120_000)
        const screen = await terminal.screenWith("✖ run interrupted after")
        assert.strictEqual(status, 130, `exit status ${status}:\n${screen}`)
        assert.include(screen, "Interrupted: removing what this run created")
        assert.include(screen, "✖ run interrupted after")
        nothingLeft(`${prefix}.session=${session}`)
      })

      it("a second Ctrl-C exits at once and prints the command that removes what is left", async () => {
        const session = "ctrlc2"
        const terminal = await slowRunInTerminal(session)
        terminal.send("C-c")
        // As a person does: the second press once the first one showed (two presses at the same
        // instant can reach the process as one signal).
        await until(() => terminal.pane().includes("Ctrl-C again"), "the first press to show", 60_000, 20)
        terminal.send("C-c")
        const status = await terminal.exited(30_000)
        const screen = await terminal.screenWith("Remove them with")
        assert.strictEqual(status, 130, `exit status ${status}:\n${screen}`)
        assert.include(screen, `Remove them with: armada clean --session ${session} --prefix ${prefix}`)
        // What it printed works. The engine may still be finishing requests the CLI left in flight
        // when it exited (a removal: a clean beside it can be refused), so the command runs again
        // until it succeeds, as a person would run it again; the assertion shows the last output.
        const cleanArgs = ["clean", "--session", session, "--prefix", prefix]
        let clean = await armada(cleanArgs)
        const cleaned = () =>
          clean.code === 0 && labelled(`${prefix}.session=${session}`).containers.length === 0
        await until(
          async () => {
            if (!cleaned()) clean = await armada(cleanArgs)
            return cleaned()
          },
          "armada clean to succeed",
          60_000,
          500
        ).catch(() => undefined)
        assert.strictEqual(clean.code, 0, clean.stdout + clean.stderr)
        nothingLeft(`${prefix}.session=${session}`)
      })
    })

    it("ps lists a kept session and clean removes it", async () => {
      const spec = exampleSpec((yaml) => `session: kept1\n${yaml}`)
      const run = await armada(["run", spec, "--output", join(work, "kept"), "--prefix", prefix, "--keep"])
      assert.strictEqual(run.code, 0, run.stdout + run.stderr)
      assert.include(run.stdout, `armada clean --session kept1 --prefix ${prefix}`)
      const ps = await armada(["ps", "--prefix", prefix])
      assert.strictEqual(ps.code, 0)
      assert.match(
        ps.stdout,
        new RegExp(`kept1\\s+container\\s+${prefix}-processor-docs-kept1\\s+processor\\s+running`)
      )
      const clean = await armada(["clean", "--session", "kept1", "--prefix", prefix])
      assert.strictEqual(clean.code, 0, clean.stdout + clean.stderr)
      assert.include(clean.stdout, "removed")
      nothingLeft(`${prefix}.session=kept1`)
    })

    it("doctor finds the engine and the example's image", async () => {
      const result = await armada(["doctor", "examples/hello/pipeline.yaml", "--engine", "docker"])
      assert.strictEqual(result.code, 0, result.stdout + result.stderr)
      assert.include(result.stdout, "reachable")
      assert.include(result.stdout, "✔ present  armada/test-app:dev")
    })
  }
)
