/**
 * The in-memory `ProcessorClient` for unit tests.
 *
 * @internal
 */
import { Duration, Effect, Stream } from "effect"
import type { ProcessorClient, Ready, TestHandlers, TestRoutes } from "../ProcessorClient.js"
import { BadStatus, type Endpoint, NotReady } from "../ProcessorError.js"
import * as Protocol from "../Protocol.js"
import {
  checkPlugResponse,
  checkProcessResponse,
  checkResolveResponse,
  defaults,
  withCallTimeout
} from "./checks.js"
import { untilExited } from "./readiness.js"

const ready: Ready = { attempts: 1, elapsedMillis: 0 }

/** A healthy container: ready after one yield, which gives an `exited` that is done already its turn. */
const defaultWaitReady: Effect.Effect<Ready> = Effect.as(Effect.yieldNow(), ready)

/** @internal */
export const make = (routes: TestRoutes = {}): ProcessorClient.Service => {
  const handlers = (endpoint: Endpoint): TestHandlers => routes[endpoint.name] ?? routes["*"] ?? {}
  return {
    waitReady: (endpoint, options) => {
      const deadline = Duration.decode(options?.deadline ?? defaults.readyDeadline)
      const handler = handlers(endpoint).waitReady
      // As in the live client, an exit ends any wait.
      return untilExited(
        endpoint,
        handler === undefined ? defaultWaitReady : handler(endpoint, options),
        options?.exited
      ).pipe(
        Effect.timeoutFail({
          duration: deadline,
          onTimeout: () =>
            new NotReady({
              endpoint,
              attempts: 1,
              afterMillis: Duration.toMillis(deadline),
              lastError: "the test handler did not finish"
            })
        })
      )
    },
    process: (endpoint, request, options) => {
      const handler = handlers(endpoint).process
      return (
        handler === undefined
          ? Effect.succeed(Protocol.ProcessResponse.make({ outputDir: request.writeDir }))
          : handler(request, endpoint)
      ).pipe(
        Effect.flatMap((response) => checkProcessResponse(endpoint, response)),
        withCallTimeout(endpoint, options?.timeout)
      )
    },
    plug: (endpoint, request, options) => {
      const handler = handlers(endpoint).plug
      return (
        handler === undefined ? Effect.succeed(Protocol.PlugResponse.make({})) : handler(request, endpoint)
      ).pipe(
        Effect.flatMap((response) => checkPlugResponse(endpoint, response)),
        withCallTimeout(endpoint, options?.timeout)
      )
    },
    merge: (endpoint, sessionId, request, options) => {
      const handler = handlers(endpoint).merge
      return (
        handler === undefined
          ? Effect.succeed(Protocol.MergeResponse.make({ status: "ok", files: 0, conflicts: [] }))
          : handler(request, sessionId, endpoint)
      ).pipe(withCallTimeout(endpoint, options?.timeout))
    },
    resolve: (endpoint, request, options) => {
      const handler = handlers(endpoint).resolve
      const last = request.files.at(-1)
      return (
        handler === undefined
          ? Effect.succeed(
              Protocol.ResolveResponse.make({ path: last?.path ?? "", content: last?.content ?? "" })
            )
          : handler(request, endpoint)
      ).pipe(
        Effect.flatMap((response) => checkResolveResponse(endpoint, request, response)),
        withCallTimeout(endpoint, options?.timeout)
      )
    },
    putFiles: (endpoint, dir, tar, options) => {
      const handler = handlers(endpoint).putFiles
      return (
        handler === undefined
          ? Effect.as(
              Stream.runDrain(tar),
              Protocol.FilesPutResponse.make({ files: 0, directories: 0, symlinks: 0 })
            )
          : handler(dir, tar, endpoint)
      ).pipe(withCallTimeout(endpoint, options?.timeout))
    },
    getFiles: (endpoint, path) => {
      const handler = handlers(endpoint).getFiles
      return handler === undefined
        ? Stream.fail(
            new BadStatus({
              endpoint,
              status: 404,
              body: JSON.stringify(
                Protocol.FilesFailure.make({ reason: "NotFound", path, detail: "no such file" })
              )
            })
          )
        : handler(path, endpoint)
    }
  }
}
