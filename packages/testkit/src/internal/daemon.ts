/**
 * What the engine fixtures (TLS endpoint, sshd, Podman, OTLP receiver) share: running a tool,
 * a free port, a temp folder removed with the scope, and a daemon started in the scope and
 * stopped by its PID when the scope closes.
 *
 * @internal
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Clock, Data, Duration, Effect, Option, Schedule, type Scope } from "effect"
import { isCI } from "../Engine.js"

/**
 * A fixture that could not be set up: which one, at which step, and what the tool said.
 *
 * @internal
 */
export class FixtureError extends Data.TaggedError("FixtureError")<{
  readonly fixture: string
  readonly step: string
  readonly detail: string
}> {
  override get message(): string {
    return `test fixture ${this.fixture}: ${this.step} failed: ${this.detail}`
  }
}

/** @internal */
export interface Output {
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs `command args` to its end; fails with its stderr unless it exits 0. Interruption kills it.
 *
 * @internal
 */
export const run = (
  fixture: string,
  step: string,
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly input?: string | Buffer; readonly env?: NodeJS.ProcessEnv } = {}
): Effect.Effect<Output, FixtureError> =>
  Effect.async<Output, FixtureError>((resume) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], env: options.env ?? process.env })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => {
      stdout += chunk
    })
    child.stderr.on("data", (chunk) => {
      stderr += chunk
    })
    child.on("error", (error) =>
      resume(Effect.fail(new FixtureError({ fixture, step, detail: error.message })))
    )
    child.on("close", (code, signal) =>
      resume(
        code === 0
          ? Effect.succeed({ stdout, stderr })
          : Effect.fail(
              new FixtureError({
                fixture,
                step,
                detail: `${command} ${args.join(" ")} exited ${code ?? signal}: ${stderr.trim() || stdout.trim()}`
              })
            )
      )
    )
    // A tool that exits without reading its input closes the pipe: its exit code says why.
    child.stdin.on("error", () => undefined)
    child.stdin.end(options.input ?? "")
    return Effect.sync(() => {
      child.kill("SIGKILL")
    })
  })

/**
 * A 127.0.0.1 port that was free a moment ago.
 *
 * @internal
 */
export const freePort = (fixture: string): Effect.Effect<number, FixtureError> =>
  Effect.async<number, FixtureError>((resume) => {
    const server = net.createServer()
    server.once("error", (error) =>
      resume(Effect.fail(new FixtureError({ fixture, step: "find a free port", detail: error.message })))
    )
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resume(Effect.succeed(port)))
    })
  })

/**
 * Whether something accepts connections on 127.0.0.1:`port`.
 *
 * @internal
 */
export const accepts = (port: number): Effect.Effect<boolean> =>
  Effect.async<boolean>((resume) => {
    const socket = net.connect({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed(true))
    })
    socket.once("error", () => resume(Effect.succeed(false)))
    return Effect.sync(() => socket.destroy())
  })

/**
 * A folder under the system's temp folder, removed with everything in it when the scope closes.
 *
 * @internal
 */
export const tempDir = (fixture: string, prefix: string): Effect.Effect<string, FixtureError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.try({
      try: () => fs.mkdtempSync(path.join(tmpdir(), `armada-${prefix}-`)),
      catch: (error) => new FixtureError({ fixture, step: "make a temp folder", detail: String(error) })
    }),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

/**
 * @internal
 */
export const writeFile = (fixture: string, file: string, content: string | Buffer, mode = 0o600) =>
  Effect.try({
    try: () => {
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(file, content, { mode })
    },
    catch: (error) => new FixtureError({ fixture, step: `write ${file}`, detail: String(error) })
  })

/**
 * A process running in the background.
 *
 * @internal
 */
export interface Daemon {
  readonly pid: number
  /** What it printed so far (stdout and stderr), for error messages. */
  readonly output: () => string
}

/** Signals the process group `pid` leads; nothing to do when it is already gone. */
const signalGroup = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pid, signal)
  } catch {
    // already gone
  }
}

/** How long a daemon has to answer once started, and to exit once asked to. */
const readyWithin = Duration.seconds(60)
const exitWithin = Duration.seconds(10)

/**
 * Starts `command args` and waits until `ready` holds (asked every 50 ms), failing if the process
 * exits first or `ready` does not hold within a minute. It leads a process group of its own, so
 * the children it forks per connection (socat, sshd) go with it: when the scope closes the group
 * is sent SIGTERM by the daemon's PID, then SIGKILL if the daemon has not exited within 10 s. A
 * daemon that ended by itself gets no signal, and its end is written to stderr.
 *
 * @internal
 */
