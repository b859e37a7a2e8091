/**
 * Ctrl-C during a run. The first press interrupts the run (NodeRuntime.runMain does that), and the
 * CLI says that it is cleaning up; the scopes then remove what the run created and the command
 * exits with 130. A second press exits at once, saying what may be left and how to remove it.
 *
 * @since 0.1.0
 */
import { writeSync } from "node:fs"
import { Interruption } from "@armada/core"
import { Effect, Runtime, type Scope } from "effect"
import * as Screen from "./render/Screen.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Handlers {
  /** Runs on the first Ctrl-C, while the run is being interrupted. */
  readonly onFirst: Effect.Effect<void>
  /** What to print on the second Ctrl-C, just before exiting with 130. */
  readonly onSecond: Effect.Effect<Message>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Message {
  readonly stream: "stdout" | "stderr"
  readonly text: string
}

/**
 * The exit of a second Ctrl-C: print synchronously (the process ends right after), give the
 * terminal back in a sane state, and exit with 130.
 *
 * @since 0.1.0
 * @category constructors
 */
export const exitNow = (message: Message): void => {
  try {
    // End a synchronized update the live view may have begun (a terminal would hold back what
    // follows), show the cursor, and start on a fresh line.
    if (process.stdout.isTTY) writeAll(process.stdout.fd, `${Screen.endUpdate}${Screen.showCursor}\n`)
    writeAll(message.stream === "stdout" ? process.stdout.fd : process.stderr.fd, message.text)
  } finally {
    process.exit(130)
  }
}

/**
 * Writes all of `text` now. A terminal's descriptor may be non-blocking and its buffer full of
 * live-view frames: then the write fails with EAGAIN and is retried, for at most two seconds.
 */
const writeAll = (fd: number, text: string) => {
  let rest = Buffer.from(text)
  const deadline = Date.now() + 2000
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(fd, rest))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN" || Date.now() > deadline) throw error
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5)
    }
  }
}

/**
 * Listens to SIGINT for the scope's lifetime.
 *
 * @since 0.1.0
 * @category constructors
 */
export const install = (
  handlers: Handlers,
  options: {
    readonly signals?: NodeJS.EventEmitter | undefined
    readonly exit?: ((message: Message) => void) | undefined
  } = {}
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<never>()
    const signals = options.signals ?? process
    const exit = options.exit ?? exitNow
    let presses = 0
    const listener = () => {
      presses++
      if (presses === 1) Runtime.runFork(runtime)(handlers.onFirst)
      else exit(Runtime.runSync(runtime)(handlers.onSecond))
    }
    yield* Interruption.acquireRelease(
      Effect.sync(() => signals.on("SIGINT", listener)),
      () => Effect.sync(() => signals.removeListener("SIGINT", listener))
    )
  })
