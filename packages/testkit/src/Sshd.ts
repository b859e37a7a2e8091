/**
 * An OpenSSH server on a free 127.0.0.1 port (Debian's `openssh-server`), for `ssh://` engines:
 * its own config, host key and authorized key, all made by the test in a temp folder, and run as
 * `sshd -D -f <config>`. The remote user is the current one (root here), whose login runs
 * `docker system dial-stdio` against this machine's engine, as the Docker CLI's ssh transport
 * does.
 *
 * `home` is a home folder for the client: `.ssh/id_ed25519` (authorized) and `.ssh/known_hosts`
 * (naming the server's host key), so a child run with `HOME=<home>` finds both where ssh does.
 *
 * Everything is scoped: sshd is stopped by its PID and the folder removed when the scope closes.
 *
 * @since 0.2.0
 */
import * as fs from "node:fs"
import { userInfo } from "node:os"
import * as path from "node:path"
import { Effect, Option, type Scope } from "effect"
import { isCI } from "./Engine.js"
import { accepts, daemon, FixtureError, freePort, run, tempDir, writeFile } from "./internal/daemon.js"

export { FixtureError }

const fixture = "Sshd"

/**
 * @since 0.2.0
 * @category constants
 */
export const tools = { sshd: "/usr/sbin/sshd", keygen: "ssh-keygen" } as const

/**
 * @since 0.2.0
 * @category models
 */
export interface Sshd {
  /** `ssh://<user>@127.0.0.1:<port>`. */
  readonly host: string
  readonly user: string
  readonly port: number
  readonly pid: number
  /** A home folder with `.ssh/id_ed25519` and `.ssh/known_hosts` for this server. */
  readonly home: string
  /** The `known_hosts` line for this server (`[127.0.0.1]:<port> ssh-ed25519 …`). */
  readonly knownHostsLine: string
  /** A `known_hosts` line naming this server with another key, as after a server was replaced. */
  readonly wrongKnownHostsLine: string
}

/**
 * Why sshd tests cannot run here, if they cannot.
 *
 * @since 0.2.0
 * @category getters
 */
export const missingTools = (): Option.Option<string> =>
  fs.existsSync(tools.sshd)
    ? Option.none()
    : Option.some(`${tools.sshd} is missing; install it with \`apt-get install -y openssh-server\``)

/**
 * True when the tests must be skipped (sshd missing, not in CI); throws in CI.
 *
 * @since 0.2.0
 * @category getters
 */
export const skipWithoutSshd = (suite: string): boolean => {
  const missing = missingTools()
  if (Option.isNone(missing)) return false
  if (isCI()) throw new Error(`${suite}: CI=true but ${missing.value}`)
  process.stderr.write(`\n!!! SKIPPING ${suite}: ${missing.value}.\n!!! CI always runs these tests.\n\n`)
  return true
}

/** A new ed25519 key pair at `file` / `file.pub`; answers the public key line. */
const keygen = (file: string, comment: string) =>
  run(fixture, `make the key ${path.basename(file)}`, tools.keygen, [
    "-q",
    "-t",
    "ed25519",
    "-N",
    "",
    "-C",
    comment,
    "-f",
    file
  ]).pipe(Effect.map(() => fs.readFileSync(`${file}.pub`, "utf8").trim()))

/** The key type and base64 of a public key line, without its comment. */
const keyOf = (line: string): string => line.split(" ").slice(0, 2).join(" ")

/**
 * sshd refuses to start without its privilege separation folder; the package makes it only when
 * its service starts, which the tests never do. Made here when missing, removed again after.
 */
const privilegeSeparationDir = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = "/run/sshd"
    if (fs.existsSync(dir)) return undefined
    fs.mkdirSync(dir, { mode: 0o755 })
    return dir
  }),
  (made) => Effect.sync(() => made !== undefined && fs.rmSync(made, { recursive: true, force: true }))
)

/**
 * Makes the keys and config and starts sshd.
 *
 * @since 0.2.0
 * @category constructors
 */
export const start: Effect.Effect<Sshd, FixtureError, Scope.Scope> = Effect.gen(function* () {
  const dir = yield* tempDir(fixture, "sshd")
  const server = path.join(dir, "server")
  const home = path.join(dir, "home")
  const sshDir = path.join(home, ".ssh")
  fs.mkdirSync(server, { mode: 0o700 })
  fs.mkdirSync(sshDir, { recursive: true, mode: 0o700 })

  const hostKey = yield* keygen(path.join(server, "host_key"), "armada-test-host")
  const otherHostKey = yield* keygen(path.join(server, "other_host_key"), "armada-test-other-host")
  const clientKey = yield* keygen(path.join(sshDir, "id_ed25519"), "armada-test-client")
  yield* writeFile(fixture, path.join(server, "authorized_keys"), `${clientKey}\n`)

  const port = yield* freePort(fixture)
  const user = userInfo().username
  const config = path.join(server, "sshd_config")
  yield* writeFile(
    fixture,
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${path.join(server, "host_key")}`,
      `PidFile ${path.join(server, "sshd.pid")}`,
      `AuthorizedKeysFile ${path.join(server, "authorized_keys")}`,
      `AllowUsers ${user}`,
      "PermitRootLogin prohibit-password",
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      // The temp folder's modes are the test's, not a home's.
      "StrictModes no",
      "LogLevel VERBOSE",
      ""
    ].join("\n")
  )
  const knownHostsLine = `[127.0.0.1]:${port} ${keyOf(hostKey)}`
  const wrongKnownHostsLine = `[127.0.0.1]:${port} ${keyOf(otherHostKey)}`
  yield* writeFile(fixture, path.join(sshDir, "known_hosts"), `${knownHostsLine}\n`)

  yield* privilegeSeparationDir
  const sshd = yield* daemon(fixture, tools.sshd, ["-D", "-e", "-f", config], { ready: accepts(port) })
  return {
    host: `ssh://${user}@127.0.0.1:${port}`,
    user,
    port,
    pid: sshd.pid,
    home,
    knownHostsLine,
    wrongKnownHostsLine
  }
})
