/**
 * `armada serve --engine local` and `armada run --server` in-process, on the local engine (the
 * built-in test app as real processes, real HTTP): a spec's `local` catalog sent to the server is
 * not used, so none of its commands runs on the server's machine; and a run through the server
 * shows what a local run of the same spec shows (plain lines, the live view), with the same stages,
 * ending and exit code, when it succeeds and when a processor fails.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { stripVTControlCharacters } from "node:util"
import { Interruption } from "@armada/core"
import * as Http from "@armada/http"
import { LocalEngine } from "@armada/local"
import { NodeContext, NodeHttpClient } from "@effect/platform-node"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Layer, Ref } from "effect"
import * as Cli from "../src/Cli.js"
import * as Engine from "../src/Engine.js"
import { ExitCode } from "../src/ExitCode.js"
import * as Output from "../src/Output.js"
import { foundAt, unreachableEngine } from "./harness.js"

const scratch = mkdtempSync(join(tmpdir(), "armada-serve-client-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/** Each test starts processes (a server's and a local run's containers): room for a loaded machine. */
const timeout = 240_000

/** What the commands run on, as `bin.ts` provides it: the local engine with its catalog, real HTTP. */
const Commands = Layer.mergeAll(
  Engine.layer({
    discover: (host) => Effect.sync(() => foundAt()(host)),
    docker: () => unreachableEngine(),
    local: LocalEngine.layer
  }),
  Http.layer.pipe(Layer.provide(NodeHttpClient.layerUndici))
).pipe(Layer.provideMerge(NodeContext.layer))

/** `armada args...` in-process: its exit code and what it printed (wide, so nothing is cut). */
const armada = (args: ReadonlyArray<string>, options: { readonly isTTY?: boolean } = {}) =>
  Effect.gen(function* () {
    const captured = yield* Output.CapturedOutput
    const code = yield* Interruption.isolated(Cli.run(["node", "armada", ...args]))
    return { code, stdout: yield* Ref.get(captured.stdout), stderr: yield* Ref.get(captured.stderr) }
  }).pipe(
    Effect.provide(
      Layer.merge(Output.layerTest({ isTTY: options.isTTY ?? false, columns: 400, rows: 60 }), Commands)
    )
  )

/** `armada serve --engine local` in-process for the scope (its built-in catalog only); its URL. */
const serving = Effect.gen(function* () {
  const listening = yield* Deferred.make<string>()
  const said = (text: string) => Effect.asVoid(Deferred.succeed(listening, text))
  const output = Layer.succeed(Output.Output, {
    isTTY: false,
    size: Effect.succeed({ columns: 100, rows: 40 }),
    stdout: said,
    stderr: said
  })
  yield* Effect.forkScoped(
    Interruption.isolated(
      Cli.run(["node", "armada", "serve", "--engine", "local", "--port", "0", "--json"])
    ).pipe(Effect.provide(Layer.merge(output, Commands)))
  )
  const line = yield* Deferred.await(listening)
  const { url } = JSON.parse(line) as { url?: string }
  assert.isString(url, line)
  return url as string
})

/** A folder holding `pipeline.yaml` (`spec`) and its template `site/README.md`; the spec's path. */
const project = (spec: string) => {
  const dir = mkdtempSync(join(scratch, "project-"))
  mkdirSync(join(dir, "site"))
  writeFileSync(join(dir, "site", "README.md"), "# {{name}}\n")
  writeFileSync(join(dir, "pipeline.yaml"), spec)
  return { dir, spec: join(dir, "pipeline.yaml") }
}

/** A processor that renders the README and a plugin that writes a file; `session` fixed, as shown. */
const pipeline = (session: string, docs: { readonly image?: string; readonly env?: string } = {}) => `
session: ${session}
template: ./site
processors:
  - id: docs
    image: ${docs.image ?? "armada/test-app:dev"}
    globs: [{ glob: "*.md", type: template }]
    config: { vars: { name: world } }${docs.env === undefined ? "" : `\n    env: ${docs.env}`}
plugins:
  - id: stamp
    image: armada/test-app:dev
    config: { writeFile: { path: GENERATED.txt, content: "made\\n" } }
`

/** The first word of a line, when it names a stage. */
const stageOf = (line: string): string | undefined => {
  const word = /^[^\w]*(\w+)\s/.exec(line)?.[1]
  return word !== undefined && ["warm", "start", "process", "merge", "plug", "export"].includes(word)
    ? word
    : undefined
}

