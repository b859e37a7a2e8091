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
 * `promise`, or a rejection once `deadline` aborts, whichever comes first: a plain listener, where
 * `Effect.timeoutFail` would fork a fiber and a timer per request (a few hundred requests a run).
 */
const within = <A>(promise: Promise<A>, deadline: AbortSignal): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const expire = () => reject(deadline.reason)
    deadline.addEventListener("abort", expire, { once: true })
    promise.then(
      (value) => {
        deadline.removeEventListener("abort", expire)
        resolve(value)
      },
      (error: unknown) => {
        deadline.removeEventListener("abort", expire)
        reject(error)
      }
    )
  })

/** @internal */
export const make = (docker: Docker, address: string, timeout: Duration.Duration): Client => {
  const request = <A>(ctx: RequestContext, run: (signal: AbortSignal) => Promise<A>) =>
    Effect.suspend(() => {
      // A timer cleared when the request settles, where `AbortSignal.timeout` would keep one per
      // request pending for the whole `timeout`.
      const deadline = new AbortController()
      const timer = setTimeout(() => deadline.abort(), Duration.toMillis(timeout))
      timer.unref()
      return Effect.tryPromise({
        try: (interrupted) =>
          within(
            run(cheapToInspect(AbortSignal.any([interrupted, deadline.signal]), "AbortSignal")),
            deadline.signal
          ),
        catch: (error) => (deadline.signal.aborted ? timedOut(ctx, timeout) : toDockerError(ctx)(error))
      }).pipe(Effect.ensuring(Effect.sync(() => clearTimeout(timer))))
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
