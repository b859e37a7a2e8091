/**
 * Failures of the TLS and ssh transports as typed errors: what Node's TLS stack and the ssh
 * transport raise becomes an `EngineTlsError` or `EngineSshError` naming the address; anything
 * else goes through the engine's own mapping (`error.ts`).
 *
 * @internal
 */
import { ContainerEngineError } from "@armada/engine"
import type { Endpoint } from "../EngineDiscovery.js"
import { type AttemptError, EngineSshError, EngineTlsError } from "../EngineDiscoveryError.js"
import { address } from "./endpoint.js"
import { type RequestContext, toDockerError } from "./error.js"
import { SshFailure } from "./sshTransport.js"
import { caSource } from "./transport.js"

// Node's codes for a server certificate the client does not trust.
const untrusted = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "INVALID_CA",
  "INVALID_PURPOSE"
])

// OpenSSL alerts the server sends when it refuses the client's certificate (or has none).
const clientRefused =
  /^ERR_SSL_(TLSV13_ALERT_CERTIFICATE_REQUIRED|TLSV1_ALERT_UNKNOWN_CA|SSLV3_ALERT_BAD_CERTIFICATE|SSLV3_ALERT_CERTIFICATE_UNKNOWN|TLSV1_ALERT_ACCESS_DENIED|SSLV3_ALERT_HANDSHAKE_FAILURE|TLSV1_ALERT_DECRYPT_ERROR|SSLV3_ALERT_CERTIFICATE_EXPIRED)$/

const codeOf = (cause: unknown): string | undefined => {
  const code = typeof cause === "object" && cause !== null ? (cause as { code?: unknown }).code : undefined
  return typeof code === "string" ? code : undefined
}

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/**
 * The transport's own error for `cause`, if it is one.
 *
 * @internal
 */
export const transportError = (
  endpoint: Endpoint,
  cause: unknown
): EngineTlsError | EngineSshError | undefined => {
  const at = address(endpoint)
  if (cause instanceof SshFailure)
    return new EngineSshError({ address: at, reason: cause.reason, detail: cause.detail })
  if (endpoint._tag !== "Tcp" || endpoint.tls === undefined) return undefined
  const code = codeOf(cause)
  if (code === undefined) return undefined
  const tls = (reason: EngineTlsError["reason"]) =>
    new EngineTlsError({
      address: at,
      reason,
      ca: caSource(endpoint.tls!),
      detail: `${code}: ${messageOf(cause)}`
    })
  if (untrusted.has(code)) return tls("UntrustedServer")
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return tls("HostnameMismatch")
  if (clientRefused.test(code)) return tls("ClientCertificateRejected")
  if (code.startsWith("ERR_SSL_") || code === "EPROTO") return tls("Handshake")
  return undefined
}

/**
 * Any failure of a request to `endpoint` that asks only for the engine (a ping): the transport's
 * error, else the engine's, an answer about some resource counting as an `EngineError`.
 *
 * @internal
 */
export const toAttemptError =
  (endpoint: Endpoint, context: RequestContext) =>
  (cause: unknown): AttemptError => {
    const transport = transportError(endpoint, cause)
    if (transport !== undefined) return transport
    const engine = toDockerError(context)(cause)
    switch (engine._tag) {
      case "EngineUnreachable":
      case "EngineError":
      case "InputError":
        return engine
      default:
        return new ContainerEngineError.EngineError({
          operation: context.operation,
          resource: context.name,
          detail: engine.message
        })
    }
  }
