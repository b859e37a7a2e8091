/**
 * The swarm manager through dockerode: one client, and how every request to it goes (the
 * deadline that aborts it, its failure mapped by `error.ts`). The resource modules take a
 * `Manager`; node engines are `@armada/docker`'s and never pass through here.
 *
 * @internal
 */
import * as http from "node:http"
import { InputError } from "@armada/core"
import type { ContainerEngineError } from "@armada/engine"
import Docker from "dockerode"
import { Duration, Effect } from "effect"
import { type RequestContext, timedOut, toSwarmError } from "./error.js"

/** @internal */
export interface Manager {
  readonly address: string
  readonly timeout: Duration.Duration
  readonly context: (operation: string, kind: RequestContext["kind"], name: string) => RequestContext
  /**
   * One request through dockerode's modem (its service calls put a service update's spec in the
   * query too), aborted on interruption or once `timeout` has passed.
   */
  readonly dial: <A>(
    ctx: RequestContext,
    options: {
      readonly method: "GET" | "POST" | "DELETE"
      readonly path: string
      readonly query?: Readonly<Record<string, string>>
      readonly body?: unknown
    }
  ) => Effect.Effect<A, ContainerEngineError.ContainerEngineError>
}

/**
 * dockerode's options for `host` (`unix://…`, a socket path, `tcp://host:port`). Every option is
 * set, even to `undefined`: docker-modem fills anything missing from the process's `DOCKER_HOST`.
 */
const connection = (host: string): Docker.DockerOptions | undefined => {
  const unset = { ca: undefined, cert: undefined, key: undefined, protocol: "http" as const }
  const socket = host.startsWith("unix://")
    ? host.slice("unix://".length)
    : host.startsWith("/")
      ? host
      : undefined
  if (socket !== undefined && socket.length > 0) {
    return { ...unset, socketPath: socket, host: undefined, port: undefined }
  }
  const tcp = /^tcp:\/\/([^:/]+|\[[0-9a-fA-F:]+\]):(\d{1,5})\/?$/.exec(host)
  return tcp === null
    ? undefined
    : { ...unset, socketPath: undefined, host: tcp[1]!.replace(/^\[|\]$/g, ""), port: Number(tcp[2]) }
}

/**
 * The manager's client; `field` names the setting `host` came from in an `InputError`.
 *
 * @internal
 */
export const make = (
  host: string,
  timeout: Duration.Duration,
  field: string
): Effect.Effect<Manager, InputError> =>
  Effect.gen(function* () {
    const options = connection(host)
    if (options === undefined) {
      return yield* new InputError({
        field,
        value: host,
        reason: "expected unix:///path/to/docker.sock, tcp://host:port or a socket path"
      })
    }
    const address = host.startsWith("/") ? `unix://${host}` : host
    // `agent` is a docker-modem option its types leave out.
    const docker = new Docker({
      ...options,
      agent: new http.Agent({ keepAlive: false })
    } as Docker.DockerOptions)
    const request = <A>(ctx: RequestContext, run: (signal: AbortSignal) => Promise<A>) =>
      Effect.suspend(() => {
        const deadline = AbortSignal.timeout(Duration.toMillis(timeout))
        return Effect.tryPromise({
          try: (interrupted) => run(AbortSignal.any([interrupted, deadline])),
          catch: (error) => (deadline.aborted ? timedOut(ctx, timeout) : toSwarmError(ctx)(error))
        })
      }).pipe(Effect.timeoutFail({ duration: timeout, onTimeout: () => timedOut(ctx, timeout) }))
    const manager: Manager = {
      address,
      timeout,
      context: (operation, kind, name) => ({ address, operation, kind, name }),
      dial: (ctx, { method, path, query, body }) =>
        request(
          ctx,
          (signal) =>
            new Promise((resolve, reject) =>
              // The modem is typed `any` by @types/dockerode.
              docker.modem.dial(
                {
                  path: `${path}?`,
                  method,
                  abortSignal: signal,
                  statusCodes: {
                    200: true,
                    201: true,
                    204: true,
                    404: "not found",
                    409: "conflict",
                    500: "server error",
                    503: "not a swarm manager"
                  },
                  options: { _query: query ?? {}, _body: body ?? {} }
                },
                (error: unknown, data: unknown) => (error ? reject(error) : resolve(data as never))
              )
            )
        )
    }
    return manager
  })