/**
 * What a run printed, as two runs of one spec compare: escapes, clock times, durations, probe
 * counts, ports and the engine's state folder taken out, the output's path and the containers'
 * session named alike, table columns made single spaces, and the `clean` stage left out: a run
 * through the server leaves its set in the pool, so it has no cleanup when it succeeds, and the
 * set's own when it fails (under the set's id, without the network the sets share). The lines
 * come sorted (the containers of a stage start in any order); `stages` is their stages in order.
 */
const comparable = (text: string, output: string) => {
  const lines = stripVTControlCharacters(text)
    .split("\n")
    .map((line) => line.replace(/^\d{4}-\d\d-\d\dT\S+Z /, ""))
  // The session the containers are named by: the spec's locally, the set's on the server.
  const sessions = lines.flatMap((line) => /^[^\w]*clean\s+(\w+)/.exec(line)?.[1] ?? [])
  const kept = lines
    .filter((line) => !/^[^\w]*clean\s/.test(line))
    .map((line) =>
      sessions
        .reduce((all, session) => all.replaceAll(`-${session}`, "-<session>"), line)
        .replaceAll(output, "<output>")
        .replace(/local:\/\S+/g, "local:<state>")
        .replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:<port>")
        .replace(/\(\d+ probes?\)/g, "(<n> probes)")
        .replace(/\b\d+m\d\ds\b|\b\d+(\.\d+)?(ms|s)\b/g, "<t>")
        // The live view's footer counts the clean row among the done ones.
        .replace(/\b\d+ done\b/, "<n> done")
        .replace(/\s+/g, " ")
        .trim()
    )
    .filter((line) => line !== "")
  const stages = kept.flatMap((line) => stageOf(line) ?? [])
  return {
    lines: [...kept].sort(),
    stages: stages.filter((stage, i) => stage !== stages[i - 1])
  }
}

/** The live view's last frame and the ending printed after it, without the frames before. */
const lastFrame = (stdout: string) => {
  const begin = stdout.lastIndexOf("\x1b[?2026h")
  assert.isAtLeast(begin, 0, "the live view drew no frame")
  return stdout.slice(begin)
}

