/**
 * Engine addresses as the Docker CLI writes them (`unix://`, `tcp://`, `ssh://`, a bare socket
 * path) parsed into an `Endpoint`, and printed back.
 *
 * @internal
 */
import { userInfo } from "node:os"
import { InputError } from "@armada/core"
import { Either } from "effect"
import type { Endpoint, Tls } from "../EngineDiscovery.js"

/** @internal */
export const address = (endpoint: Endpoint): string => {
  switch (endpoint._tag) {
    case "Unix":
      return `unix://${endpoint.path}`
    case "Tcp":
      return `tcp://${endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`
    case "Ssh":
      return `ssh://${endpoint.user}@${endpoint.host}${endpoint.port === 22 ? "" : `:${endpoint.port}`}`
  }
}

/** The port of `tcp://` without one: 2376 with TLS, 2375 without, as the Docker CLI has it. */
const defaultTcpPort = (tls: boolean): number => (tls ? 2376 : 2375)

const expected =
  "expected unix:///path/to/docker.sock, tcp://host[:port], ssh://[user@]host[:port] or a socket path"

/**
 * Parses `host` (named `field` in errors). `tlsFor(port)` says what TLS a `tcp://` address gets,
 * given its port (or `undefined` when it has none: then it decides the default port).
 *
 * @internal
 */
export const parse = (
  field: string,
  host: string,
  tlsFor: (port: number | undefined) => Tls | undefined
): Either.Either<Endpoint, InputError> => {
  const fail = (reason: string) => Either.left(new InputError({ field, value: host, reason }))
  if (host.startsWith("/")) return Either.right({ _tag: "Unix", path: host })
  if (host.startsWith("unix://")) {
    const socket = host.slice("unix://".length)
    return socket.startsWith("/") ? Either.right({ _tag: "Unix", path: socket }) : fail(expected)
  }
  if (host.startsWith("npipe://")) return fail("Windows named pipes (npipe://) are not supported")
  const tcp = /^tcp:\/\/([^:/[\]]+|\[[0-9a-fA-F:.]+\])(?::(\d{1,5}))?\/?$/.exec(host)
  if (tcp !== null) {
    const given = tcp[2] === undefined ? undefined : Number(tcp[2])
    if (given !== undefined && (given < 1 || given > 65535)) return fail("the port must be 1 to 65535")
    const tls = tlsFor(given)
    return Either.right({
      _tag: "Tcp",
      host: tcp[1]!.replace(/^\[|\]$/g, ""),
      port: given ?? defaultTcpPort(tls !== undefined),
      tls
    })
  }
  if (host.startsWith("ssh://")) {
    const ssh = /^ssh:\/\/(?:([^@/:]+)@)?([^:/@[\]]+|\[[0-9a-fA-F:.]+\])(?::(\d{1,5}))?\/?$/.exec(host)
    if (ssh === null) return fail("expected ssh://[user@]host[:port], with no path")
    const port = ssh[3] === undefined ? 22 : Number(ssh[3])
    if (port < 1 || port > 65535) return fail("the port must be 1 to 65535")
    return Either.right({
      _tag: "Ssh",
      user: ssh[1] ?? userInfo().username,
      host: ssh[2]!.replace(/^\[|\]$/g, ""),
      port
    })
  }
  return fail(expected)
}
