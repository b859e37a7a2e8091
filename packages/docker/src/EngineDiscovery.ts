/**
 * Finds the Docker engine the way the Docker CLI and testcontainers do, and says why it took it.
 *
 * The order:
 * 1. `--host` (`Settings.host`), else `DOCKER_HOST`: that address and nothing else;
 * 2. `DOCKER_CONTEXT`, else the `currentContext` of `$DOCKER_CONFIG/config.json` (default
 *    `~/.docker`), unless it is `default`: that context's Docker endpoint, with its TLS material;
 * 3. otherwise the first of these sockets that answers a ping: the default socket
 *    `/var/run/docker.sock`, rootless Docker's `$XDG_RUNTIME_DIR/docker.sock`, rootful Podman's
 *    `/run/podman/podman.sock`, rootless Podman's `$XDG_RUNTIME_DIR/podman/podman.sock`.
 *
 * An engine the user named (1 or 2) is the only one tried: armada never falls back from it to
 * another engine, and its own error (`EngineTlsError`, `EngineSshError`, `EngineUnreachable`, …)
 * is the error. When none of the sockets of 3 answers, `NoEngineFound` lists each with its error.
 *
 * Addresses are `unix:///path`, `tcp://host[:port]` (TLS as the Docker CLI decides it: see
 * `Settings`) and `ssh://[user@]host[:port]`, which runs `docker system dial-stdio` on the host.
 *
 * @since 0.2.0
 */
import { homedir } from "node:os"
import * as path from "node:path"
import { Config, type Duration, type Effect, Option } from "effect"
import type { Attempt, EngineDiscoveryError } from "./EngineDiscoveryError.js"
import * as internal from "./internal/engineDiscovery.js"

/**
 * TLS for a `tcp://` engine: whether the server's certificate is verified, and the paths of the
 * CA, client certificate and key to use (none read yet). `source` says where they came from.
 *
 * @since 0.2.0
 * @category models
 */
export interface Tls {
  readonly verify: boolean
  readonly ca: string | undefined
  readonly cert: string | undefined
  readonly key: string | undefined
  readonly source: string
}

/**
 * Where an engine is and how to reach it.
 *
 * @since 0.2.0
 * @category models
 */
export type Endpoint =
  | { readonly _tag: "Unix"; readonly path: string }
  | { readonly _tag: "Tcp"; readonly host: string; readonly port: number; readonly tls: Tls | undefined }
  | { readonly _tag: "Ssh"; readonly user: string; readonly host: string; readonly port: number }

/**
 * What chose a candidate.
 *
 * @since 0.2.0
 * @category models
 */
export type Source =
  | "--host"
  | "DOCKER_HOST"
  | "DOCKER_CONTEXT"
  | "currentContext"
  | "default socket"
  | "rootless Docker socket"
  | "Podman rootful socket"
  | "Podman rootless socket"

/**
 * One engine discovery may try. `endpoint` is the error when the setting cannot be used (an
 * address that does not parse, a context that does not exist).
 *
 * @since 0.2.0
 * @category models
 */
export interface Candidate {
  readonly source: Source
  readonly address: string
  /** True when the user named it (flag, variable, context): then it is the only one tried. */
  readonly explicit: boolean
  readonly why: string
  readonly endpoint: Endpoint | Attempt["error"]
}

/**
 * The engine taken: its candidate, why, and how long its ping took.
 *
 * @since 0.2.0
 * @category models
 */
export interface Discovered {
  readonly source: Source
  readonly address: string
  readonly endpoint: Endpoint
  readonly reason: string
  readonly millis: number
}

/**
 * Everything discovery did: the engine taken (if one answered) and every candidate tried before
 * it that did not answer, in order.
 *
 * @since 0.2.0
 * @category models
 */
export interface Report {
  readonly discovered: Option.Option<Discovered>
  readonly attempts: ReadonlyArray<Attempt>
  readonly explicit: boolean
}

/**
 * What discovery reads, by default from the environment (`settings`).
 *
 * @since 0.2.0
 * @category models
 */
