/**
 * The service that talks to containers over HTTP: wait until one is ready, then call it as a
 * processor, plugin or merger (PROTOCOL.md).
 *
 * @since 0.1.0
 */
import type { HttpClient } from "@effect/platform"
import { Context, type Duration, type Effect, Layer } from "effect"
import * as internal from "./internal/processorClient.js"
import * as internalTest from "./internal/testClient.js"
import type * as ProcessorError from "./ProcessorError.js"
import type * as Protocol from "./Protocol.js"

/**
 * What `isAlive` reports while `waitReady` polls: still running, or gone with its exit code and
 * the tail of its logs.
 *
 * @since 0.1.0
 * @category models
 */
export type Liveness =
  | { readonly _tag: "Alive" }
  | { readonly _tag: "Exited"; readonly exitCode: number; readonly logTail: string }

/**
 * @since 0.1.0
 * @category models
 */
export interface WaitOptions {
  /** Give up with `NotReady` after this long; default 60 seconds. */
  readonly deadline?: Duration.DurationInput | undefined
  /**
   * Asked after a failed probe (at most every 100 ms, since it usually costs an engine call);
   * `Exited` ends the wait at once.
   */
  readonly isAlive?: Effect.Effect<Liveness> | undefined
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
}

/**
 * The live client over whatever `HttpClient` the application provides. Connections are reused
 * when that client keeps them alive: provide `NodeHttpClient.layerUndici` (keep-alive by default);
 * `NodeHttpClient.layer` opens a new connection per request unless given a keep-alive agent.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options?: Options
) => Effect.Effect<ProcessorClient.Service, never, HttpClient.HttpClient> = internal.make

/**
 * The live client with the default `Options`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<ProcessorClient, never, HttpClient.HttpClient> = Layer.effect(
  ProcessorClient,
  internal.make()
)

/**
 * In-memory behaviour of one endpoint for `layerTest`. A missing handler behaves like a healthy
 * container: `waitReady` is ready at once (or fails with `Exited` when `isAlive` says so),
 * `process` answers `{ outputDir: writeDir }`, `plug` an empty body, `merge` zero files.
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
