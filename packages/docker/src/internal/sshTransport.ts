/**
 * `ssh://` the way the Docker CLI does it: per HTTP connection an exec channel running
 * `docker system dial-stdio` on the remote host, whose stdin/stdout carry the engine's API, over
 * SSH connections kept for the client's life (ten channels each, OpenSSH's `MaxSessions`).
 * docker-modem has an ssh transport too, but it opens a new SSH connection for every request and
 * checks no host key; this one keeps its connections and checks the server's host key against
 * `known_hosts` before anything is sent.
 *
 * Keys, as `ssh` tries them: the agent at `SSH_AUTH_SOCK`, then `~/.ssh/id_ed25519`, `id_ecdsa`
 * and `id_rsa` (those without a passphrase).
 *
 * @internal
 */
import * as fs from "node:fs"
import * as path from "node:path"
import type * as stream from "node:stream"
import { Interruption } from "@armada/core"
import { Effect, type Scope } from "effect"
import type { AnyAuthMethod, Client, ConnectConfig, ServerHostKeyAlgorithm } from "ssh2"
import { EngineSshError } from "../EngineDiscoveryError.js"
import * as KnownHosts from "./knownHosts.js"

/**
 * A failure of the ssh transport, raised inside the HTTP client and mapped to `EngineSshError`
 * in `connectionError.ts`.
 *
 * @internal
 */
export class SshFailure extends Error {
  constructor(
    readonly reason: EngineSshError["reason"],
    readonly detail: string
  ) {
    super(`${reason}: ${detail}`)
  }
}

/** @internal */
export interface SshSettings {
  readonly user: string
  readonly host: string
  readonly port: number
  readonly home: string
  readonly agentSocket: string | undefined
  /** How long the SSH handshake may take. */
  readonly readyTimeout: number
  /** The address for messages. */
  readonly address: string
}

/**
 * ssh2, loaded by the first ssh transport: only an `ssh://` engine needs it, and it is a large
 * module for every other command to read. It is CommonJS, and Node's ESM loader finds only some of
 * its exports by name (Client, not utils): both come from the default export, the module itself.
 */
type Ssh2 = typeof import("ssh2")

const loadSsh2: Effect.Effect<Ssh2> = Effect.promise(() => import("ssh2").then((module) => module.default))

const identityFiles = ["id_ed25519", "id_ecdsa", "id_rsa"]

/** `known_hosts` files, as `ssh` reads them: the user's, then the system's. */
const knownHostsFiles = (home: string) => [path.join(home, ".ssh", "known_hosts"), "/etc/ssh/ssh_known_hosts"]

const readIfPresent = (file: string): string | undefined => {
  try {
    return fs.readFileSync(file, "utf8")
  } catch {
    return undefined
  }
}

/** The host key algorithms ssh2 offers for each key type a host may be recorded with. */
const algorithmsFor = (keyType: string): Array<ServerHostKeyAlgorithm> =>
  keyType === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [keyType as ServerHostKeyAlgorithm]

/**
 * The agent and key files to try, in order; `NoKey` when there is neither an agent nor a key
 * file that opens without a passphrase.
 */
const authMethods = (
  ssh2: Ssh2,
  settings: SshSettings
): Effect.Effect<Array<AnyAuthMethod>, EngineSshError> =>
  Effect.suspend(() => {
    const methods: Array<AnyAuthMethod> = []
    const skipped: Array<string> = []
    if (settings.agentSocket !== undefined) {
      methods.push({ type: "agent", username: settings.user, agent: settings.agentSocket })
    }
    for (const name of identityFiles) {
      const file = path.join(settings.home, ".ssh", name)
      const text = readIfPresent(file)
      if (text === undefined) continue
      const parsed = ssh2.utils.parseKey(text)
      if (parsed instanceof Error) {
        skipped.push(`${file}: ${parsed.message}`)
        continue
      }
      methods.push({ type: "publickey", username: settings.user, key: text })
    }
    if (methods.length > 0) return Effect.succeed(methods)
    const looked = `no SSH_AUTH_SOCK, and no usable key among ${identityFiles.map((name) => path.join(settings.home, ".ssh", name)).join(", ")}`
    return Effect.fail(
      new EngineSshError({
        address: settings.address,
        reason: "NoKey",
        detail: skipped.length === 0 ? looked : `${looked} (${skipped.join("; ")})`
      })
    )
  })

const describeMethods = (methods: ReadonlyArray<AnyAuthMethod>, settings: SshSettings): string =>
  methods
    .map((method) =>
      method.type === "agent"
        ? `the agent at ${settings.agentSocket}`
        : `a key from ${path.join(settings.home, ".ssh")}`
    )
    .join(", ")

/**
 * How many channels one SSH connection carries at once: OpenSSH's default `MaxSessions`. A server
 * refuses more, so more connections at once take another SSH connection.
 */
const channelsPerConnection = 10

interface Connection {
  readonly client: Promise<Client>
  channels: number
}

/**
 * SSH connections (made as dials need them, dropped when they close) and per dial an exec channel
 * running `docker system dial-stdio`, at most `channelsPerConnection` on each connection.
 */
