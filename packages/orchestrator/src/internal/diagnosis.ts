/**
 * What a container's end says: its exit code and last log lines, read while it still exists, so a
 * failure that is really a crash is reported as one.
 *
 * @internal
 */
import { ContainerEngine } from "@armada/engine"
import { ProcessorError } from "@armada/http"
import { Duration, Effect, Option } from "effect"
import type * as Orchestrator from "../Orchestrator.js"

/** How many log lines an exit carries, and at most how many characters of them. */
const tailLines = 20
const tailChars = 4096

/**
 * How long a container whose call lost its connection may take to show as exited: the engine
 * learns of the exit a moment after the process's sockets close, and on a loaded machine that
 * moment was over 2 s (a merger's crash reported as `Unreachable` at load ~50). Only a call that
 * lost its connection waits, and only while its container still runs.
 */
const exitGrace = Duration.seconds(10)

/**
 * The last lines a container wrote (stdout and stderr), at most `tailChars` of them; empty when
 * the engine cannot say.
 *
 * @internal
 */
export const logTail = (containerId: string): Effect.Effect<string, never, ContainerEngine> =>
  Effect.flatMap(ContainerEngine, (engine) => engine.logs(containerId, { tail: tailLines })).pipe(
    Effect.map((text) => {
      const trimmed = text.trimEnd()
      return trimmed.length <= tailChars ? trimmed : `…${trimmed.slice(-tailChars)}`
    }),
    Effect.orElseSucceed(() => "")
  )

/**
 * @internal
 */
export interface Exit {
  readonly exitCode: number
  readonly logTail: string
}

/**
 * The exit code and log tail of a container that has stopped; `None` while it runs (or when the
 * engine cannot say). With `grace`, a running container is given that long to stop.
 *
 * @internal
 */
export const exitOf = (
  containerId: string,
  options: { readonly grace?: Duration.Duration | undefined } = {}
): Effect.Effect<Option.Option<Exit>, never, ContainerEngine> =>
  Effect.gen(function* () {
    const engine = yield* ContainerEngine
    const info = yield* engine.inspectContainer(containerId)
    const stopped = info.state === "exited" || info.state === "dead"
    const exitCode = stopped
      ? Option.some(info.exitCode ?? -1)
      : options.grace === undefined
        ? Option.none()
        : yield* Effect.timeoutOption(engine.waitContainer(containerId), options.grace)
    if (Option.isNone(exitCode)) return Option.none()
    return Option.some({ exitCode: exitCode.value, logTail: yield* logTail(containerId) })
  }).pipe(Effect.orElseSucceed(() => Option.none()))

/**
 * A work call that failed at the connection (`Unreachable`) or timed out, of a container that has
 * exited, fails with `ExitedDuringCall` instead: its exit code and log tail say what happened,
 * where the connection error only says that the port went quiet. A container that still runs
 * keeps the call's own error.
 *
 * @internal
 */
export const diagnosed =
  (container: Orchestrator.Container, call: string) =>
  <A, E, R>(
    self: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | ProcessorError.ExitedDuringCall, R | ContainerEngine> =>
    Effect.catchAll(self, (error) => {
      const failure =
        error instanceof ProcessorError.Unreachable || error instanceof ProcessorError.Timeout
          ? error
          : undefined
      if (failure === undefined) return Effect.fail(error)
      // A lost connection is what a crash looks like from outside: give the engine a moment to
      // see the exit. A timeout is not: the container is asked once.
      const grace = failure._tag === "Unreachable" ? { grace: exitGrace } : {}
      return Effect.flatMap(
        exitOf(container.containerId, grace),
        (exit): Effect.Effect<never, E | ProcessorError.ExitedDuringCall> =>
          Option.isNone(exit)
            ? Effect.fail(error)
            : Effect.fail(
                new ProcessorError.ExitedDuringCall({
                  endpoint: container.endpoint,
                  call,
                  exitCode: exit.value.exitCode,
                  logTail: exit.value.logTail,
                  detail:
                    failure._tag === "Unreachable"
                      ? failure.detail
                      : `no answer within ${failure.afterMillis} ms`
                })
              )
      )
    })
