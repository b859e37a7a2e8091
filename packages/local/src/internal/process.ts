/**
 * A container's process: one child in a process group of its own (`detached`), its output kept
 * as lines, its exit code, and a kill that takes the whole group down and waits until it is gone.
 *
 * @internal
 */
import { spawn } from "node:child_process"
import { constants } from "node:os"
import type { ContainerEngineError } from "@armada/engine"
import { Clock, Deferred, Duration, Effect, Exit, FiberId, Schedule } from "effect"
import * as ProcessGroup from "../ProcessGroup.js"
import { hostError } from "./error.js"

/**
 * The last `max` lines of stdout and stderr, interleaved in arrival order. Each stream keeps its
 * own unfinished line, so a line of one never splits a line of the other.
 *
 * @internal
 */
export class LogLines {
  private lines: Array<string> = []
  private readonly partial = { stdout: "", stderr: "" }
  constructor(private readonly max: number) {}

  push(stream: "stdout" | "stderr", text: string): void {
    const parts = (this.partial[stream] + text).split("\n")
    this.partial[stream] = parts.pop()!
    for (const line of parts) this.lines.push(`${line}\n`)
    // Trim in batches so a chatty process costs O(1) per line.
    if (this.lines.length > this.max * 2) this.lines = this.lines.slice(-this.max)
  }

  tail(count: number): string {
    if (count <= 0) return ""
    const unfinished = [this.partial.stdout, this.partial.stderr].filter((line) => line !== "")
    return [...this.lines, ...unfinished].slice(-count).join("")
  }
}

/** @internal */
export interface SpawnOptions {
  /** The container, for messages. */
  readonly name: string
  readonly command: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string>>
  readonly cwd: string
  readonly maxLogLines: number
}

/** @internal */
export interface Handle {
  readonly pid: number
  readonly logs: LogLines
  /** Undefined while the process runs. */
  readonly exitCode: () => number | undefined
  /** The exit code, once the process has exited, its output is read and no process of its group is left. */
  readonly exited: Effect.Effect<number>
  /** SIGTERM to the group, SIGKILL after `grace`, then `exited` (as `docker stop`). */
  readonly stop: (grace: Duration.DurationInput) => Effect.Effect<number>
  /**
   * SIGKILL to the group, then `exited` (as `docker rm -f`). A group whose main process has exited
   * was killed then, and gets no signal.
   */
  readonly kill: Effect.Effect<number>
  /** SIGKILL to the group, synchronously (for a process `exit` hook, where nothing can wait). */
  readonly killNow: () => void
}

/** How long an exited process's pipes may stay open (held by a process that left the group). */
const pipeGrace = 1_000
/** How long to wait for the members of a killed group to die: 500 polls, 20 ms apart. */
const groupPolls = Schedule.intersect(Schedule.spaced("20 millis"), Schedule.recurs(500))

/**
 * Polls of real processes run on the real clock: a caller's TestClock must not freeze them. Grace
 * periods are plain timers, for the same reason and because a scope's finalizer (uninterruptible)
 * could not cut a wait short with `Effect.timeout`.
 */
const realClock = Clock.make()

const exitCodeOf = (code: number | null, signal: NodeJS.Signals | null): number =>
  code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0))

/**
 * Starts `command` in a new process group. Fails when the command cannot be started (not found,
 * not executable); an interruption before the start completes kills what was started.
 *
 * @internal
 */
export const spawnGroup = (options: SpawnOptions): Effect.Effect<Handle, ContainerEngineError.EngineError> =>
  Effect.async<Handle, ContainerEngineError.EngineError>((resume) => {
    const [file, ...args] = options.command
    const child = spawn(file!, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"]
    })
    const logs = new LogLines(options.maxLogLines)
    child.stdout.setEncoding("utf8").on("data", (text: string) => logs.push("stdout", text))
    child.stderr.setEncoding("utf8").on("data", (text: string) => logs.push("stderr", text))

    const closed = Deferred.unsafeMake<number>(FiberId.none)
    let exitCode: number | undefined
    let pipeTimer: NodeJS.Timeout | undefined
    let killTimer: NodeJS.Timeout | undefined
    let started = false

    child.on("error", (cause) => {
      if (!started) resume(Effect.fail(hostError("start", options.name)(cause)))
    })
    // The group is signalled only while its leader has not been reaped (no "exit" yet): until
    // then its number is the leader's. Once the leader is reaped and the group's last member has
    // died, the kernel may give the number to another process (pid_max is 32768 on many Linux
    // machines), and a signal to it would reach a stranger's group.
    const signalOwnGroup = (signal: NodeJS.Signals) => {
      if (exitCode === undefined && child.pid !== undefined) ProcessGroup.signalGroup(child.pid, signal)
    }
    child.once("exit", (code, signal) => {
      // As in a container, the end of the main process ends every process it started: the last
      // signal this group gets from here.
      ProcessGroup.signalGroup(child.pid!, "SIGKILL")
      exitCode = exitCodeOf(code, signal)
      pipeTimer = setTimeout(() => {
        child.stdout.destroy()
        child.stderr.destroy()
      }, pipeGrace).unref()
    })
    child.once("close", () => {
      clearTimeout(pipeTimer)
      clearTimeout(killTimer)
      if (exitCode !== undefined) Deferred.unsafeDone(closed, Exit.succeed(exitCode))
    })
    child.once("spawn", () => {
      started = true
      const pid = child.pid!
      const groupGone = Effect.sync(() => ProcessGroup.isGroupAlive(pid)).pipe(
        Effect.repeat({ while: (alive) => alive, schedule: groupPolls })
      )
      const exited = Effect.zipLeft(Deferred.await(closed), groupGone).pipe(Effect.withClock(realClock))
      const killNow = () => signalOwnGroup("SIGKILL")
      resume(
        Effect.succeed({
          pid,
          logs,
          exitCode: () => exitCode,
          exited,
          killNow,
          kill: Effect.zipRight(Effect.sync(killNow), exited),
          stop: (grace) =>
            Effect.suspend(() => {
              if (exitCode === undefined) {
                signalOwnGroup("SIGTERM")
                killTimer ??= setTimeout(killNow, Duration.toMillis(grace))
              }
              return exited
            })
        })
      )
    })
    return Effect.sync(() => signalOwnGroup("SIGKILL"))
  }).pipe(Effect.withSpan("LocalEngine.spawn", { attributes: { container: options.name } }))