class SshDialer {
  private connections: Array<Connection> = []
  private closed = false

  constructor(
    private readonly ssh2: Ssh2,
    private readonly settings: SshSettings,
    private readonly methods: ReadonlyArray<AnyAuthMethod>,
    private readonly knownHosts: { readonly files: ReadonlyArray<string>; readonly text: string }
  ) {}

  /** A connection with a channel to spare, a new one when none has. */
  private connection(): Connection {
    const spare = this.connections.find((connection) => connection.channels < channelsPerConnection)
    if (spare !== undefined) return spare
    const connection: Connection = { client: this.connect(() => this.drop(connection)), channels: 0 }
    this.connections.push(connection)
    return connection
  }

  private drop(connection: Connection): void {
    this.connections = this.connections.filter((other) => other !== connection)
  }

  /** Connects, checking the host key; `gone` runs when the connection fails or closes. */
  private connect(gone: () => void): Promise<Client> {
    const { settings, methods } = this
    const entries = KnownHosts.parse(this.knownHosts.text)
    const name = KnownHosts.hostName(settings.host, settings.port)
    const files = this.knownHosts.files.join(" or ")
    const knownTypes = KnownHosts.knownTypes(entries, name)
    const connecting = new Promise<Client>((resolve, reject) => {
      const client = new this.ssh2.Client()
      let refused: SshFailure | undefined
      const config: ConnectConfig = {
        host: settings.host,
        port: settings.port,
        username: settings.user,
        readyTimeout: settings.readyTimeout,
        authHandler: [...methods],
        hostVerifier: (key: Buffer) => {
          const verdict = KnownHosts.check(entries, name, key)
          if (verdict._tag === "Known") return true
          refused =
            verdict._tag === "Unknown"
              ? new SshFailure(
                  "UnknownHost",
                  verdict.otherTypes.length === 0
                    ? `${files} (as ${name})`
                    : `${files} (as ${name}, known there only by ${verdict.otherTypes.join(", ")} keys)`
                )
              : new SshFailure("HostKeyMismatch", `${files} (as ${name})`)
          return false
        },
        ...(knownTypes.length === 0
          ? {}
          : { algorithms: { serverHostKey: knownTypes.flatMap(algorithmsFor) } })
      }
      client.once("ready", () => resolve(client))
      client.on("error", (error: Error & { level?: string }) => {
        gone()
        if (refused !== undefined) return reject(refused)
        if (error.level === "client-authentication") {
          return reject(
            new SshFailure("Authentication", `${settings.user}, with ${describeMethods(methods, settings)}`)
          )
        }
        reject(error)
      })
      client.once("close", gone)
      client.connect(config)
    })
    connecting.catch(() => undefined)
    return connecting
  }

  /** A channel carrying the engine's API; fails with an `SshFailure` or the connection's error. */
  dial(): Promise<stream.Duplex> {
    if (this.closed) return Promise.reject(new Error("the ssh transport is closed"))
    const connection = this.connection()
    connection.channels += 1
    const release = () => {
      connection.channels -= 1
    }
    return connection.client.then(
      (client) =>
        new Promise<stream.Duplex>((resolve, reject) =>
          client.exec("docker system dial-stdio", (error, channel) => {
            if (error !== undefined && error !== null) {
              release()
              reject(new SshFailure("RemoteCommand", error.message))
              return
            }
            channel.once("close", release)
            let stderr = ""
            channel.stderr.on("data", (chunk: Buffer) => {
              stderr = (stderr + chunk.toString("utf8")).slice(-2000)
            })
            channel.once("exit", (code: number | null) => {
              if (code === 0 || code === null) return
              // The channel's own destroy takes no error: a request still on it hears the failure
              // as its socket's error (with none left, nobody listens, and nothing is lost).
              if (channel.listenerCount("error") > 0) {
                channel.emit(
                  "error",
                  new SshFailure("RemoteCommand", `exit status ${code}: ${stderr.trim() || "no output"}`)
                )
              }
              channel.destroy()
            })
            resolve(channel)
          })
        ),
      (error: unknown) => {
        release()
        throw error
      }
    )
  }

  close(): void {
    this.closed = true
    for (const connection of this.connections) {
      connection.client.then(
        (client) => client.end(),
        () => undefined
      )
    }
  }
}

/**
 * Dials the engine over ssh, one SSH connection closed when the scope closes. Reads the keys and
 * `known_hosts` now; connects on the first dial.
 *
 * @internal
 */
export const dialer = (
  settings: SshSettings
): Effect.Effect<() => Promise<stream.Duplex>, EngineSshError, Scope.Scope> =>
  Effect.gen(function* () {
    const ssh2 = yield* loadSsh2
    const methods = yield* authMethods(ssh2, settings)
    const files = knownHostsFiles(settings.home)
    const text = files.map((file) => readIfPresent(file) ?? "").join("\n")
    const ssh = yield* Interruption.acquireRelease(
      Effect.sync(() => new SshDialer(ssh2, settings, methods, { files, text })),
      (ssh) => Effect.sync(() => ssh.close())
    )
    return () => ssh.dial()
  })
