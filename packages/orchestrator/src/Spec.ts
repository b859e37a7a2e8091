/**
 * The pipeline spec: what to run, on which template, with which options. Written as YAML or JSON,
 * decoded with `Schema`; every problem is reported with its path
 * (`processors[2].image: expected an image reference, got "Not An Image"`).
 *
 * ```yaml
 * template: ./template          # relative to the spec file
 * processors:
 *   - { id: upper, image: acme/upper:1, globs: [{ glob: "**", type: template }], config: { x: 1 } }
 * plugins:
 *   - { id: license, image: acme/license:1 }
 * resolvers:
 *   - { id: json, image: acme/json-merge:1, files: ["**\/*.json"], config: { indent: 2 } }
 * options: { concurrency: 8, timeouts: { ready: 30s, call: 2m }, limits: { memory: 256m, cpus: 0.5 } }
 * ```
 *
 * @since 0.1.0
 */
import type { ImageRef, Names } from "@armada/core"
import type { FileSystem } from "@effect/platform"
import type { Effect, Schema } from "effect"
import * as decoding from "./internal/specDecode.js"
import * as loading from "./internal/specLoad.js"
import * as schema from "./internal/specSchema.js"
import * as units from "./internal/units.js"
import type { SpecError } from "./OrchestratorError.js"

/**
 * A duration: a number of milliseconds, or a string such as `"30s"`, `"2 minutes"`, `"500ms"`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DurationInput: typeof units.DurationInput = units.DurationInput

/**
 * A memory size: bytes, or a string such as `"512m"`, `"1g"`, `"256MiB"` (powers of 1024, as
 * `docker run --memory` reads them).
 *
 * @since 0.1.0
 * @category schemas
 */
export const MemorySize: typeof units.MemorySize = units.MemorySize

/**
 * @since 0.1.0
 * @category schemas
 */
export const Concurrency: typeof schema.Concurrency = schema.Concurrency

/**
 * Environment variables of a container: names to string values.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Env: typeof schema.Env = schema.Env

/**
 * The image armada's own merger runs by default: the reference test app.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMergerImage: ImageRef.ImageRef = schema.defaultMergerImage

/**
 * @since 0.1.0
 * @category schemas
 */
export const Processor: typeof schema.Processor = schema.Processor

/**
 * @since 0.1.0
 * @category models
 */
export interface Processor extends Schema.Schema.Type<typeof Processor> {}

/**
 * @since 0.1.0
 * @category schemas
 */
export const Plugin: typeof schema.Plugin = schema.Plugin

/**
 * @since 0.1.0
 * @category models
 */
export interface Plugin extends Schema.Schema.Type<typeof Plugin> {}

/**
 * A resolver settles the conflicts of the files its `files` globs match (paths relative to the
 * merge dir, picomatch rules): for each such file two or more processors wrote, it is sent every
 * version and its answer is written.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Resolver: typeof schema.Resolver = schema.Resolver

/**
 * @since 0.2.0
 * @category models
 */
export interface Resolver extends Schema.Schema.Type<typeof Resolver> {}

/**
 * Per-container resource limits: `memory` (bytes or `"256m"`), `cpus` (a fraction of a CPU, as
 * `docker run --cpus`), `pids` (the most processes).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Limits: typeof schema.Limits = schema.Limits

/**
 * @since 0.1.0
 * @category models
 */
export interface Limits extends Schema.Schema.Type<typeof Limits> {}

/**
 * `ready`: how long a container may take to answer its health check (default 60 s); `call`: how
 * long one processor, merger or plugin call may take (default 5 min).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Timeouts: typeof schema.Timeouts = schema.Timeouts

/**
 * `concurrency` (default `"cpus"`), `prefix` of every name and label, `keep` the containers and
 * volumes after the run, `pull` (when images are pulled: `missing`, the default, `always` or
 * `never`), `timeouts`, `limits`, `security` (`"default"` or `"strict"`, the
 * containers' capabilities: docs/protocol.md).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Options: typeof schema.Options = schema.Options

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends Schema.Schema.Type<typeof Options> {}

/**
 * For the no-Docker engine: the command that stands in for an image. Words that start with `./`
 * or `../` are paths relative to the spec's directory; `decode` makes them absolute.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LocalCommand: typeof schema.LocalCommand = schema.LocalCommand

/**
 * The spec as written in a file. `session` and `templateId` may be left out; `decode` fills them.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SpecFile: typeof schema.SpecFile = schema.SpecFile

/**
 * A decoded spec, ready to run: the session id chosen, the template an absolute path, its id
 * known, and every option defaulted.
 *
 * @since 0.1.0
 * @category models
 */
export interface Spec {
  readonly session: Names.Id
  /** An absolute path. */
  readonly template: string
  readonly templateId: Names.Id
  readonly processors: ReadonlyArray<Processor>
  readonly plugins: ReadonlyArray<Plugin>
  readonly resolvers: ReadonlyArray<Resolver>
  readonly merger: { readonly image: ImageRef.ImageRef; readonly env: Readonly<Record<string, string>> }
  readonly options: Options
  /** The catalog of the no-Docker engine: image → command. Carried through untouched. */
  readonly local: Readonly<Record<string, typeof LocalCommand.Type>>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface DecodeOptions {
  /** Relative paths (the template, `./` words of local commands) are resolved against this directory (the spec file's). */
  readonly baseDir: string
  /** Named in errors: the spec file. */
  readonly source?: string | undefined
}

/**
 * Decodes a spec from parsed YAML or JSON (or an object built in code). Every problem is listed
 * in the `SpecError`. A missing session id is generated (8 random lower-case letters and
 * digits); a missing `templateId` comes from the template directory's name.
 *
 * @since 0.1.0
 * @category constructors
 */
export const decode: (input: unknown, options: DecodeOptions) => Effect.Effect<Spec, SpecError> =
  decoding.decode

/**
 * Parses YAML or JSON text, then decodes it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parse: (
  text: string,
  options: DecodeOptions & { readonly format: "yaml" | "json" }
) => Effect.Effect<Spec, SpecError> = decoding.parse

/**
 * Reads a spec file (`.json` as JSON, anything else as YAML), decodes it with relative paths
 * resolved against the file's directory, and checks that the template directory exists.
 *
 * @since 0.1.0
 * @category constructors
 */
export const load: (file: string) => Effect.Effect<Spec, SpecError, FileSystem.FileSystem> = loading.load

/**
 * A fresh session id: a letter, then 7 letters or digits.
 *
 * @since 0.1.0
 * @category constructors
 */
export const generateSessionId: Effect.Effect<Names.Id> = decoding.generateSessionId
