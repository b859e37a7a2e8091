/**
 * The service that talks to containers over HTTP: wait until one is ready, then call it as a
 * processor, plugin or merger (PROTOCOL.md).
 *
 * @since 0.1.0
 */
import type { HttpClient } from "@effect/platform"
import { Context, type Duration, Effect, Layer, type Stream } from "effect"
import * as internalProbe from "./internal/probe.js"
import * as internal from "./internal/processorClient.js"
import * as internalTest from "./internal/testClient.js"
import type * as ProcessorError from "./ProcessorError.js"
import type * as Protocol from "./Protocol.js"

/**
 * How a container ended, for `WaitOptions.exited`.
 *
 * @since 0.4.0
 * @category models
 */
export interface ContainerExit {
  readonly exitCode: number
  /** The tail of its logs. */
  readonly logTail: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface WaitOptions {
  /** Give up with `NotReady` after this long; default 60 seconds. */
  readonly deadline?: Duration.DurationInput | undefined
  /**
   * Completes when the container has exited (an engine `wait`, for example): the wait then fails
   * with `Exited` at once, without waiting for a probe. It runs beside the probes and is
   * interrupted when they end first.
   */
  readonly exited?: Effect.Effect<ContainerExit> | undefined
  /**
   * Waits of one cohort (containers of one image started by one run, say) learn from each other
   * how long a start takes: while other waits are in progress, a wait of the cohort sends its first
   * probe no sooner than half the shortest wait of the cohort that has ended ready, or, while none
   * has, than half of what the cohort's oldest wait had waited when it began. The client forgets
   * it when no wait is left. Without a cohort a wait learns nothing.
   */
  readonly cohort?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Ready {
  readonly attempts: number
  readonly elapsedMillis: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CallOptions {
  /** Fails with `Timeout` after this long. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace ProcessorClient {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /**
     * Probes the endpoint until it answers `GET /` with 200. A lone wait probes 5 ms + 3% of the
     * time waited apart; the waits in progress at once on one client share its probes, each
     * probing as many times less often as there are waits, but at least every half of the time it
     * has waited (once that exceeds their number x 50 ms) and every 30 s. A crowded wait of a
     * `cohort` starts probing later, by what its cohort has shown (`WaitOptions.cohort`).
     */
    readonly waitReady: (
      endpoint: ProcessorError.Endpoint,
      options?: WaitOptions
    ) => Effect.Effect<Ready, ProcessorError.ReadyError>
    /** `POST /api/process`; an `outputDir` outside `/workspace/area` is a `BadResponse`. */
    readonly process: (
      endpoint: ProcessorError.Endpoint,
      request: Protocol.ProcessRequest,
      options?: CallOptions
    ) => Effect.Effect<Protocol.ProcessResponse, ProcessorError.CallError>
    /** `POST /api/plug` */
    readonly plug: (
      endpoint: ProcessorError.Endpoint,
      request: Protocol.PlugRequest,
      options?: CallOptions
    ) => Effect.Effect<Protocol.PlugResponse, ProcessorError.CallError>
    /** `POST /merge/:sessionId` */
    readonly merge: (
      endpoint: ProcessorError.Endpoint,
      sessionId: string,
      request: Protocol.MergeRequest,
      options?: CallOptions
    ) => Effect.Effect<Protocol.MergeResponse, ProcessorError.CallError>
    /** `POST /api/resolve`; an answer for another path than the versions' is a `BadResponse`. */
    readonly resolve: (
      endpoint: ProcessorError.Endpoint,
      request: Protocol.ResolveRequest,
      options?: CallOptions
    ) => Effect.Effect<Protocol.ResolveResponse, ProcessorError.CallError>
    /**
     * `PUT /files?dir=` on a merger: `tar` extracted into `dir` (the template dir or a directory of
     * the session area). A refusal is a `BadStatus` carrying a `Protocol.FilesFailure` (400 unsafe
     * or malformed, 413 too large, 403 outside the roots, 404); a failure of `tar` itself fails
     * the call with that same error.
     */
    readonly putFiles: <E = never>(
      endpoint: ProcessorError.Endpoint,
      dir: string,
      tar: Stream.Stream<Uint8Array, E>,
      options?: CallOptions
    ) => Effect.Effect<Protocol.FilesPutResponse, ProcessorError.CallError | E>
    /**
     * `GET /files?path=` on a merger: `path` as a tar stream, entries under its base name. A
     * refusal is a `BadStatus` as for `putFiles`; more than `maxFileBytes` is a `BadResponse`, and
     * the call's timeout bounds the wait for the answer and for each chunk of it.
     */
    readonly getFiles: (
      endpoint: ProcessorError.Endpoint,
      path: string,
      options?: CallOptions
    ) => Stream.Stream<Uint8Array, ProcessorError.CallError>
  }
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ProcessorClient extends Context.Tag("@armada/http/ProcessorClient")<
  ProcessorClient,
  ProcessorClient.Service
>() {}

/**
 * One readiness probe: succeeds when the endpoint is ready, fails with why not, and gives up as
 * "not ready" after `timeout` (the client's `probeTimeout`). `waitReady` paces the probes.
 *
 * @since 0.2.0
 * @category models
 */
export interface Probe {
  readonly probe: (
    endpoint: ProcessorError.Endpoint,
    timeout: Duration.Duration
  ) => Effect.Effect<void, string>
}

/**
 * The probe the live client's `waitReady` sends. By default a minimal HTTP/1.1 `GET /` on a fresh
 * TCP connection (Node's `net`), read up to its status line: 200 is ready; a refused, reset or
 * closed connection or another status is not yet. It costs a small fraction of a request through
 * an `HttpClient`, which matters when many containers start at once. Provide another with
 * `Layer.succeed(ReadinessProbe, ...)` to probe differently.
 *
 * @since 0.2.0
 * @category tags
 */
export class ReadinessProbe extends Context.Reference<ReadinessProbe>()("@armada/http/ReadinessProbe", {
  defaultValue: (): Probe => ({ probe: internalProbe.probeSocket })
}) {}

/**
 * Settings of the live client.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** A 2xx body larger than this is a `BadResponse`, found without reading it all; default 1 MiB. */
  readonly maxResponseBytes?: number | undefined
  /** The timeout of `process`, `plug` and `merge` when the call gives none; default 5 minutes. */
  readonly callTimeout?: Duration.DurationInput | undefined
  /** Each readiness probe gives up after this long (and counts as "not yet"); default 2 seconds. */
  readonly probeTimeout?: Duration.DurationInput | undefined
  /** A `getFiles` answer larger than this is a `BadResponse`; default `Protocol.defaultMaxFileBytes`. */
  readonly maxFileBytes?: number | undefined
}

/**
 * The options of a Node.js `http.Agent` for this client's calls: connections kept alive, and an
 * idle one closed after 1 s, or not kept when the server's `Keep-Alive: timeout` hint is 1 s or
 * less. Without a `timeout` the agent keeps an idle connection until the server closes it, and a
 * call sent at the moment the server does (after 5 s idle, Node.js' default) fails with
 * `ECONNRESET` before the server read it: a pooled set's containers are called again seconds
 * later, and a CI run under load lost a plugin call that way. 1 s is below the idle limit of the
 * common servers (Node.js 5 s, gunicorn 2 s), and the calls of one run, which come back to back,
 * still share their connections.
 *
 * @since 0.3.0
 * @category constructors
 */
export const agentOptions: { readonly keepAlive: true; readonly timeout: number } = {
  keepAlive: true,
  timeout: 1_000
}

/**
 * The live client: `process`, `plug` and `merge` go through whatever `HttpClient` the application
 * provides, the readiness probes through the `ReadinessProbe`. Connections are reused when that
 * client keeps them alive: provide `NodeHttpClient.layerUndici` (keep-alive by default), or
 * `NodeHttpClient.layerWithoutAgent` with `NodeHttpClient.makeAgentLayer(agentOptions)`;
 * `NodeHttpClient.layer` opens a new connection per request.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options?: Options
): Effect.Effect<ProcessorClient.Service, never, HttpClient.HttpClient> =>
  Effect.flatMap(ReadinessProbe, (probe) => internal.make(probe, options))

/**
 * The live client with the default `Options`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<ProcessorClient, never, HttpClient.HttpClient> = Layer.effect(
  ProcessorClient,
  make()
)

/**
 * In-memory behaviour of one endpoint for `layerTest`. A missing handler behaves like a healthy
 * container: `waitReady` is ready after one yield, `process` answers `{ outputDir: writeDir }`,
 * `plug` an empty body, `merge` zero files, `resolve` the last version, `putFiles` reads the tar
 * and extracts nothing, `getFiles` answers 404. As in the live client, a wait's `exited` ends any
 * `waitReady`, a handler's too, with `Exited`.
 *
 * @since 0.1.0
 * @category models
 */
export interface TestHandlers {
  readonly waitReady?: (
    endpoint: ProcessorError.Endpoint,
    options: WaitOptions | undefined
  ) => Effect.Effect<Ready, ProcessorError.ReadyError>
  readonly process?: (
    request: Protocol.ProcessRequest,
    endpoint: ProcessorError.Endpoint
  ) => Effect.Effect<Protocol.ProcessResponse, ProcessorError.CallError>
  readonly plug?: (
    request: Protocol.PlugRequest,
    endpoint: ProcessorError.Endpoint
  ) => Effect.Effect<Protocol.PlugResponse, ProcessorError.CallError>
  readonly merge?: (
    request: Protocol.MergeRequest,
    sessionId: string,
    endpoint: ProcessorError.Endpoint
  ) => Effect.Effect<Protocol.MergeResponse, ProcessorError.CallError>
  readonly resolve?: (
    request: Protocol.ResolveRequest,
    endpoint: ProcessorError.Endpoint
  ) => Effect.Effect<Protocol.ResolveResponse, ProcessorError.CallError>
  /** The body's own failure is the call's; default: the body read, nothing extracted. */
  readonly putFiles?: <E>(
    dir: string,
    tar: Stream.Stream<Uint8Array, E>,
    endpoint: ProcessorError.Endpoint
  ) => Effect.Effect<Protocol.FilesPutResponse, ProcessorError.CallError | E>
  /** Default: a 404, as a merger without that path answers. */
  readonly getFiles?: (
    path: string,
    endpoint: ProcessorError.Endpoint
  ) => Stream.Stream<Uint8Array, ProcessorError.CallError>
}

/**
 * Handlers by endpoint name; the key `"*"` serves every endpoint not named.
 *
 * @since 0.1.0
 * @category models
 */
export type TestRoutes = { readonly [endpointName: string]: TestHandlers }

/**
 * An in-memory client for unit tests. It applies the live client's rules to what the handlers
 * return (an `outputDir` outside `/workspace/area` is a `BadResponse`, the call timeout gives
 * `Timeout`, the ready deadline `NotReady`), so a test sees what the real client would report.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest = (routes?: TestRoutes): Layer.Layer<ProcessorClient> =>
  Layer.sync(ProcessorClient, () => internalTest.make(routes))