export interface Settings {
  /** `--host`: wins over everything. */
  readonly host?: string | undefined
  /** `DOCKER_HOST`. */
  readonly dockerHost?: string | undefined
  /** `DOCKER_CONTEXT`. */
  readonly context?: string | undefined
  /** `DOCKER_CONFIG`, default `~/.docker`: `config.json` and the context store. */
  readonly configDir: string
  /** `DOCKER_TLS_VERIFY` set: TLS, verifying the engine's certificate against `ca.pem`. */
  readonly tlsVerify: boolean
  /** `DOCKER_TLS` set: TLS without verifying the engine (as `docker --tls`). */
  readonly tls: boolean
  /** `DOCKER_CERT_PATH`, default `~/.docker`: `ca.pem`, `cert.pem`, `key.pem`. */
  readonly certPath: string
  /** `XDG_RUNTIME_DIR`, where rootless engines put their sockets. */
  readonly runtimeDir?: string | undefined
  /** The home folder: `~/.ssh` for the ssh transport. */
  readonly home: string
  /** `SSH_AUTH_SOCK`: the ssh agent, tried before the key files. */
  readonly sshAuthSock?: string | undefined
  /** How long each candidate has to answer its ping (an ssh one at least 15 s). Default 2 seconds. */
  readonly pingTimeout?: Duration.DurationInput | undefined
}

const optionalString = (name: string) =>
  Config.string(name).pipe(
    Config.option,
    Config.map((value) => Option.getOrUndefined(Option.filter(value, (text) => text !== "")))
  )

/**
 * The settings from the environment: `DOCKER_HOST`, `DOCKER_CONTEXT`, `DOCKER_CONFIG`,
 * `DOCKER_TLS_VERIFY`, `DOCKER_TLS`, `DOCKER_CERT_PATH`, `XDG_RUNTIME_DIR`, `HOME`,
 * `SSH_AUTH_SOCK`. An empty variable counts as unset, as for the Docker CLI.
 *
 * @since 0.2.0
 * @category config
 */
export const settings: Config.Config<Settings> = Config.all({
  dockerHost: optionalString("DOCKER_HOST"),
  context: optionalString("DOCKER_CONTEXT"),
  dockerConfig: optionalString("DOCKER_CONFIG"),
  tlsVerify: optionalString("DOCKER_TLS_VERIFY"),
  tls: optionalString("DOCKER_TLS"),
  certPath: optionalString("DOCKER_CERT_PATH"),
  runtimeDir: optionalString("XDG_RUNTIME_DIR"),
  home: optionalString("HOME"),
  sshAuthSock: optionalString("SSH_AUTH_SOCK")
}).pipe(
  Config.map((env): Settings => {
    const home = env.home ?? homedir()
    return {
      dockerHost: env.dockerHost,
      context: env.context,
      configDir: env.dockerConfig ?? path.join(home, ".docker"),
      tlsVerify: env.tlsVerify !== undefined,
      tls: env.tls !== undefined,
      certPath: env.certPath ?? path.join(home, ".docker"),
      runtimeDir: env.runtimeDir,
      home,
      sshAuthSock: env.sshAuthSock
    }
  })
)

/**
 * The address as a user writes it: `unix:///path`, `tcp://host:port`, `ssh://user@host:port`.
 *
 * @since 0.2.0
 * @category getters
 */
export const address: (endpoint: Endpoint) => string = internal.address

/**
 * Every candidate, in the order they are tried; only the first when the user named one.
 *
 * @since 0.2.0
 * @category constructors
 */
export const candidates: (settings: Settings) => Effect.Effect<ReadonlyArray<Candidate>> = internal.candidates

/**
 * Tries the candidates in order until one answers a ping; never fails.
 *
 * @since 0.2.0
 * @category constructors
 */
export const report: (settings: Settings) => Effect.Effect<Report> = internal.report

/**
 * The engine to use, or why there is none.
 *
 * @since 0.2.0
 * @category constructors
 */
export const discover: (settings: Settings) => Effect.Effect<Discovered, EngineDiscoveryError> =
  internal.discover

/**
 * The default time a candidate has to answer.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultPingTimeout: Duration.Duration = internal.defaultPingTimeout

/**
 * How long `endpoint` has to answer a ping, given the usual `timeout`: an ssh engine has at least
 * 15 seconds, for the SSH handshake and the start of `docker system dial-stdio` on its host.
 *
 * @since 0.2.0
 * @category getters
 */
export const pingTimeoutFor: (endpoint: Endpoint, timeout: Duration.DurationInput) => Duration.Duration =
  internal.pingTimeoutFor
