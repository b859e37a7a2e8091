/**
 * A `ContainerEngine` over local processes and directories, for machines without a Docker engine
 * and for a fast inner loop: an image is a local command (from a catalog), a container is a child
 * process in its own process group, a volume is a directory, a network is bookkeeping. The
 * orchestrator runs on it unchanged. Its isolation is far weaker than Docker's: see
 * docs/local-engine.md.
 *
 * @since 0.1.0
 */
import type { InputError } from "@armada/core"
import { ContainerEngine, type ContainerEngineError } from "@armada/engine"
import { type Duration, type Effect, Layer, Schema, type Scope } from "effect"
import * as internal from "./internal/engine.js"
import * as images from "./internal/images.js"

/**
 * How to run one image locally: `command` plays the image's entrypoint (a container's `cmd` is
 * appended to it), `env` its `ENV` and `labels` its labels. The process starts in its container's
 * root folder, so give paths in `command` absolute.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CatalogEntry = Schema.Struct({
  command: Schema.NonEmptyArray(Schema.String),
  env: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  labels: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
})

/**
 * @since 0.1.0
 * @category models
 */
export type CatalogEntry = typeof CatalogEntry.Type

/**
 * Image reference → local command: the `local:` section of a pipeline spec.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Catalog = Schema.Record({ key: Schema.String, value: CatalogEntry })

/**
 * @since 0.1.0
 * @category models
 */
export type Catalog = typeof Catalog.Type

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly catalog: Catalog
  /**
   * Where a command for an image is added, as an image without one is told (`ImageNotFound`,
   * `PullFailed`); default the pipeline spec's `local:` section.
   */
  readonly catalogSource?: string | undefined
  /**
   * Where the engine makes its state folder `armada-local-<pid>-<random>` (volumes, container
   * roots); default the OS temp dir. Only that folder is removed when the scope closes.
   */
  readonly stateDir?: string | undefined
  /**
   * When the scope closes, how long a container may take to exit after SIGTERM before its group
   * gets SIGKILL; default 3 s. `removeContainer` kills at once, as `docker rm -f` does.
   */
  readonly stopGrace?: Duration.DurationInput | undefined
  /** Log lines kept per container; default 10 000. */
  readonly maxLogLines?: number | undefined
}

/**
 * The hint an image without a local command gets, in its `ImageNotFound` / `PullFailed`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const catalogHint: (image: string, source?: string) => string = images.catalogHint

/**
 * The engine, alive for the scope: closing the scope (normally, on failure or on interruption)
 * stops every process it started, SIGTERM then SIGKILL to the whole group, waits until they are
 * gone, and removes the state folder.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options: Options
) => Effect.Effect<ContainerEngine.Service, ContainerEngineError.EngineError | InputError, Scope.Scope> =
  internal.make

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<ContainerEngine, ContainerEngineError.EngineError | InputError> =>
  Layer.scoped(ContainerEngine, make(options))
