/**
 * What every engine test checks through the built CLI: the example pipeline runs to the expected
 * files on the engine the environment points at, leaves nothing there, and `armada doctor` names
 * that engine and why it was picked.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import * as Registry from "../registry/support.js"
import { labelled, nothing, sweep } from "../support.js"

export { example, requireBin, tree } from "../registry/support.js"

export type Env = Readonly<Record<string, string | undefined>>

/**
 * The variables that choose an engine or a collector, all unset: each test names the ones it
 * means, so the machine's own (a CI's DOCKER_HOST) cannot decide for it.
 */
export const noEngineChosen: Env = {
  DOCKER_HOST: undefined,
  DOCKER_CONTEXT: undefined,
  DOCKER_TLS_VERIFY: undefined,
  DOCKER_TLS: undefined,
  DOCKER_CERT_PATH: undefined,
  OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined
}

/** `armada args…` with `env` over no engine chosen, as an Effect. */
export const armada = (args: ReadonlyArray<string>, env: Env = {}) =>
  Effect.promise(() => Registry.armada(args, { ...noEngineChosen, ...env }))

/**
 * Runs the example with `env` and `--prefix prefix`; checks the output and that nothing carrying
 * the prefix is left on the engine at `dockerHost` (the docker CLI's `-H`).
 */
export const runsTheExample = (env: Env, prefix: string, dockerHost?: string) =>
  Effect.gen(function* () {
    const work = mkdtempSync(join(tmpdir(), "armada-engines-"))
    const output = join(work, "hello")
    const run = yield* armada(
      ["run", "examples/hello/pipeline.yaml", "--output", output, "--prefix", prefix],
      env
    ).pipe(
      Effect.map((result) => ({ result, files: existsSync(output) ? Registry.tree(output) : {} })),
      Effect.ensuring(Effect.sync(() => rmSync(work, { recursive: true, force: true })))
    )
    const left = labelled(`${prefix}.managed=true`, dockerHost)
    sweep(`${prefix}.managed=true`, dockerHost)
    // The run's own words go with every failure: a leftover is most often a run that failed.
    const said = run.result.stdout + run.result.stderr
    assert.strictEqual(run.result.code, 0, said)
    assert.deepStrictEqual(run.files, Registry.tree(join(Registry.example, "expected")), said)
    assert.deepStrictEqual(left, nothing, `left on the engine with ${prefix}.managed=true\n${said}`)
    return run.result
  })

/** What `armada doctor --json` says of the Docker engine. */
export interface DoctorDocker {
  readonly reachable: boolean
  readonly address?: string
  readonly version?: string
  readonly source?: string
  readonly why?: string
  readonly reason?: string
  readonly attempts: ReadonlyArray<{ source: string; address: string; error: { _tag: string } }>
}

/** `armada doctor --engine docker` with `env`, as JSON and as text. */
export const doctor = (env: Env) =>
  Effect.gen(function* () {
    const result = yield* armada(["doctor", "--json", "--engine", "docker"], env)
    const findings = JSON.parse(result.stdout.trim().split("\n").at(-1)!) as {
      readonly docker: DoctorDocker
      readonly exitCode: number
    }
    const text = yield* armada(["doctor", "--engine", "docker"], env)
    return { code: result.code, findings, text: text.stdout }
  })
