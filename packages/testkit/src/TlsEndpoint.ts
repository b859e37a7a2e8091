/**
 * The test's Docker engine behind TLS with client-certificate verification, the way a remote
 * engine is exposed (`dockerd --tlsverify`): `socat` terminates TLS on a free 127.0.0.1 port,
 * asks every client for a certificate signed by the test's CA, and forwards to the engine's
 * socket. The certificates are made by the test with `openssl`, in a temp folder laid out as
 * `DOCKER_CERT_PATH` expects (`ca.pem`, `cert.pem`, `key.pem`).
 *
 * Everything is scoped: socat is stopped by its PID and the folder removed when the scope closes.
 *
 * @since 0.2.0
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect, Option, type Scope } from "effect"
import { isCI } from "./Engine.js"
import { accepts, daemon, FixtureError, freePort, run, tempDir, writeFile } from "./internal/daemon.js"

export { FixtureError }

const fixture = "TlsEndpoint"

/**
 * @since 0.2.0
 * @category constants
 */
export const tools = { socat: "socat", openssl: "openssl" } as const

/**
 * A folder as `DOCKER_CERT_PATH` expects it.
 *
 * @since 0.2.0
 * @category models
 */
export interface CertPath {
  readonly dir: string
  readonly ca: string
  readonly cert: string
  readonly key: string
}

/**
 * @since 0.2.0
 * @category models
 */
export interface TlsEndpoint {
  /** `tcp://127.0.0.1:<port>`. */
  readonly host: string
  readonly port: number
  /** socat's PID. */
  readonly pid: number
  /** The CA that signed the server's certificate, and a client certificate it signed. */
  readonly certPath: CertPath
  /** The same client certificate, but the `ca.pem` of another CA: the server is not trusted. */
  readonly wrongCaPath: CertPath
}

const which = (tool: string): boolean =>
  (process.env.PATH ?? "")
    .split(path.delimiter)
    .some((dir) => dir !== "" && fs.existsSync(path.join(dir, tool)))

/**
 * Why TLS endpoint tests cannot run here, if they cannot.
 *
 * @since 0.2.0
 * @category getters
 */
export const missingTools = (): Option.Option<string> => {
  const missing = Object.values(tools).filter((tool) => !which(tool))
  return missing.length === 0
    ? Option.none()
    : Option.some(
        `${missing.join(" and ")} missing; install with \`apt-get install -y ${missing.join(" ")}\``
      )
}

/**
 * True when the tests must be skipped (tools missing, not in CI); throws in CI, where `.ci/run`
 * installs them and a skip would hide a broken setup.
 *
 * @since 0.2.0
 * @category getters
 */
export const skipWithoutTools = (suite: string): boolean => {
  const missing = missingTools()
  if (Option.isNone(missing)) return false
  if (isCI()) throw new Error(`${suite}: CI=true but ${missing.value}`)
  process.stderr.write(`\n!!! SKIPPING ${suite}: ${missing.value}.\n!!! CI always runs these tests.\n\n`)
  return true
}

const openssl = (step: string, args: ReadonlyArray<string>) => run(fixture, step, tools.openssl, args)

/** A new P-256 key and a self-signed CA certificate. */
const makeCa = (dir: string, name: string) =>
  Effect.gen(function* () {
    const key = path.join(dir, `${name}-key.pem`)
    const cert = path.join(dir, `${name}.pem`)
    yield* openssl(`make the CA ${name}`, [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "2",
      "-subj",
      `/CN=armada test ${name}`
    ])
    return { key, cert }
  })

/** A new key and a certificate for it signed by `ca`, with the extensions given. */
const issue = (
  dir: string,
  name: string,
  ca: { readonly key: string; readonly cert: string },
  subject: string,
  extensions: string
) =>
  Effect.gen(function* () {
    const key = path.join(dir, `${name}-key.pem`)
    const request = path.join(dir, `${name}.csr`)
    const cert = path.join(dir, `${name}-cert.pem`)
    const extfile = path.join(dir, `${name}.ext`)
    yield* writeFile(fixture, extfile, extensions)
    yield* openssl(`request the ${name} certificate`, [
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      request,
      "-subj",
      subject
    ])
    yield* openssl(`sign the ${name} certificate`, [
      "x509",
      "-req",
      "-in",
      request,
      "-CA",
      ca.cert,
      "-CAkey",
      ca.key,
      "-set_serial",
      String(Date.now()),
      "-days",
      "2",
      "-extfile",
      extfile,
      "-out",
      cert
    ])
    return { key, cert }
  })

/** `ca.pem`, `cert.pem` and `key.pem` in `dir`. */
const certPath = (
  dir: string,
  material: { readonly ca: string; readonly cert: string; readonly key: string }
) =>
  Effect.gen(function* () {
    const layout: CertPath = {
      dir,
      ca: path.join(dir, "ca.pem"),
      cert: path.join(dir, "cert.pem"),
      key: path.join(dir, "key.pem")
    }
    for (const [from, to] of [
      [material.ca, layout.ca],
      [material.cert, layout.cert],
      [material.key, layout.key]
    ] as const) {
      yield* writeFile(fixture, to, fs.readFileSync(from))
    }
    return layout
  })

/**
 * Makes the certificates and starts the terminator in front of `socket` (default the engine's
 * `/var/run/docker.sock`). The server certificate is for `127.0.0.1` and `localhost`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const start = (
  options: { readonly socket?: string } = {}
): Effect.Effect<TlsEndpoint, FixtureError, Scope.Scope> =>
  Effect.gen(function* () {
    const dir = yield* tempDir(fixture, "tls")
    const work = path.join(dir, "work")
    fs.mkdirSync(work)
    const ca = yield* makeCa(work, "ca")
    const other = yield* makeCa(work, "other-ca")
    const server = yield* issue(
      work,
      "server",
      ca,
      "/CN=127.0.0.1",
      "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
    )
    const client = yield* issue(work, "client", ca, "/CN=armada-test-client", "extendedKeyUsage=clientAuth\n")
    const good = yield* certPath(path.join(dir, "client"), { ca: ca.cert, ...client })
    const wrong = yield* certPath(path.join(dir, "wrong-ca"), { ca: other.cert, ...client })
    const port = yield* freePort(fixture)
    const target = options.socket ?? "/var/run/docker.sock"
    const socat = yield* daemon(
      fixture,
      tools.socat,
      [
        `OPENSSL-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork,cert=${server.cert},key=${server.key},cafile=${ca.cert},verify=1`,
        `UNIX-CONNECT:${target}`
      ],
      { ready: accepts(port) }
    )
    return { host: `tcp://127.0.0.1:${port}`, port, pid: socat.pid, certPath: good, wrongCaPath: wrong }
  })
