/**
 * The one place where a failure of the Docker SDK (an errno code from the socket, an HTTP status
 * from the engine) becomes a typed `ContainerEngineError`.
 *
 * @internal
 */

import { ContainerEngineError } from "@armada/engine"
import { Duration } from "effect"
import { messageOf, statusOf, unreachableCode } from "../SdkFailure.js"

/**
 * What a request was about: the operation, the resource kind and name, and which error a 409
 * means for it. `image` names the image for a 404 that turns out to be about the image (a
 * container create of a missing image).
 *
 * @internal
 */
export interface RequestContext {
  readonly address: string
  readonly operation: string
  readonly kind: "engine" | "image" | "container" | "volume" | "network" | "archive"
  readonly name: string
  readonly image?: string | undefined
  readonly conflict?: "NameConflict" | "VolumeInUse" | undefined
}

/**
 * 304 on a start: the container already runs, which is what was asked.
 *
 * @internal
 */
export const isAlreadyStarted = (cause: unknown): boolean => statusOf(cause) === 304

/**
 * A name two resources share (two networks made by two processes' concurrent ensures): Docker
 * refuses it as ambiguous, and the caller goes on by id.
 *
 * @internal
 */
export const isAmbiguousName = (error: ContainerEngineError.ContainerEngineError): boolean =>
  error._tag === "EngineError" && /is ambiguous/.test(error.detail)

/**
 * @internal
 */
export const networkNotFound = (network: string): ContainerEngineError.NetworkNotFound =>
  new ContainerEngineError.NetworkNotFound({ network })

/**
 * A request the engine did not answer within `timeout`.
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
    detail: `the engine at ${context.address} did not answer within ${Duration.format(timeout)}`
  })

// What the engine's message says went wrong with a pull, whatever status it came with; the first
// that matches wins. Docker Hub's "pull access denied …, repository does not exist or may require
// 'docker login'" hides whether the repository exists: it is read as not found.
const pullPatterns: ReadonlyArray<readonly [ContainerEngineError.PullFailureReason, RegExp]> = [
  ["NotFound", /manifest unknown|not found|name unknown|repository does not exist|pull access denied/i],
  [
    "Unauthorized",
    /unauthorized|authentication required|no basic auth credentials|incorrect username or password|denied/i
  ],
  [
    "RegistryUnreachable",
    /dial tcp|connection refused|no such host|i\/o timeout|network is unreachable|no route to host|tls: |x509: |server gave HTTP response to HTTPS client|connection reset by peer|Client\.Timeout exceeded/i
  ]
]

/**
 * A pull's failure from the engine's own message: in the response to the request (`status` is
 * then its HTTP status) or inside the progress stream.
 *
 * @internal
 */
export const pullFailed = (
  image: string,
  detail: string,
  where: { readonly _tag: "Response"; readonly status: number | undefined } | { readonly _tag: "Stream" }
): ContainerEngineError.PullFailed => {
  // The reference and URLs in the message may hold any word ("team/denied"): match the rest.
  const words = detail
    .split(image)
    .join("<image>")
    .replace(/"[^"]*"/g, '""')
    .replace(/manifest for \S+/g, "manifest for <image>")
  const matched = pullPatterns.find(([, pattern]) => pattern.test(words))?.[0]
  const byStatus =
    where._tag === "Stream"
      ? "InStream"
      : where.status === 404
        ? "NotFound"
        : where.status === 401 || where.status === 403
          ? "Unauthorized"
          : "Failed"
  return new ContainerEngineError.PullFailed({ image, reason: matched ?? byStatus, detail })
}

/**
 * Whatever stops a pull, but an absent engine or bad input, is the pull's own failure: an error
 * answer is read by its message and status, and a request with no answer at all (the engine
 * sent nothing for the request timeout, or dropped the stream) means the pull was interrupted.
 *
 * @internal
 */
export const asPullFailure =
  (image: string) =>
  (error: ContainerEngineError.ContainerEngineError): ContainerEngineError.ContainerEngineError => {
    switch (error._tag) {
      case "EngineUnreachable":
      case "PullFailed":
      case "InputError":
        return error
      case "ImageNotFound":
        return pullFailed(image, error.detail ?? error.message, { _tag: "Response", status: 404 })
      case "EngineError":
        return error.status === undefined
          ? new ContainerEngineError.PullFailed({ image, reason: "Interrupted", detail: error.detail })
          : pullFailed(image, error.detail, { _tag: "Response", status: error.status })
      default:
        return new ContainerEngineError.PullFailed({ image, reason: "Failed", detail: error.message })
    }
  }

const hint = (code: string): string => {
  switch (code) {
    case "ENOENT":
      return "the socket does not exist"
    case "EACCES":
      return "permission denied on the socket (is your user in the docker group?)"
    case "ECONNREFUSED":
      return "connection refused"
    default:
      return code
  }
}

/**
 * Maps any failure of a request to a `ContainerEngineError`.
 *
 * @internal
 */
export const toDockerError =
  (context: RequestContext) =>
  (cause: unknown): ContainerEngineError.ContainerEngineError => {
    const code = unreachableCode(cause)
    if (code !== undefined) {
      return new ContainerEngineError.EngineUnreachable({ address: context.address, detail: hint(code) })
    }
    const status = statusOf(cause)
    const detail = messageOf(cause)
    switch (status) {
      case 404: {
        if (/no such image/i.test(detail)) {
          return new ContainerEngineError.ImageNotFound({ image: context.image ?? context.name, detail })
        }
        const network = /network (\S+) not found/i.exec(detail)
        if (network !== null) return new ContainerEngineError.NetworkNotFound({ network: network[1]! })
        if (/no such container/i.test(detail))
          return new ContainerEngineError.ContainerNotFound({ container: context.name })
        if (/no such volume/i.test(detail))
          return new ContainerEngineError.VolumeNotFound({ volume: context.name })
        switch (context.kind) {
          case "image":
            return new ContainerEngineError.ImageNotFound({ image: context.name, detail })
          case "container":
            return new ContainerEngineError.ContainerNotFound({ container: context.name })
          case "volume":
            return new ContainerEngineError.VolumeNotFound({ volume: context.name })
          case "network":
            return new ContainerEngineError.NetworkNotFound({ network: context.name })
        }
        break
      }
      case 409:
        if (context.conflict === "VolumeInUse")
          return new ContainerEngineError.VolumeInUse({ volume: context.name })
        if (
          context.conflict === "NameConflict" &&
          (context.kind === "container" || context.kind === "network")
        ) {
          return new ContainerEngineError.NameConflict({ kind: context.kind, name: context.name })
        }
        break
    }
    return new ContainerEngineError.EngineError({
      operation: context.operation,
      resource: context.name,
      ...(status === undefined ? {} : { status }),
      detail
    })
  }