describe("armada run --server on the local engine", () => {
  it.scopedLive(
    "a spec's `local` catalog is not taken from a request: none of its commands runs on the server's machine",
    () =>
      Effect.gen(function* () {
        const url = yield* serving
        const { dir } = project("")
        const marker = join(dir, "marker")
        const command = JSON.stringify([
          process.execPath,
          "-e",
          `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran on this machine\\n")`
        ])
        const catalog = `local:\n  "armada/test-app:dev": { command: ${command} }\n  "evil/marker:1": { command: ${command} }\n`
        // The spec's catalog names the test app's image: the server runs its own test app.
        writeFileSync(join(dir, "override.yaml"), `${pipeline("override1")}${catalog}`)
        const override = yield* armada([
          "run",
          "--server",
          url,
          join(dir, "override.yaml"),
          "-o",
          join(dir, "out-1")
        ])
        assert.strictEqual(override.code, ExitCode.success, override.stdout + override.stderr)
        assert.strictEqual(readFileSync(join(dir, "out-1", "README.md"), "utf8"), "# world\n")
        assert.isFalse(existsSync(marker), "the spec's command ran on the server's machine")
        // An image only the spec's catalog knows: refused by the server's engine, nothing run.
        writeFileSync(
          join(dir, "unknown.yaml"),
          `${pipeline("unknown1", { image: "evil/marker:1" })}${catalog}`
        )
        const unknown = yield* armada([
          "run",
          "--server",
          url,
          join(dir, "unknown.yaml"),
          "-o",
          join(dir, "out-2")
        ])
        assert.strictEqual(unknown.code, ExitCode.itemsFailed, unknown.stdout + unknown.stderr)
        assert.include(unknown.stdout, "warm    processor/docs: FAILED")
        // It says where the server's commands come from, not to add one to the spec.
        assert.include(
          unknown.stdout,
          "no local command for evil/marker:1; the commands are armada serve's built-in catalog"
        )
        assert.notInclude(unknown.stdout, "add one to the pipeline spec")
        assert.isFalse(existsSync(marker), "the spec's command ran on the server's machine")
        // The control: run here, the same spec runs its command, and the marker shows it.
        const here = yield* armada([
          "run",
          "--engine",
          "local",
          join(dir, "unknown.yaml"),
          "-o",
          join(dir, "out-3")
        ])
        assert.notStrictEqual(here.code, ExitCode.success, here.stdout + here.stderr)
        assert.isTrue(existsSync(marker), `a local run did not run the spec's command:\n${here.stdout}`)
      }),
    timeout
  )

  it.scopedLive(
    "plain lines: a run through the server prints the local run's stages, lines and ending, exit 0",
    () =>
      Effect.gen(function* () {
        const url = yield* serving
        const { dir, spec } = project(pipeline("plain001"))
        const [localOut, remoteOut] = [join(dir, "out-local"), join(dir, "out-remote")]
        const local = yield* armada(["run", "--engine", "local", spec, "-o", localOut])
        const remote = yield* armada(["run", "--server", url, spec, "-o", remoteOut])
        assert.strictEqual(local.code, ExitCode.success, local.stdout + local.stderr)
        assert.strictEqual(remote.code, local.code, remote.stdout + remote.stderr)
        const [here, there] = [comparable(local.stdout, localOut), comparable(remote.stdout, remoteOut)]
        // The lines, then the summary's table.
        const stages = ["warm", "start", "process", "merge", "plug", "export"]
        assert.deepStrictEqual(there.stages, [...stages, ...stages])
        assert.deepStrictEqual(there.stages, here.stages)
        assert.deepStrictEqual(there.lines, here.lines)
        assert.include(there.lines, "✔ run succeeded in <t>")
        assert.include(there.lines, "Output: <output> (2 files)")
        assert.strictEqual(readFileSync(join(remoteOut, "README.md"), "utf8"), "# world\n")
        assert.strictEqual(readFileSync(join(remoteOut, "GENERATED.txt"), "utf8"), "made\n")
      }),
    timeout
  )

  it.scopedLive(
    "the live view: a run through the server ends on the local run's last frame and summary, exit 0",
    () =>
      Effect.gen(function* () {
        const url = yield* serving
        const { dir, spec } = project(pipeline("live0001"))
        const [localOut, remoteOut] = [join(dir, "out-local"), join(dir, "out-remote")]
        const local = yield* armada(["run", "--engine", "local", spec, "-o", localOut], { isTTY: true })
        const remote = yield* armada(["run", "--server", url, spec, "-o", remoteOut], { isTTY: true })
        assert.strictEqual(local.code, ExitCode.success, local.stdout + local.stderr)
        assert.strictEqual(remote.code, local.code, remote.stdout + remote.stderr)
        const [here, there] = [
          comparable(lastFrame(local.stdout), localOut),
          comparable(lastFrame(remote.stdout), remoteOut)
        ]
        assert.deepStrictEqual(there.stages, here.stages)
        assert.deepStrictEqual(there.lines, here.lines)
        assert.include(there.lines, "<n> done · 0 running · 0 failed · <t>")
        assert.include(there.lines, "✔ run succeeded in <t>")
      }),
    timeout
  )

  it.scopedLive(
    "a processor that fails: the run through the server fails as the local run does, same lines, exit 1",
    () =>
      Effect.gen(function* () {
        const url = yield* serving
        const { dir, spec } = project(pipeline("failing1", { env: '{ ARMADA_FAULT_STATUS: "500" }' }))
        const [localOut, remoteOut] = [join(dir, "out-local"), join(dir, "out-remote")]
        const local = yield* armada(["run", "--engine", "local", spec, "-o", localOut])
        const remote = yield* armada(["run", "--server", url, spec, "-o", remoteOut])
        assert.strictEqual(local.code, ExitCode.itemsFailed, local.stdout + local.stderr)
        assert.strictEqual(remote.code, local.code, remote.stdout + remote.stderr)
        const [here, there] = [comparable(local.stdout, localOut), comparable(remote.stdout, remoteOut)]
        assert.deepStrictEqual(there.stages, ["warm", "start", "process", "warm", "start", "process"])
        assert.deepStrictEqual(there.stages, here.stages)
        // The same lines, but the hint: `--keep` is a flag of a local run; a server's run keeps its
        // containers by the spec's option.
        const keepFlag = "run again with --keep to leave the container in place, then read its logs ("
        const keepOption =
          "set options.keep: true in the spec and run again to leave the container in place on the server's engine, then read its logs there ("
        assert.isTrue(
          here.lines.some((line) => line.includes(keepFlag)),
          here.lines.join("\n")
        )
        assert.deepStrictEqual(
          there.lines,
          here.lines.map((line) => line.replace(keepFlag, keepOption))
        )
        assert.include(there.lines, "✖ run failed in <t>: 1 item failed")
        assert.isFalse(existsSync(remoteOut), "a failed run wrote an output")
        // With --json too: the Result document's exit code is the process's.
        const json = yield* armada(["run", "--server", url, spec, "--json", "-o", join(dir, "out-json")])
        assert.strictEqual(json.code, local.code)
        const result = JSON.parse(json.stdout.trimEnd().split("\n").at(-1)!) as { exitCode: number }
        assert.strictEqual(result.exitCode, local.code)
      }),
    timeout
  )
})
