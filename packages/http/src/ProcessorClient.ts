/**
 * The service that talks to containers over HTTP: wait until one is ready, then call it as a
 * processor, plugin or merger (PROTOCOL.md).
 *
 * @since 0.1.0
 */
import { Context, type Duration, type Effect } from "effect"
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
  /** Asked between polls; `Exited` ends the wait at once. */
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
