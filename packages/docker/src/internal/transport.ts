/**
 * How an `Endpoint` is reached: `unix://` and plain `tcp://` directly, TLS and ssh through a
 * dialer (`tls.connect` with the TLS material; an exec channel of one SSH connection), and a
 * dockerode client over either for a ping, scoped so its sockets close with the scope.
 *
 * @internal
 */
import * as fs from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import type * as stream from "node:stream"
import * as tls from "node:tls"
import { inspect } from "node:util"
import { Interruption } from "@armada/core"
import type Docker from "dockerode"
import { Duration, Effect, type Scope } from "effect"
import type { Endpoint, Tls } from "../EngineDiscovery.js"
import { type EngineSshError, EngineTlsError } from "../EngineDiscoveryError.js"
import { address } from "./endpoint.js"
import * as SshTransport from "./sshTransport.js"

/**
 * dockerode, loaded by the first client made: with docker-modem it brings ssh2, gRPC and protobuf
 * (BuildKit sessions), a large part of the CLI for the commands that never reach an engine
 * (`--version`, `run --server`) to read at start.
 *
 * @internal
 */
export const loadDockerode: Effect.Effect<typeof Docker> = Effect.promise(() =>
  import("dockerode").then((module) => module.default)
)

/** @internal */
export interface Connection {
  readonly docker: Docker
  readonly address: string
}

/** @internal */
export interface TransportSettings {
  /** The home folder (`~/.ssh`). */
  readonly home: string
  readonly sshAuthSock: string | undefined
  /** How long an SSH handshake may take. */
  readonly timeout: Duration.DurationInput
}

/**
 * docker-modem renders every request's options with util.inspect (debug output or not): the agent,
 * sockets and all (without this, ~10 ms of CPU per request), and the abort signal (~0.2 ms).
 *
 * @internal
 */
export const cheapToInspect = <A extends object>(value: A, name: string): A => {
  Object.defineProperty(value, inspect.custom, { value: () => `[${name}]` })
  return value
}

/**
 * An HTTP agent whose sockets are closed with the scope.
 *
 * @internal
 */
export const scopedAgent = <A extends http.Agent>(make: () => A) =>
  Interruption.acquireRelease(Effect.sync(make), (agent) => Effect.sync(() => agent.destroy()))

/**
 * Describes where the trusted CA comes from, for errors.
 *
 * @internal
 */
export const caSource = (tls: Tls): string =>
  tls.ca === undefined ? `the system's CAs (no ca.pem in ${tls.source})` : tls.ca

const readMaterial = (at: string, tls: Tls) =>
  Effect.try({
    try: () => {
      const read = (file: string | undefined) => (file === undefined ? undefined : fs.readFileSync(file))
      if (tls.verify && tls.ca === undefined && tls.source.startsWith("DOCKER_CERT_PATH")) {
        throw new Error(`DOCKER_TLS_VERIFY is set but there is no ca.pem in ${tls.source}`)
      }
      return { ca: read(tls.ca), cert: read(tls.cert), key: read(tls.key) }
    },
    catch: (error) =>
      new EngineTlsError({
        address: at,
        reason: "Material",
        ca: caSource(tls),
        detail:
          (error as NodeJS.ErrnoException).code === "ENOENT"
            ? `${(error as NodeJS.ErrnoException).path} does not exist (${tls.source})`
            : error instanceof Error
              ? error.message
              : String(error)
      })
  })

/**
 * Every connection option is set, even to `undefined`, because docker-modem fills anything
 * missing from the process's own `DOCKER_HOST`, `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`,
 * which must not override ours.
 */
const unset = {
  ca: undefined,
  cert: undefined,
  key: undefined,
  socketPath: undefined,
  host: undefined,
  port: undefined
}

/**
 * Opens one connection that carries the engine's HTTP API. The connection's own failures (a TLS
 * handshake, a dropped SSH channel) are its `error` events, or the promise's rejection.
 *
 * @internal
 */
export type Dial = () => Promise<stream.Duplex>

/**
 * How to reach a TLS or ssh engine, one connection at a time; none for `unix://` and plain
 * `tcp://`, which Node reaches by itself. Reads the TLS material, or the ssh keys and
 * `known_hosts`, now; closes the SSH connection with the scope.
 *
 * @internal
 */
export const dialer = (
  endpoint: Endpoint,
  settings: TransportSettings
): Effect.Effect<Dial | undefined, EngineTlsError | EngineSshError, Scope.Scope> =>
  Effect.gen(function* () {
    const at = address(endpoint)
    switch (endpoint._tag) {
      case "Unix":
        return undefined
      case "Tcp": {
        const verification = endpoint.tls
        if (verification === undefined) return undefined
        const material = yield* readMaterial(at, verification)
        const options: tls.ConnectionOptions = {
          host: endpoint.host,
          port: endpoint.port,
          // SNI takes names only; an IP address is checked against the certificate's IP SANs.
          ...(net.isIP(endpoint.host) === 0 ? { servername: endpoint.host } : {}),
          rejectUnauthorized: verification.verify,
          ...(material.ca === undefined ? {} : { ca: material.ca }),
          ...(material.cert === undefined ? {} : { cert: material.cert }),
          ...(material.key === undefined ? {} : { key: material.key })
        }
        return () => Promise.resolve(tls.connect(options))
      }
      case "Ssh":
        return yield* SshTransport.dialer({
          user: endpoint.user,
          host: endpoint.host,
          port: endpoint.port,
          home: settings.home,
          agentSocket: settings.sshAuthSock,
          readyTimeout: Duration.toMillis(Duration.decode(settings.timeout)),
          address: at
        })
    }
  })

/** An HTTP agent whose connections are dialled, one request each (an SSH channel has no TCP keep-alive to set). */
class DialAgent extends http.Agent {
  constructor(private readonly dial: Dial) {
    super({ keepAlive: false })
  }

  override createConnection(
    _options: http.ClientRequestArgs,
    callback?: (error: Error | null, socket: stream.Duplex) => void
  ): undefined {
    const done = callback ?? (() => undefined)
    this.dial().then(
      (socket) => done(null, socket),
      (error: Error) => done(error, undefined as unknown as stream.Duplex)
    )
    return undefined
  }
}

/**
 * A client for `endpoint`, for a ping: its transport's failures reach the request as they are,
 * for `connectionError.ts` to type.
 *
 * @internal
 */
export const connect = (
  endpoint: Endpoint,
  settings: TransportSettings
): Effect.Effect<Connection, EngineTlsError | EngineSshError, Scope.Scope> =>
  Effect.gen(function* () {
    const dial = yield* dialer(endpoint, settings)
    const Dockerode = yield* loadDockerode
    const agent = yield* scopedAgent(() =>
      cheapToInspect(
        dial === undefined ? new http.Agent({ keepAlive: true }) : new DialAgent(dial),
        "http.Agent"
      )
    )
    const target =
      endpoint._tag === "Unix"
        ? { socketPath: endpoint.path }
        : endpoint._tag === "Tcp"
          ? { host: endpoint.host, port: endpoint.port }
          : // The host is only the request's Host header: the dialled channel is the connection.
            { host: "docker", port: 80 }
    // `agent` is a docker-modem option its types leave out; the transport is the agent's, so the
    // protocol is always HTTP.
    const options: Record<string, unknown> = { ...unset, ...target, protocol: "http", agent }
    return { docker: new Dockerode(options as Docker.DockerOptions), address: address(endpoint) }
  })
