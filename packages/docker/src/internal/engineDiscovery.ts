/**
 * The candidates, in the Docker CLI's order, and the probing of each with a ping.
 *
 * @internal
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { ContainerEngineError } from "@armada/engine"
import { Duration, Effect, Either, Option } from "effect"
import type { Candidate, Discovered, Endpoint, Report, Settings, Source, Tls } from "../EngineDiscovery.js"
import {
  type Attempt,
  type AttemptError,
  type EngineDiscoveryError,
  NoEngineFound
} from "../EngineDiscoveryError.js"
import { toAttemptError } from "./connectionError.js"
import * as ContextStore from "./contextStore.js"
import * as Endpoints from "./endpoint.js"
import { connect } from "./transport.js"

/** @internal */
export const address = Endpoints.address

/** @internal */
export const defaultPingTimeout = Duration.seconds(2)

/** @internal */
export const sshPingTimeout = Duration.seconds(15)

/** @internal */
export const pingTimeoutFor = (endpoint: Endpoint, timeout: Duration.DurationInput): Duration.Duration =>
  endpoint._tag === "Ssh" ? Duration.max(Duration.decode(timeout), sshPingTimeout) : Duration.decode(timeout)

/**
 * TLS for an address given by `--host` or `DOCKER_HOST`, as the Docker CLI decides it:
 * `DOCKER_TLS_VERIFY` → TLS verifying the engine against `ca.pem`; `DOCKER_TLS` → TLS without
 * verifying; else TLS only on port 2376 (the TLS port by convention, as docker-modem and
 * testcontainers have it). The client certificate is sent when `cert.pem` and `key.pem` exist.
 */
const environmentTls =
  (settings: Settings) =>
  (port: number | undefined): Tls | undefined => {
    if (!settings.tlsVerify && !settings.tls && port !== 2376) return undefined
    const file = (name: string) => path.join(settings.certPath, name)
    const present = (name: string) => (fs.existsSync(file(name)) ? file(name) : undefined)
    const pair = present("cert.pem") !== undefined && present("key.pem") !== undefined
    return {
      verify: settings.tlsVerify,
      // With verification the CA must be there; without, it is used only if it is.
      ca: settings.tlsVerify ? file("ca.pem") : present("ca.pem"),
      cert: pair ? file("cert.pem") : undefined,
      key: pair ? file("key.pem") : undefined,
      source: `DOCKER_CERT_PATH ${settings.certPath}`
    }
  }

const explicit = (
  source: Source,
  shown: string,
  why: string,
  endpoint: Either.Either<Endpoint, AttemptError>
): Candidate => ({
  source,
  address: Either.match(endpoint, { onLeft: () => shown, onRight: Endpoints.address }),
  explicit: true,
  why,
  endpoint: Either.merge(endpoint)
})

const socket = (source: Source, file: string, why: string): Candidate => ({
  source,
  address: `unix://${file}`,
  explicit: false,
  why,
  endpoint: { _tag: "Unix", path: file }
})

/** @internal */
export const candidates = (settings: Settings): Effect.Effect<ReadonlyArray<Candidate>> =>
  Effect.sync(() => {
    const fromEnvironment = environmentTls(settings)
    if (settings.host !== undefined) {
      return [
        explicit(
          "--host",
          settings.host,
          "--host was given",
          Endpoints.parse("--host", settings.host, fromEnvironment)
        )
      ]
    }
    if (settings.dockerHost !== undefined) {
      const overrides =
        settings.context === undefined ? "" : ` (it wins over DOCKER_CONTEXT=${settings.context})`
      return [
        explicit(
          "DOCKER_HOST",
          settings.dockerHost,
          `DOCKER_HOST is set${overrides}`,
          Endpoints.parse("DOCKER_HOST", settings.dockerHost, fromEnvironment)
        )
      ]
    }
    const named: Either.Either<{ name: string; source: Source; why: string } | undefined, AttemptError> =
      settings.context !== undefined
        ? Either.right({
            name: settings.context,
            source: "DOCKER_CONTEXT",
            why: `DOCKER_CONTEXT=${settings.context}`
          })
        : Either.map(ContextStore.currentContext(settings.configDir), (name) =>
            name === undefined
              ? undefined
              : {
                  name,
                  source: "currentContext" as const,
                  why: `the current context ${name} (${path.join(settings.configDir, "config.json")}, set by \`docker context use\`)`
                }
          )
    if (Either.isLeft(named)) {
      return [
        explicit(
          "currentContext",
          path.join(settings.configDir, "config.json"),
          "config.json",
          Either.left(named.left)
        )
      ]
    }
    const context = named.right
    if (context !== undefined && context.name !== "default") {
      const endpoint = Either.flatMap(ContextStore.load(settings.configDir, context.name), (loaded) =>
        Endpoints.parse(`the Docker endpoint of context ${context.name}`, loaded.host, () => loaded.tls)
      )
      return [explicit(context.source, `context ${context.name}`, context.why, endpoint)]
    }
    const runtime = settings.runtimeDir
    return [
      socket("default socket", "/var/run/docker.sock", "the default socket"),
      ...(runtime === undefined
        ? []
        : [socket("rootless Docker socket", path.join(runtime, "docker.sock"), "rootless Docker's socket")]),
      socket("Podman rootful socket", "/run/podman/podman.sock", "rootful Podman's socket"),
      ...(runtime === undefined
        ? []
        : [
            socket(
              "Podman rootless socket",
              path.join(runtime, "podman", "podman.sock"),
              "rootless Podman's socket"
            )
          ])
    ]
  })

