/**
 * What the live client and the in-memory test client share, so the fake cannot drift from the
 * real thing: the defaults, the per-call timeout and the checks on decoded answers.
 *
 * @internal
 */
import { Duration, Effect, Option } from "effect"
import { BadResponse, type CallError, type Endpoint, Timeout } from "../ProcessorError.js"
import * as Protocol from "../Protocol.js"

/** @internal */
export const defaults = {
  maxResponseBytes: 1024 * 1024,
  callTimeout: Duration.minutes(5),
  probeTimeout: Duration.seconds(2),
  readyDeadline: Duration.seconds(60)
} as const

/** @internal */
export const withCallTimeout =
  (endpoint: Endpoint, timeout: Duration.DurationInput | undefined) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | Timeout, R> => {
    const duration = Duration.decode(timeout ?? defaults.callTimeout)
    return Effect.timeoutFail(self, {
      duration,
      onTimeout: () => new Timeout({ endpoint, afterMillis: Duration.toMillis(duration) })
    })
  }

const checkOutputDir = (endpoint: Endpoint, outputDir: string): Effect.Effect<string, BadResponse> =>
  Option.match(Protocol.insideArea(outputDir), {
    onNone: () =>
      Effect.fail(
        new BadResponse({
          endpoint,
          detail: `outputDir ${JSON.stringify(outputDir)} is not inside ${Protocol.areaDir}`
        })
      ),
    onSome: Effect.succeed
  })

/**
 * A processor's `outputDir` must lie below the session area; the answer carries it normalised.
 *
 * @internal
 */
export const checkProcessResponse = (
  endpoint: Endpoint,
  response: Protocol.ProcessResponse
): Effect.Effect<Protocol.ProcessResponse, CallError> =>
  Effect.map(checkOutputDir(endpoint, response.outputDir), (outputDir) =>
    Protocol.ProcessResponse.make({ outputDir })
  )

/**
 * A plugin may leave `outputDir` out; when it names one, the same rule as for processors holds.
 *
 * @internal
 */
export const checkPlugResponse = (
  endpoint: Endpoint,
  response: Protocol.PlugResponse
): Effect.Effect<Protocol.PlugResponse, CallError> =>
  response.outputDir === undefined
    ? Effect.succeed(Protocol.PlugResponse.make({}))
    : Effect.map(checkOutputDir(endpoint, response.outputDir), (outputDir) =>
        Protocol.PlugResponse.make({ outputDir })
      )

/**
 * A resolver answers for the one path it was sent.
 *
 * @internal
 */
export const checkResolveResponse = (
  endpoint: Endpoint,
  request: Protocol.ResolveRequest,
  response: Protocol.ResolveResponse
): Effect.Effect<Protocol.ResolveResponse, CallError> => {
  const expected = request.files[0]?.path
  return expected === undefined || response.path === expected
    ? Effect.succeed(response)
    : Effect.fail(
        new BadResponse({
          endpoint,
          detail: `it answered for path ${JSON.stringify(response.path)}, but was sent the versions of ${JSON.stringify(expected)}`
        })
      )
}
