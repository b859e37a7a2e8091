/**
 * The readiness probe: a minimal HTTP/1.1 `GET /` on a fresh TCP connection, read up to the status
 * line and closed. It is the one request armada sends many times per container, so it skips the
 * HTTP client (about 1-2.5 ms of CPU per request under Effect's `HttpClient`, against well under
 * 0.1 ms here): no pool, no body, no headers parsed.
 *
 * @internal
 */
import * as Net from "node:net"
import { Duration, Effect, Exit } from "effect"
import type { Endpoint } from "../ProcessorError.js"
import { describeCause } from "./error.js"

/** A status line longer than this is not HTTP (a status line is ~17 bytes, its reason aside). */
const statusLineBytes = 1024

const statusLine = /^HTTP\/1\.[01] (\d{3})(?: |$)/

type Target = { readonly host: string; readonly port: number; readonly request: string } | string

/** Host and port of an `http:` URL and the request to send there, or why it cannot be probed. */
const parse = (url: string): Target => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return `invalid URL ${JSON.stringify(url)}`
  }
  if (parsed.protocol !== "http:") return `cannot probe ${JSON.stringify(url)}: only http: URLs are supported`
  // `URL` keeps an IPv6 host in brackets; `net.connect` wants it bare.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1")
  const port = parsed.port === "" ? 80 : Number(parsed.port)
  return { host, port, request: `GET / HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: close\r\n\r\n` }
}

/**
 * Each endpoint's target, parsed once: a wait probes one endpoint (the same object) some tens of
 * times, and parsing its URL was ~6% of a probe's CPU in a profile. Held weakly, for a server
 * that waits for endpoints all its life.
 */
const targets = new WeakMap<Endpoint, Target>()

const target = (endpoint: Endpoint): Target => {
  const known = targets.get(endpoint)
  if (known !== undefined) return known
  const parsed = parse(endpoint.url)
  targets.set(endpoint, parsed)
  return parsed
}

/**
 * Why a probe gave up: no status line came within `timeout`.
 *
 * @internal
 */
export const noAnswer = (timeout: Duration.Duration): string =>
  `no answer within ${Duration.toMillis(timeout)} ms`

/**
 * One probe of `endpoint`, told to `done` once: success on `200`, else a failure with why not (a
 * refused, reset or closed connection, another status, something that is not HTTP, no status line
 * within `timeout`). Plain callbacks, for the readiness loop; the returned function abandons the
 * probe and closes its connection, and `done` is not called after it. The timeout is a plain timer.
 *
 * @internal
 */
export const sendProbe = (
  endpoint: Endpoint,
  timeout: Duration.Duration,
  done: (outcome: Exit.Exit<void, string>) => void
): (() => void) => {
  const to = target(endpoint)
  if (typeof to === "string") {
    done(Exit.fail(to))
    return () => {}
  }
  let head = ""
  let settled = false
  const socket = Net.connect({ host: to.host, port: to.port, noDelay: true })
  const timer = setTimeout(() => settle(Exit.fail(noAnswer(timeout))), Duration.toMillis(timeout))
  const settle = (outcome: Exit.Exit<void, string>) => {
    if (settled) return
    settled = true
    clearTimeout(timer)
    socket.destroy()
    done(outcome)
  }
  socket.setEncoding("latin1")
  socket.on("connect", () => {
    socket.write(to.request)
  })
  socket.on("data", (chunk: string) => {
    head += chunk
    const end = head.indexOf("\n")
    if (end === -1) {
      if (head.length > statusLineBytes) settle(Exit.fail("the answer is not HTTP"))
      return
    }
    const line = head.slice(0, end).replace(/\r$/, "")
    const match = statusLine.exec(line)
    if (match === null) settle(Exit.fail(`the answer is not HTTP: ${JSON.stringify(line.slice(0, 80))}`))
    else if (match[1] === "200") settle(Exit.void)
    else settle(Exit.fail(`HTTP ${match[1]}`))
  })
  socket.on("error", (error) => settle(Exit.fail(describeCause(error))))
  // docker-proxy accepts the connection for a container whose app does not listen yet, then closes it.
  socket.on("close", () => settle(Exit.fail("connection closed before an answer")))
  return () => {
    settled = true
    clearTimeout(timer)
    socket.destroy()
  }
}

/**
 * `sendProbe` as an effect: the default `ReadinessProbe`. Interrupting it closes the connection.
 *
 * @internal
 */
export const probeSocket = (endpoint: Endpoint, timeout: Duration.Duration): Effect.Effect<void, string> =>
  Effect.async<void, string>((resume) => {
    const abandon = sendProbe(endpoint, timeout, resume)
    return Effect.sync(abandon)
  })