const isEndpoint = (endpoint: Candidate["endpoint"]): endpoint is Endpoint =>
  endpoint._tag === "Unix" || endpoint._tag === "Tcp" || endpoint._tag === "Ssh"

/**
 * Pings `endpoint` over a client of its own, closed afterwards; answers how long it took.
 *
 * @internal
 */
export const ping = (endpoint: Endpoint, settings: Settings) =>
  Effect.scoped(
    Effect.gen(function* () {
      const timeout = pingTimeoutFor(endpoint, settings.pingTimeout ?? defaultPingTimeout)
      const connection = yield* connect(endpoint, {
        home: settings.home,
        sshAuthSock: settings.sshAuthSock,
        timeout
      })
      const context = {
        address: connection.address,
        operation: "ping",
        kind: "engine" as const,
        name: connection.address
      }
      const noAnswer = () =>
        new ContainerEngineError.EngineUnreachable({
          address: connection.address,
          detail: `no answer within ${Duration.format(timeout)}`
        })
      // Interrupted or timed out, the request goes with the scope's agent and its sockets.
      const [took] = yield* Effect.tryPromise({
        try: () => connection.docker.ping(),
        catch: toAttemptError(endpoint, context)
      }).pipe(Effect.timeoutFail({ duration: timeout, onTimeout: noAnswer }), Effect.timed)
      return Math.round(Duration.toMillis(took))
    })
  )

const reasonFor = (candidate: Candidate, attempts: ReadonlyArray<Attempt>): string => {
  if (candidate.explicit) return candidate.why
  const before =
    attempts.length === 0 ? "" : ` (after ${attempts.map((attempt) => attempt.source).join(", ")} did not)`
  return `no engine named by --host, DOCKER_HOST, DOCKER_CONTEXT or a current context; ${candidate.why} answered${before}`
}

/** @internal */
export const report = (settings: Settings): Effect.Effect<Report> =>
  Effect.gen(function* () {
    const all = yield* candidates(settings)
    const attempts: Array<Attempt> = []
    for (const candidate of all) {
      const endpoint = candidate.endpoint
      if (!isEndpoint(endpoint)) {
        attempts.push({ source: candidate.source, address: candidate.address, error: endpoint })
        continue
      }
      const answered = yield* Effect.either(ping(endpoint, settings))
      if (Either.isRight(answered)) {
        const discovered: Discovered = {
          source: candidate.source,
          address: candidate.address,
          endpoint,
          reason: reasonFor(candidate, attempts),
          millis: answered.right
        }
        return { discovered: Option.some(discovered), attempts, explicit: candidate.explicit }
      }
      attempts.push({ source: candidate.source, address: candidate.address, error: answered.left })
    }
    return { discovered: Option.none(), attempts, explicit: all.some((candidate) => candidate.explicit) }
  })

/** @internal */
export const discover = (settings: Settings): Effect.Effect<Discovered, EngineDiscoveryError> =>
  Effect.flatMap(report(settings), (found): Effect.Effect<Discovered, EngineDiscoveryError> => {
    if (Option.isSome(found.discovered)) return Effect.succeed(found.discovered.value)
    const [only] = found.attempts
    return found.explicit && only !== undefined
      ? Effect.fail(only.error)
      : Effect.fail(new NoEngineFound({ attempts: found.attempts }))
  })
