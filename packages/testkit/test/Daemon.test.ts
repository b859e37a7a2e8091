import { Poll } from "@armada/testkit"
import { assert, describe, it, vi } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { daemon } from "../src/internal/daemon.js"
import { isRunning } from "./process.js"

/** The signals other than 0 (which only asks whether a target is there) sent to process groups. */
const groupSignals = (kill: { mock: { calls: Array<Array<unknown>> } }) =>
  kill.mock.calls.filter(([target, signal]) => (target as number) < 0 && signal !== 0)

const spyOnKill = Effect.acquireRelease(
  Effect.sync(() => vi.spyOn(process, "kill")),
  (kill) => Effect.sync(() => kill.mockRestore())
)

describe("testkit daemon", () => {
  it.scopedLive("a daemon still running when its scope closes: SIGTERM to its group, and it is gone", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const running = yield* Scope.extend(
        daemon("test", "sleep", ["60"], { ready: Effect.succeed(true) }),
        scope
      )
      const kill = yield* spyOnKill
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(groupSignals(kill), [[-running.pid, "SIGTERM"]])
      assert.isFalse(isRunning(running.pid))
    })
  )

  it.scopedLive(
    "a daemon that ended by itself gets no signal (its group's number may be another's by then) and says so",
    () =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const ended = yield* Scope.extend(
          daemon("test", "sh", ["-c", "echo bye; exit 4"], { ready: Effect.succeed(true) }),
          scope
        )
        yield* Effect.promise(() => Poll.until(() => ended.output().includes("bye"), "its output"))
        yield* Effect.promise(() => Poll.until(() => !isRunning(ended.pid), "it to end"))
        const kill = yield* spyOnKill
        const written = yield* Effect.acquireRelease(
          Effect.sync(() => vi.spyOn(process.stderr, "write").mockImplementation(() => true)),
          (write) => Effect.sync(() => write.mockRestore())
        )
        yield* Scope.close(scope, Exit.void)
        assert.deepStrictEqual(groupSignals(kill), [])
        const said = written.mock.calls.map(([text]) => String(text)).join("")
        assert.include(said, `sh (pid ${ended.pid}) exited 4 before the test was done with it: bye`)
      })
  )
})
