/**
 * Real image registries for tests: Debian's `docker-registry` (the distribution registry, v2.8)
 * started on a free 127.0.0.1 port with its config and storage in a temp folder, open or with
 * htpasswd basic auth. The Docker engine allows plain HTTP to 127.0.0.0/8 registries, so no TLS
 * is needed. Images are pushed with the `docker` CLI, the way a user would push them.
 *
 * Everything is scoped: the registry process is stopped by its PID and its folder removed when
 * the scope closes.
 *
 * @since 0.2.0
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { Data, Effect, Option, Schedule, type Scope } from "effect"
import { isCI } from "./Engine.js"
import * as Daemon from "./internal/daemon.js"

/**
 * @since 0.2.0
 * @category errors
 */
export class RegistryError extends Data.TaggedError("RegistryError")<{
  readonly step: string
  readonly detail: string
}> {
  override get message(): string {
    return `test registry: ${this.step} failed: ${this.detail}`
  }
}

/**
 * @since 0.2.0
 * @category models
 */
export interface BasicAuth {
  readonly username: string
  readonly password: string
}

/**
 * A running registry.
 *
 * @since 0.2.0
 * @category models
 */
export interface Registry {
  /** `127.0.0.1:<port>`: the host part of its image references. */
  readonly address: string
  readonly pid: number
  /** The user it accepts, when it requires one. */
  readonly auth: Option.Option<BasicAuth>
  /** `<address>/<name>`. */
  readonly ref: (name: string) => string
}

/**
 * The registry binary and the htpasswd tool (Debian's `docker-registry` and `apache2-utils`).
 *
 * @since 0.2.0
 * @category constants
 */
export const tools = { registry: "/usr/bin/docker-registry", htpasswd: "/usr/bin/htpasswd" } as const

/**
 * Why registry tests cannot run here, if they cannot: the registry binary or htpasswd is missing.
 *
 * @since 0.2.0
 * @category getters
 */
export const missingTools = (): Option.Option<string> => {
  const missing = Object.values(tools).filter((tool) => !fs.existsSync(tool))
  return missing.length === 0
    ? Option.none()
    : Option.some(
        `${missing.join(" and ")} ${missing.length === 1 ? "is" : "are"} missing; install them with \`apt-get install -y docker-registry apache2-utils\``
      )
}

/**
 * True when registry tests must be skipped: the registry is not installed, and not in CI. Throws
 * in CI, where `.ci/run` installs it and a skipped test would hide a broken setup; prints a
 * warning when skipping.
 *
 * @since 0.2.0
 * @category getters
 */
export const skipWithoutRegistry = (suite: string): boolean => {
  const missing = missingTools()
  if (Option.isNone(missing)) return false
  if (isCI()) throw new Error(`${suite}: CI=true but ${missing.value}`)
  process.stderr.write(`\n!!! SKIPPING ${suite}: ${missing.value}.\n!!! CI always runs these tests.\n\n`)
  return true
}

/** A failure of the shared fixture tools, as this module reports it. */
const fromFixture = (error: Daemon.FixtureError) =>
  new RegistryError({ step: error.step, detail: error.detail })

/** Runs `command args`, feeding `input`; fails with its stderr unless it exits 0. Interruption kills it. */
const run = (step: string, command: string, args: ReadonlyArray<string>, input?: string) =>
  Effect.mapError(
    Daemon.run("registry", step, command, args, input === undefined ? {} : { input }),
    fromFixture
  )

const docker = (step: string, args: ReadonlyArray<string>, input?: string) => run(step, "docker", args, input)

/** A port that was free a moment ago (the registry binds it next; a lost race is retried). */
const freePort = Effect.mapError(Daemon.freePort("registry"), fromFixture)

const makeFolder = Effect.mapError(Daemon.tempDir("registry", "registry"), fromFixture)

/** The child's exit, once it happens (also when it happened already). */
const exited = (child: ChildProcess) =>
  Effect.async<number | null>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.succeed(child.exitCode))
    child.once("exit", (code) => resume(Effect.succeed(code)))
    // A process that could not be spawned never exits.
    child.once("error", () => resume(Effect.succeed(null)))
  })

