/**
 * The last line of defence against orphans: when the Node.js process ends without running the
 * engine's finalizers (`process.exit()`, or a SIGINT/SIGTERM/SIGHUP that nobody else handles and
 * that would kill Node.js on the spot), kill every process group and remove the state folder
 * synchronously. A process killed with SIGKILL gets no chance at all; see docs/local-engine.md.
 *
 * @internal
 */
import { Interruption } from "@armada/core"
import { Effect, type Scope } from "effect"

const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const

/**
 * Installs `cleanup` for the life of the scope.
 *
 * @internal
 */
export const guard = (cleanup: () => void): Effect.Effect<void, never, Scope.Scope> => {
  const onSignal = (signal: NodeJS.Signals) => {
    // Ours runs first (prepended), so the count is what it was when the signal arrived: alone,
    // the default action is about to kill Node.js. Otherwise someone (e.g. NodeRuntime.runMain)
    // handles the signal by interrupting, and the finalizers do the work properly.
    if (process.listenerCount(signal) > 1) return
    cleanup()
    uninstall()
    process.kill(process.pid, signal)
  }
  const install = () => {
    process.on("exit", cleanup)
    for (const signal of signals) process.prependListener(signal, onSignal)
  }
  const uninstall = () => {
    process.removeListener("exit", cleanup)
    for (const signal of signals) process.removeListener(signal, onSignal)
  }
  return Interruption.acquireRelease(Effect.sync(install), () => Effect.sync(uninstall))
}
