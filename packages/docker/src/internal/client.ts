/**
 * One dockerode client and how every request of the live engine goes through it: the request
 * context its errors name, the deadline that aborts a request, a response body as a stream.
 * The resource modules (`images`, `containers`, `volumes`, `networks`, `archives`) take a `Client`.
 *
 * @internal
 */
import { Interruption } from "@armada/core"
import type { ContainerEngineError, Labels } from "@armada/engine"
import * as NodeStream from "@effect/platform-node/NodeStream"
import type Docker from "dockerode"
import { Duration, Effect, Stream } from "effect"
import { type RequestContext, timedOut, toDockerError } from "./error.js"
import { cheapToInspect } from "./transport.js"

/** @internal */
export interface Client {
  readonly docker: Docker
  /** The engine's address, as errors and the service show it. */
  readonly address: string
  readonly timeout: Duration.Duration
  readonly context: (
    operation: string,
    kind: RequestContext["kind"],
    name: string,
    extra?: Partial<Pick<RequestContext, "image" | "conflict">>
  ) => RequestContext
  /**
   * One request, aborted on interruption or once `timeout` has passed. The deadline aborts the
   * request itself, so it holds in an uninterruptible region too: a create or start that the
   * orchestrator will not abort on interruption still fails when the engine stops answering
   * (a containerd that hangs on a task). The few calls that take no signal (image inspect, ping,
   * version) fail at the deadline all the same; their request is left to finish on its own.
   */
  readonly request: <A>(
    ctx: RequestContext,
    run: (signal: AbortSignal) => Promise<A>
  ) => Effect.Effect<A, ContainerEngineError.ContainerEngineError>
  /**
   * A response body as a stream, its request aborted when the stream ends early, failing when
   * the engine has sent nothing for `timeout`.
   */
  readonly responseStream: (
    ctx: RequestContext,
    open: (signal: AbortSignal) => Promise<NodeJS.ReadableStream>
  ) => Stream.Stream<Uint8Array, ContainerEngineError.ContainerEngineError>
}

/**
 * docker-modem renders each request's options with `util.inspect` before it sends the request,
 * whether debug output is on or not (~0.3 ms of CPU per request here): the options it builds are
 * marked cheap to inspect, as the agent and the abort signal are (`transport.ts`).
 */
const quiet = (docker: Docker): Docker => {
  const modem = docker.modem as unknown as {
    buildRequest: (options: object, ...rest: Array<unknown>) => unknown
  }
  const build = modem.buildRequest
  modem.buildRequest = function (this: unknown, options: object, ...rest: Array<unknown>) {
    return build.call(this, cheapToInspect(options, "request options"), ...rest)
  }
  return docker
}

/** @internal */
export const make = (sdk: Docker, address: string, timeout: Duration.Duration): Client => {
  const docker = quiet(sdk)
  const timeoutMillis = Duration.toMillis(timeout)
  /**
   * One abort controller per request, aborted by the deadline or by interruption, and one timer
   * cleared when the request settles: `Effect.tryPromise`'s own signal joined to a deadline's
   * with `AbortSignal.any` made three signals and their listeners per request, and
   * `Effect.timeoutFail` a fiber and a timer (a few hundred requests a run). The request is
   * rejected at the deadline even when the SDK call takes no signal (image inspect, ping,
   * version): it is left to finish on its own.
   */
  const request = <A>(ctx: RequestContext, run: (signal: AbortSignal) => Promise<A>) =>
    Effect.async<A, ContainerEngineError.ContainerEngineError>((resume) => {
      const controller = new AbortController()
      let settled = false
      const settle = (result: Effect.Effect<A, ContainerEngineError.ContainerEngineError>) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resume(result)
      }
      const timer = setTimeout(() => {
        controller.abort()
        settle(Effect.fail(timedOut(ctx, timeout)))
      }, timeoutMillis)
      timer.unref()
      let promise: Promise<A>
      try {
        promise = run(cheapToInspect(controller.signal, "AbortSignal"))
      } catch (error) {
        settle(Effect.fail(toDockerError(ctx)(error)))
        return
      }
      promise.then(
        (value) => settle(Effect.succeed(value)),
        (error: unknown) => settle(Effect.fail(toDockerError(ctx)(error)))
      )
      return Effect.sync(() => {
        settled = true
        clearTimeout(timer)
        controller.abort()
      })
    })

  /**
   * Read through `NodeStream.fromReadable`, which destroys the body when the stream ends: the
   * async iterator of `Stream.fromAsyncIterable` would be closed by awaiting its `return()`, which
   * Node queues behind the `next()` in flight, so an interruption while the engine sends nothing
   * (a pull waiting on a slow layer) would wait for the engine's next line.
   */
  const responseStream = (
    ctx: RequestContext,
    open: (signal: AbortSignal) => Promise<NodeJS.ReadableStream>
  ): Stream.Stream<Uint8Array, ContainerEngineError.ContainerEngineError> =>
    Stream.unwrapScoped(
      Effect.gen(function* () {
        const controller = yield* Interruption.acquireRelease(
          Effect.sync(() => new AbortController()),
          (controller) => Effect.sync(() => controller.abort())
        )
        const body = yield* request(ctx, () => open(controller.signal))
        return NodeStream.fromReadable<ContainerEngineError.ContainerEngineError, Uint8Array>(
          () => body,
          toDockerError(ctx)
        ).pipe(Stream.timeoutFail(() => timedOut(ctx, timeout), timeout))
      })
    )

  return {
    docker,
    address,
    timeout,
    context: (operation, kind, name, extra = {}) => ({ address, operation, kind, name, ...extra }),
    request,
    responseStream
  }
}

/** The SDK's options with the request's abort signal. @internal */
export const withSignal = <T extends object>(
  options: T,
  signal: AbortSignal
): T & { abortSignal: AbortSignal } => ({
  ...options,
  abortSignal: signal
})

/** A label filter as the engine's list endpoints take it. @internal */
export const labelFilters = (labels: Labels | undefined) =>
  JSON.stringify({ label: Object.entries(labels ?? {}).map(([key, value]) => `${key}=${value}`) })
