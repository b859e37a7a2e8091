/**
 * The `ContainerEngine` service over local processes and directories, before
 * `ContainerEngine.make` adds input validation and spans: the state folder and its lifetime, and
 * the service put together from one module per resource (`images`, `containers`, `volumes`,
 * `networks`, `archive`) over the shared `State`.
 *
 * State folder layout:
 *
 * ```
 * <stateDir>/armada-local-<pid>-<random>/
 *   volumes/<name>/              a volume's files
 *   containers/<id>/             a container's root: ARMADA_WORKSPACE_ROOT, cwd and HOME
 *     tmp/                       its TMPDIR
 *     workspace/area -> <state>/volumes/<name>    a read-write mount: a symbolic link
 *     workspace/cyanprint/       a read-only mount: a copy made at start, write bits off
 * ```
 *
 * @internal
 */
import { rmSync } from "node:fs"
import { mkdtemp } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ImageRef, type InputError, Interruption, Parallel } from "@armada/core"
import { ContainerEngine, type ContainerEngineError, Validation } from "@armada/engine"
import { Effect, type Scope } from "effect"
import type { CatalogEntry, Options } from "../LocalEngine.js"
import * as Archives from "./archive.js"
import * as Containers from "./containers.js"
import { hostError } from "./error.js"
import { guard } from "./exitGuard.js"
import { makeDir, removeTree } from "./files.js"
import * as Images from "./images.js"
import * as Networks from "./networks.js"
import { reapAbandoned } from "./reaper.js"
import * as State from "./state.js"
import * as Volumes from "./volumes.js"

/**
 * The catalog with its keys in the form engines list (`repo` → `repo:latest`); a key that is not
 * an image reference is an `InputError`.
 */
const normalizeCatalog = (
  catalog: Options["catalog"]
): Effect.Effect<Map<string, CatalogEntry>, InputError> =>
  Effect.gen(function* () {
    const entries = new Map<string, CatalogEntry>()
    for (const [image, entry] of Object.entries(catalog)) {
      const ref = yield* Validation.image(`local[${JSON.stringify(image)}]`, image)
      entries.set(ImageRef.withDefaultTag(ref), entry)
    }
    return entries
  })

/** @internal */
export const make = (
  options: Options
): Effect.Effect<ContainerEngine.Service, ContainerEngineError.EngineError | InputError, Scope.Scope> =>
  Effect.gen(function* () {
    const catalog = yield* normalizeCatalog(options.catalog)
    const stopGrace = options.stopGrace ?? "3 seconds"
    const parent = options.stateDir ?? tmpdir()

    yield* reapAbandoned(parent)
    const dir = yield* Interruption.acquireRelease(
      Effect.tryPromise({
        try: () => mkdtemp(join(parent, `armada-local-${process.pid}-`)),
        catch: hostError("create state folder", parent)
      }),
      (dir) => Effect.ignoreLogged(removeTree(dir))
    )
    yield* makeDir(join(dir, "volumes"))
    yield* makeDir(join(dir, "containers"))
    const state = State.make(dir, catalog, options.catalogSource)

    yield* guard(() => {
      for (const container of state.containers.values()) container.handle?.killNow()
      try {
        rmSync(dir, { recursive: true, force: true })
      } catch {
        // Best effort while the process exits: there is no one left to tell.
      }
    })

    const stopAll = Effect.suspend(() => {
      state.closed = true
      const running = [...state.containers.values()].filter((container) => container.handle !== undefined)
      return Parallel.forEachCollect(running, (container) => container.handle!.stop(stopGrace), {
        concurrency: Math.max(1, running.length)
      })
    })
    yield* Interruption.addFinalizer(() => Effect.ignoreLogged(stopAll))

    const service: ContainerEngine.Service = {
      address: `local:${dir}`,
      ping: Effect.void,
      version: Effect.succeed({
        engine: "armada-local",
        version: "0.1.0",
        apiVersion: "local",
        os: process.platform,
        arch: process.arch
      }),
      ...Images.make(state),
      ...Containers.make(state, { maxLogLines: options.maxLogLines ?? 10_000 }),
      ...Volumes.make(state),
      ...Networks.make(state),
      ...Archives.make(state)
    }
    return ContainerEngine.make(service)
  })