export const daemon = (
  fixture: string,
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly ready: Effect.Effect<boolean>; readonly env?: NodeJS.ProcessEnv }
): Effect.Effect<Daemon, FixtureError, Scope.Scope> =>
  Effect.gen(function* () {
    // A process runs in real time, also in a test whose clock is the TestClock.
    const clock = Clock.make()
    const started = yield* Effect.acquireRelease(
      Effect.try({
        try: () => {
          const child = spawn(command, args, {
            stdio: ["ignore", "pipe", "pipe"],
            env: options.env ?? process.env,
            detached: true
          })
          let output = ""
          let exited: string | undefined
          const collect = (chunk: Buffer) => {
            output = (output + chunk.toString("utf8")).slice(-8192)
          }
          child.stdout.on("data", collect)
          child.stderr.on("data", collect)
          child.on("error", (error) => {
            exited = error.message
          })
          child.on("exit", (code, signal) => {
            exited = `exited ${code ?? signal}`
          })
          if (child.pid === undefined) throw new Error(`${command} did not start`)
          return {
            pid: child.pid,
            output: () => output,
            exited: () => exited,
            waitExit: new Promise<void>((resolve) => child.once("close", () => resolve()))
          }
        },
        catch: (error) => new FixtureError({ fixture, step: `start ${command}`, detail: String(error) })
      }),
      (started) =>
        Effect.gen(function* () {
          // A daemon that ended by itself is reaped: its group's number may be another process's
          // by now (pid_max is 32768 here), so it gets no signal. Its end is said out loud, since
          // the test that used it most likely failed of it.
          const ended = started.exited()
          if (ended !== undefined) {
            process.stderr.write(
              `\n!!! ${fixture}: ${command} (pid ${started.pid}) ${ended} before the test was done with it: ${started.output().trim()}\n\n`
            )
            return
          }
          signalGroup(started.pid, "SIGTERM")
          const exited = yield* Effect.promise(() => started.waitExit).pipe(
            Effect.timeout(exitWithin),
            Effect.option
          )
          // Its pipes still open: a process of its group holds them, and with it the group's number.
          if (exited._tag === "None") signalGroup(started.pid, "SIGKILL")
        })
    )
    const notYet = new FixtureError({ fixture, step: "wait until it answers", detail: "not yet" })
    yield* Effect.suspend(() => {
      const exited = started.exited()
      if (exited !== undefined) {
        return Effect.fail(
          new FixtureError({
            fixture,
            step: `start ${command} ${args.join(" ")}`,
            detail: `${exited}: ${started.output().trim()}`
          })
        )
      }
      return Effect.flatMap(options.ready, (ready) => (ready ? Effect.void : Effect.fail(notYet)))
    }).pipe(
      Effect.retry({
        schedule: Schedule.spaced(Duration.millis(50)),
        while: (error) => error === notYet
      }),
      Effect.timeoutFail({
        duration: readyWithin,
        onTimeout: () =>
          new FixtureError({
            fixture,
            step: "wait until it answers",
            detail: `no answer within ${Duration.format(readyWithin)}: ${started.output().trim()}`
          })
      }),
      Effect.withClock(clock)
    )
    return { pid: started.pid, output: started.output }
  })

/**
 * Whether a suite that needs the tools `missing` names must skip: never in CI (it throws, naming
 * what is missing), elsewhere with a loud message on stderr.
 *
 * @internal
 */
export const skipWithoutTools = (suite: string, missing: Option.Option<string>): boolean => {
  if (Option.isNone(missing)) return false
  if (isCI()) throw new Error(`${suite}: CI=true but ${missing.value}`)
  process.stderr.write(`\n!!! SKIPPING ${suite}: ${missing.value}.\n!!! CI always runs these tests.\n\n`)
  return true
}

/**
 * `GET /_ping` on an engine's unix socket answers 200.
 *
 * @internal
 */
export const pings = (socket: string): Effect.Effect<boolean> =>
  Effect.async<boolean>((resume) => {
    const request = http.get({ socketPath: socket, path: "/_ping", timeout: 2000 }, (response) => {
      response.resume()
      resume(Effect.succeed(response.statusCode === 200))
    })
    request.once("error", () => resume(Effect.succeed(false)))
    request.once("timeout", () => request.destroy())
    return Effect.sync(() => request.destroy())
  })
