/**
 * Registry credentials, found the way the Docker CLI finds them: the config file
 * (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`) names a credential helper for the
 * registry (`credHelpers`), else a credential store for all registries (`credsStore`), else holds
 * the credentials itself (`auths`). Helpers are run as `docker-credential-<name> get`.
 *
 * Secrets are `Redacted` from the moment they are read: they print as `<redacted>` in logs,
 * events, errors, spans and results, and only the request to the engine unwraps them.
 *
 * @since 0.2.0
 */
import type { CommandExecutor, FileSystem, Path } from "@effect/platform"
import {
  Config,
  type ConfigError,
  Context,
  Duration,
  Effect,
  Layer,
  Option,
  type Redacted,
  Schema
} from "effect"
import type { CredentialsError } from "./CredentialsError.js"
import * as internal from "./internal/credentials.js"

/**
 * The credentials for one registry, as the engine receives them (`X-Registry-Auth`).
 *
 * @since 0.2.0
 * @category models
 */
export interface RegistryAuth {
  /** The key the credentials are kept under: `host[:port]`, or Docker Hub's `https://index.docker.io/v1/`. */
  readonly serverAddress: string
  readonly username: string | undefined
  readonly password: Redacted.Redacted | undefined
  readonly identityToken: Redacted.Redacted | undefined
}

/**
 * Where a registry's credentials come from; never the secret itself.
 *
 * @since 0.2.0
 * @category models
 */
export const Source = Schema.Union(
  /** Nothing configured: pulls go without credentials. */
  Schema.TaggedStruct("Anonymous", {}),
  /** An `auths` entry of the config file at `path`, under `key`. */
  Schema.TaggedStruct("ConfigFile", { path: Schema.String, key: Schema.String }),
  /** `credHelpers[key]`: `docker-credential-<helper>` for this registry. */
  Schema.TaggedStruct("CredentialHelper", { helper: Schema.String, key: Schema.String }),
  /** `credsStore`: `docker-credential-<helper>` for every registry without a helper of its own. */
  Schema.TaggedStruct("CredentialStore", { helper: Schema.String })
)

/**
 * @since 0.2.0
 * @category models
 */
export type Source = typeof Source.Type

/**
 * A source in words, for a person: `auths["127.0.0.1:5000"] in /home/me/.docker/config.json`.
 *
 * @since 0.2.0
 * @category getters
 */
export const describeSource = (source: Source): string => {
  switch (source._tag) {
    case "Anonymous":
      return "none (anonymous)"
    case "ConfigFile":
      return `auths[${JSON.stringify(source.key)}] in ${source.path}`
    case "CredentialHelper":
      return `docker-credential-${source.helper} (credHelpers[${JSON.stringify(source.key)}])`
    case "CredentialStore":
      return `docker-credential-${source.helper} (credsStore)`
  }
}

/**
 * @since 0.2.0
 * @category models
 */
export declare namespace Credentials {
  /**
   * @since 0.2.0
   * @category models
   */
  export interface Service {
    /**
     * Which source would give the credentials for `registry` (a host as `ImageRef.registryOf`
     * gives it: `docker.io`, `127.0.0.1:5000`). Reads the config file; runs no helper.
     */
    readonly source: (registry: string) => Effect.Effect<Source, CredentialsError>
    /** The credentials for `registry`, running its helper if the config names one; none when anonymous. */
    readonly lookup: (registry: string) => Effect.Effect<Option.Option<RegistryAuth>, CredentialsError>
  }
}

/**
 * No credentials for any registry: every pull goes anonymous. What `Credentials` gives when no
 * layer provides it.
 *
 * @since 0.2.0
 * @category constructors
 */
export const anonymous: Credentials.Service = {
  source: () => Effect.succeed({ _tag: "Anonymous" }),
  lookup: () => Effect.succeedNone
}

/**
 * Where the Docker engine's pulls get their credentials. Optional: without a layer, it is
 * `anonymous`; `layerConfig()` reads them the way the Docker CLI does.
 *
 * @since 0.2.0
 * @category tags
 */
export class Credentials extends Context.Reference<Credentials>()("@armada/docker/Credentials", {
  defaultValue: () => anonymous
}) {}

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** The folder holding `config.json`. Default `~/.docker`. */
  readonly directory?: string | undefined
  /** How long a credential helper may take to answer. Default 30 seconds. */
  readonly helperTimeout?: Duration.DurationInput | undefined
}

/**
 * `DOCKER_CONFIG`, as the Docker CLI reads it (unset or empty: `~/.docker`).
 *
 * @since 0.2.0
 * @category config
 */
export const config: Config.Config<Options> = Config.map(
  Config.option(Config.string("DOCKER_CONFIG")),
  (directory) => ({
    // An empty DOCKER_CONFIG means the default, as for the CLI.
    directory: Option.getOrUndefined(Option.filter(directory, (d) => d !== ""))
  })
)

/**
 * The service. The config file is read on every call, so a `docker login` made while armada
 * runs is seen by its next pull.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<
  Credentials.Service,
  never,
  FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor
> =>
  internal.make({
    directory: options.directory,
    helperTimeout: Duration.decode(options.helperTimeout ?? "30 seconds")
  })

/**
 * @since 0.2.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<Credentials, never, FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor> =>
  Layer.effect(Credentials, make(options))

/**
 * The layer configured from `config` (by default `DOCKER_CONFIG`).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config<Options> = config
): Layer.Layer<
  Credentials,
  ConfigError.ConfigError,
  FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor
> => Layer.effect(Credentials, Effect.flatMap(options, make))