/** Starts the registry process; the scope stops it by PID (SIGTERM, then SIGKILL after 5 s). */
const serve = (configFile: string, logFile: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const log = fs.openSync(logFile, "a")
      try {
        return spawn(tools.registry, ["serve", configFile], { stdio: ["ignore", log, log] })
      } finally {
        fs.closeSync(log)
      }
    }),
    (child) =>
      Effect.suspend(() => {
        if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined)
          return Effect.void
        process.kill(child.pid, "SIGTERM")
        return exited(child).pipe(
          Effect.timeoutTo({
            duration: "5 seconds",
            onSuccess: () => Effect.void,
            onTimeout: () =>
              Effect.sync(() => {
                if (child.pid !== undefined) process.kill(child.pid, "SIGKILL")
              })
          }),
          Effect.flatten
        )
      })
  )

const logTail = (logFile: string): string =>
  fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").trim().split("\n").slice(-10).join("\n") : ""

/** Answers once `/v2/` answers at all (200 open, 401 with auth). */
const answers = (address: string) =>
  Effect.tryPromise({
    try: (signal) => fetch(`http://${address}/v2/`, { signal }),
    catch: (error) => new RegistryError({ step: "wait for /v2/", detail: String(error) })
  }).pipe(Effect.asVoid)

const startOnce = (folder: string, options: Options) =>
  Effect.gen(function* () {
    const port = yield* freePort
    const address = `127.0.0.1:${port}`
    const configFile = path.join(folder, `config-${port}.yml`)
    const logFile = path.join(folder, `registry-${port}.log`)
    const htpasswd = path.join(folder, "htpasswd")
    if (options.auth !== undefined) {
      const { stdout } = yield* run("hash the password (htpasswd -B)", tools.htpasswd, [
        "-Bbn",
        options.auth.username,
        options.auth.password
      ])
      fs.writeFileSync(htpasswd, stdout)
    }
    // YAML is a superset of JSON.
    const config = {
      version: "0.1",
      log: { level: "warn", accesslog: { disabled: true } },
      storage: { filesystem: { rootdirectory: path.join(folder, "data") }, delete: { enabled: true } },
      http: { addr: address, secret: randomBytes(16).toString("hex") },
      ...(options.auth === undefined ? {} : { auth: { htpasswd: { realm: "armada-test", path: htpasswd } } })
    }
    fs.writeFileSync(configFile, JSON.stringify(config, null, 2))
    const child = yield* serve(configFile, logFile)
    const notServing = exited(child).pipe(
      Effect.flatMap((code) =>
        Effect.fail(
          new RegistryError({ step: `start on ${address}`, detail: `exited ${code}: ${logTail(logFile)}` })
        )
      )
    )
    const ready = answers(address).pipe(
      Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("30 seconds"))),
      Effect.mapError(
        (error) =>
          new RegistryError({
            step: `start on ${address}`,
            detail: `${error.detail}; log: ${logTail(logFile)}`
          })
      )
    )
    yield* Effect.raceFirst(ready, notServing)
    return {
      address,
      pid: child.pid!,
      auth: Option.fromNullable(options.auth),
      ref: (name: string) => `${address}/${name}`
    }
  })

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** Require this user (htpasswd, bcrypt). Default: open. */
  readonly auth?: BasicAuth | undefined
}

/**
 * Starts a registry on a free 127.0.0.1 port and waits until `/v2/` answers. Stopped (by PID) and
 * its storage removed when the scope closes.
 *
 * @since 0.2.0
 * @category constructors
 */
export const start = (options: Options = {}): Effect.Effect<Registry, RegistryError, Scope.Scope> =>
  Option.match(missingTools(), {
    onSome: (detail) => Effect.fail(new RegistryError({ step: "start", detail })),
    onNone: () =>
      Effect.flatMap(makeFolder, (folder) =>
        // Another process may take the free port before the registry binds it: try another.
        startOnce(folder, options).pipe(
          Effect.retry({ times: 2, while: (error) => /address already in use/.test(error.detail) })
        )
      )
  })

