/**
 * A Docker CLI config folder written by the test, as `docker context create` and `docker context
 * use` would leave it: `config.json` (with `currentContext` when asked) and, per context,
 * `contexts/meta/<sha256 of the name>/meta.json` with its Docker endpoint, and its TLS material
 * under `contexts/tls/<sha256 of the name>/docker/{ca,cert,key}.pem`. Point `DOCKER_CONFIG` at
 * `dir` to use it.
 *
 * @since 0.2.0
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect, type Scope } from "effect"
import { type FixtureError, tempDir, writeFile } from "./internal/daemon.js"

const fixture = "DockerContext"

/**
 * One context.
 *
 * @since 0.2.0
 * @category models
 */
export interface Context {
  readonly name: string
  /** The Docker endpoint's `Host`: `unix://…`, `tcp://…` or `ssh://…`. */
  readonly host: string
  readonly skipTlsVerify?: boolean | undefined
  /** Paths of the PEM files copied into the store as this context's TLS material. */
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string } | undefined
}

/**
 * The folder name of a context in the store: the hex SHA-256 of its name.
 *
 * @since 0.2.0
 * @category getters
 */
export const storeId = (name: string): string => createHash("sha256").update(name).digest("hex")

/**
 * Writes `contexts` into the config folder `dir`, and `config.json` with `current` as its
 * `currentContext` (no `currentContext` when `current` is undefined).
 *
 * @since 0.2.0
 * @category constructors
 */
export const write = (
  dir: string,
  contexts: ReadonlyArray<Context>,
  current?: string
): Effect.Effect<void, FixtureError> =>
  Effect.gen(function* () {
    yield* writeFile(
      fixture,
      path.join(dir, "config.json"),
      `${JSON.stringify(current === undefined ? {} : { currentContext: current }, null, 2)}\n`
    )
    for (const context of contexts) {
      const id = storeId(context.name)
      yield* writeFile(
        fixture,
        path.join(dir, "contexts", "meta", id, "meta.json"),
        JSON.stringify({
          Name: context.name,
          Metadata: { Description: "written by an armada test" },
          Endpoints: { docker: { Host: context.host, SkipTLSVerify: context.skipTlsVerify ?? false } }
        })
      )
      for (const [file, from] of Object.entries(context.tls ?? {})) {
        if (from === undefined) continue
        yield* writeFile(
          fixture,
          path.join(dir, "contexts", "tls", id, "docker", `${file}.pem`),
          fs.readFileSync(from)
        )
      }
    }
  })

/**
 * A config folder in a temp folder, removed with the scope, holding `contexts`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  contexts: ReadonlyArray<Context>,
  current?: string
): Effect.Effect<string, FixtureError, Scope.Scope> =>
  Effect.gen(function* () {
    const dir = yield* tempDir(fixture, "docker-config")
    yield* write(dir, contexts, current)
    return dir
  })
