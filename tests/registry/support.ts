/**
 * What the registry tests share: registries of their own on 127.0.0.1 (Debian's docker-registry,
 * through @armada/testkit's `Registry`) holding images of the test app, each with one layer of
 * random bytes of its own, so a pull really downloads that layer; specs of the example that run
 * them; a terminal (tmux) to watch the live view in; and the check that a secret appears nowhere.
 */
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Engine, Registry, TestImage } from "@armada/testkit"
import { Effect, Exit, Scope } from "effect"
import { assert } from "vitest"
import { type CliResult, ownPrefix, runCli } from "../support.js"
import * as Terminal from "../terminal.js"

export { type CliResult as Result, tree } from "../support.js"

export const root = fileURLToPath(new URL("../../", import.meta.url))
export const bin = join(root, "apps", "cli", "dist", "bin.js")
export const example = join(root, "examples", "hello")

/** Throws when the binary has not been built (`pnpm build`; ./scripts/test does it). */
export const requireBin = (): void => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`pnpm build\` first (./scripts/test does)`)
}

/**
 * `armada args…` from the repository's root, with `env` over this process's environment (a
 * variable set to `undefined` is removed). Async, so the registry proxies this process serves
 * keep answering while it runs.
 */
export const armada = (
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>> = {}
): Promise<CliResult> => runCli(bin, args, { cwd: root, env, timeout: 280_000 })

/** The prefix of everything the registry tests' runs create. */
export const prefix = ownPrefix("armadareg")

/** True when these tests cannot run here (no engine, no registry binary); throws in CI instead. */
export const skip = (suite: string): boolean =>
  Engine.skipWithoutEngine(suite) || Registry.skipWithoutRegistry(suite)

/** How many random bytes each pushed image adds to the test app: the layer a pull downloads. */
export const layerBytes = 2 * 1024 * 1024

/**
 * The registries and the scratch folder of one test file: `start` starts a registry that lives
 * until `close`, `push` pushes test app images to it.
 */
export interface Fixture {
  readonly work: string
  readonly start: (options?: Registry.Options) => Promise<Registry.Registry>
  /** One image per name, pushed as `<registry>/<name>`; no local copy of it is left. */
  readonly push: (
    registry: Registry.Registry,
    names: ReadonlyArray<string>
  ) => Promise<ReadonlyArray<Registry.Pushed>>
  readonly close: () => Promise<void>
}

export const makeFixture = (): Fixture => {
  TestImage.ensureTestAppImage()
  const work = mkdtempSync(join(tmpdir(), "armada-registry-tests-"))
  const scope = Effect.runSync(Scope.make())
  const run = <A>(effect: Effect.Effect<A, Registry.RegistryError, Scope.Scope>) =>
    Effect.runPromise(Scope.extend(effect, scope))
  return {
    work,
    start: (options) => run(Registry.start(options)),
    push: (registry, names) =>
      run(
        Effect.gen(function* () {
          const run = randomBytes(4).toString("hex")
          const local = names.map((_, i) => `armada-test/registry-${run}-${i}:v1`)
          yield* Effect.forEach(
            local,
            (tag) => Registry.buildImage({ tag, bytes: layerBytes, from: TestImage.testAppImage }),
            { concurrency: 2 }
          )
          const pushed = yield* Registry.push(
            registry,
            local.map((image, i) => ({ image, name: names[i]! }))
          )
          yield* Registry.removeLocal(local)
          return pushed
        })
      ),
    close: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      rmSync(work, { recursive: true, force: true })
    }
  }
}

/** Removes the local copies of what a run pulled, so the next run pulls them again. */
export const removePulled = (refs: ReadonlyArray<string>): Promise<void> =>
  Effect.runPromise(Registry.removeLocal(refs))

/** Whether the engine has `ref`, asked through the docker CLI. */
export const isPresent = (ref: string): boolean => {
  try {
    execFileSync("docker", ["image", "inspect", ref], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

/**
 * The example `hello` with the processors of `images` (by id: `docs`, `code`, `assets`) running
 * those images, and `options` over its own (with roomy timeouts); written in a folder of its own
 * below `work`. Its output is
 * the example's expected one: the pushed images are the test app plus a file it never reads.
 */
export const exampleSpec = (
  work: string,
  images: Readonly<Record<string, string>>,
  options: Readonly<Record<string, unknown>> = {}
): string => {
  let yaml = readFileSync(join(example, "pipeline.yaml"), "utf8").replace(
    "template: ./template",
    `template: ${join(example, "template")}`
  )
  for (const [id, image] of Object.entries(images)) {
    const anchor = `  - id: ${id}\n    image: armada/test-app:dev\n`
    assert.include(yaml, anchor, "the example changed; update this test's edit")
    yaml = yaml.replace(anchor, `  - id: ${id}\n    image: ${image}\n`)
  }
  // Room for a busy machine: these tests are about pulls, not about how fast containers start.
  const all = { concurrency: 4, timeouts: { ready: "240s", call: "120s" }, ...options }
  yaml = yaml.replace("options:\n  concurrency: 4\n", `options: ${JSON.stringify(all)}\n`)
  const path = join(mkdtempSync(join(work, "spec-")), "pipeline.yaml")
  writeFileSync(path, yaml)
  return path
}

/** `text` as a regular expression that matches it literally. */
export const literally = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")

/** The NDJSON lines of a `--json` run, parsed; the last one is the Result document. */
export const jsonLines = (stdout: string): Array<Record<string, unknown> & { readonly _tag: string }> =>
  stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line))

/**
 * Fails when `text` holds any of `secrets`, or their base64 forms (what `docker login` writes, and
 * what the engine's `X-Registry-Auth` header carries).
 */
export const assertNoSecret = (text: string, secrets: ReadonlyArray<string>, where: string): void => {
  for (const secret of secrets) {
    for (const form of [
      secret,
      Buffer.from(secret).toString("base64"),
      Buffer.from(secret).toString("base64url")
    ]) {
      assert.notInclude(text, form, `${where} holds a secret`)
    }
  }
}

/** `armada args…` in a real terminal (tests/terminal.ts), with `env` set. */
export const inTerminal = (
  work: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>> = {}
) => Terminal.inTerminal({ bin, args, cwd: root, work, env })