/**
 * Runs `docker args...` with a `DOCKER_CONFIG` folder of its own logged in to `registry` (when it
 * requires a user), so the user's own Docker config is neither read nor written.
 */
const withLogin = <A>(
  registry: Registry,
  use: (configArgs: ReadonlyArray<string>) => Effect.Effect<A, RegistryError>
): Effect.Effect<A, RegistryError> =>
  Option.match(registry.auth, {
    onNone: () => use([]),
    onSome: (auth) =>
      Effect.scoped(
        Effect.gen(function* () {
          const folder = yield* makeFolder
          const configArgs = ["--config", folder]
          yield* docker(
            `docker login ${registry.address}`,
            [...configArgs, "login", "--username", auth.username, "--password-stdin", registry.address],
            auth.password
          )
          return yield* use(configArgs)
        })
      )
  })

/**
 * What a push made: the reference by tag and the same image by digest.
 *
 * @since 0.2.0
 * @category models
 */
export interface Pushed {
  /** `<address>/<name>`, e.g. `127.0.0.1:5000/team/proc:v1`. */
  readonly tag: string
  /** `<address>/<repository>@sha256:…`. */
  readonly digest: string
}

/**
 * Pushes each local `image` as `<address>/<name>` (`docker tag` + `docker push`), a few at a time,
 * and removes the tags it made again: the local copy under its own name stays for the caller to
 * remove (`removeLocal`), so a pull later goes over the wire.
 *
 * @since 0.2.0
 * @category combinators
 */
export const push = (
  registry: Registry,
  images: ReadonlyArray<{ readonly image: string; readonly name: string }>
): Effect.Effect<Array<Pushed>, RegistryError> =>
  withLogin(registry, (configArgs) =>
    Effect.forEach(
      images,
      ({ image, name }) => {
        const tag = registry.ref(name)
        return Effect.acquireUseRelease(
          docker(`docker tag ${image}`, ["tag", image, tag]),
          () => docker(`docker push ${tag}`, [...configArgs, "push", tag]),
          () => Effect.ignore(docker(`docker rmi ${tag}`, ["rmi", tag]))
        ).pipe(
          Effect.flatMap(({ stdout }) => {
            const digest = /digest: (sha256:[a-f0-9]{64})/.exec(stdout)
            if (digest === null) {
              return Effect.fail(
                new RegistryError({ step: `docker push ${tag}`, detail: `no digest in: ${stdout}` })
              )
            }
            const repository = tag.replace(/:[\w][\w.-]*$/, "")
            return Effect.succeed({ tag, digest: `${repository}@${digest[1]}` })
          })
        )
      },
      { concurrency: 4 }
    )
  )

/**
 * The label every image built here carries.
 *
 * @since 0.2.0
 * @category constants
 */
export const imageLabel = "armada.testkit=registry"

/**
 * Builds `tag`: `from` (default `scratch`) plus one layer holding `bytes` random bytes, so no two
 * such images share that layer.
 *
 * @since 0.2.0
 * @category constructors
 */
export const buildImage = (options: {
  readonly tag: string
  readonly bytes: number
  readonly from?: string | undefined
}): Effect.Effect<string, RegistryError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const context = yield* makeFolder
      fs.writeFileSync(path.join(context, "blob"), randomBytes(options.bytes))
      fs.writeFileSync(
        path.join(context, "Dockerfile"),
        `FROM ${options.from ?? "scratch"}\nCOPY blob /armada-blob\nLABEL ${imageLabel}\n`
      )
      yield* docker(`docker build ${options.tag}`, ["build", "--quiet", "--tag", options.tag, context])
      return options.tag
    })
  )

/**
 * Removes these local images (by reference; one that is absent is fine), so that pulling them
 * again must fetch them from a registry.
 *
 * @since 0.2.0
 * @category combinators
 */
export const removeLocal = (refs: ReadonlyArray<string>): Effect.Effect<void, RegistryError> =>
  refs.length === 0
    ? Effect.void
    : docker("docker rmi", ["rmi", ...refs]).pipe(
        Effect.catchIf(
          (error) => /No such image/i.test(error.detail) && !/conflict|being used/i.test(error.detail),
          () => Effect.void
        ),
        Effect.asVoid
      )
