/**
 * The one place where a failure of a request to the swarm manager (an errno code from the socket,
 * an HTTP status and message from the manager) becomes a typed `ContainerEngineError`. What a
 * node engine answers is `@armada/docker`'s to map.
 *
 * @internal
 */
import { SdkFailure } from "@armada/docker"
import { ContainerEngineError } from "@armada/engine"
import { Duration } from "effect"

/**
 * What a request was about: the operation, the resource kind and the name the caller used.
 *
 * @internal
 */
export interface RequestContext {
  readonly address: string
  readonly operation: string
  readonly kind: "engine" | "container" | "network" | "node"
  readonly name: string
}

/**
 * The hint for an engine that is not a swarm manager: where to point armada, or how to make one.
 *
 * @internal
 */
export const notAManager = (context: RequestContext, detail: string): ContainerEngineError.EngineError =>
  new ContainerEngineError.EngineError({
    operation: context.operation,
    resource: context.name,
    status: 503,
    detail: `${detail}: the engine at ${context.address} is not a swarm manager; point --host (DOCKER_HOST) at a manager, or make this engine one (\`docker swarm init\`)`
  })

/**
 * A request the manager did not answer within `timeout`.
 *
 * @internal
 */
export const timedOut = (
  context: RequestContext,
  timeout: Duration.Duration
): ContainerEngineError.EngineError =>
  new ContainerEngineError.EngineError({
    operation: context.operation,
    resource: context.name,
    detail: `the swarm manager at ${context.address} did not answer within ${Duration.format(timeout)}`
  })

/**
 * Maps any failure of a manager request to a `ContainerEngineError`. A service stands for a
 * container, so a missing service is `ContainerNotFound` and a taken service name `NameConflict`.
 * A network a service still uses is refused with 403, the status Docker gives a network with
 * active endpoints (the manager says 400 or 500 with "in use").
 *
 * @internal
 */
export const toSwarmError =
  (context: RequestContext) =>
  (cause: unknown): ContainerEngineError.ContainerEngineError => {
    const code = SdkFailure.unreachableCode(cause)
    if (code !== undefined) {
      return new ContainerEngineError.EngineUnreachable({ address: context.address, detail: code })
    }
    const status = SdkFailure.statusOf(cause)
    const detail = SdkFailure.messageOf(cause)
    if (status === 503 || /not a swarm manager|not part of a swarm/i.test(detail)) {
      return notAManager(context, detail)
    }
    // The manager answers some misses with 500 ("network … not found" on a removal under way).
    if (status === 404 || /not found|no such/i.test(detail)) {
      if (/no such image/i.test(detail))
        return new ContainerEngineError.ImageNotFound({ image: context.name, detail })
      if (context.kind === "container")
        return new ContainerEngineError.ContainerNotFound({ container: context.name })
      if (context.kind === "network")
        return new ContainerEngineError.NetworkNotFound({ network: context.name })
    }
    if (status === 409 && (context.kind === "container" || context.kind === "network")) {
      return new ContainerEngineError.NameConflict({ kind: context.kind, name: context.name })
    }
    if (context.kind === "network" && /in use|active endpoints/i.test(detail)) {
      return new ContainerEngineError.EngineError({
        operation: context.operation,
        resource: context.name,
        status: 403,
        detail
      })
    }
    return new ContainerEngineError.EngineError({
      operation: context.operation,
      resource: context.name,
      ...(typeof status === "number" ? { status } : {}),
      detail
    })
  }
