/**
 * The typed errors of finding a Docker engine and connecting to it (`EngineDiscovery`, the TLS
 * and ssh transports). Each names the address and where the setting came from; none carries key
 * material or a certificate, only the paths of the files.
 *
 * @since 0.2.0
 */
import { InputError } from "@armada/core"
import { ContainerEngineError } from "@armada/engine"
import { Schema } from "effect"

/**
 * A Docker context that cannot be used: `DOCKER_CONTEXT` or the config's `currentContext` names
 * one the store does not have (`NotFound`), its `meta.json` is not what the Docker CLI writes
 * (`Invalid`), or it has no Docker endpoint (`NoDockerEndpoint`).
 *
 * @since 0.2.0
 * @category errors
 */
export class DockerContextError extends Schema.TaggedError<DockerContextError>(
  "@armada/docker/DockerContextError"
)("DockerContextError", {
  context: Schema.String,
  path: Schema.String,
  reason: Schema.Literal("NotFound", "Invalid", "NoDockerEndpoint"),
  detail: Schema.String
}) {
  override get message(): string {
    const messages: Record<DockerContextError["reason"], string> = {
      NotFound: `the Docker context ${this.context} does not exist (no ${this.path}); \`docker context ls\` lists them, or unset DOCKER_CONTEXT / run \`docker context use default\``,
      Invalid: `the Docker context ${this.context} cannot be read: ${this.path} ${this.detail}; recreate it with \`docker context create\``,
      NoDockerEndpoint: `the Docker context ${this.context} has no Docker endpoint (${this.path}); recreate it with \`docker context create ${this.context} --docker host=…\``
    }
    return messages[this.reason]
  }
}

/**
 * TLS with the engine failed: the engine's certificate is not signed by the CA in use
 * (`UntrustedServer`) or is not for the address dialled (`HostnameMismatch`), the engine refused
 * the client certificate or wants one (`ClientCertificateRejected`), the certificate files are
 * missing or unreadable (`Material`), or the handshake failed otherwise (`Handshake`, e.g. the
 * port speaks plain HTTP). `ca` is where the trusted CA came from.
 *
 * @since 0.2.0
 * @category errors
 */
export class EngineTlsError extends Schema.TaggedError<EngineTlsError>("@armada/docker/EngineTlsError")(
  "EngineTlsError",
  {
    address: Schema.String,
    reason: Schema.Literal(
      "UntrustedServer",
      "HostnameMismatch",
      "ClientCertificateRejected",
      "Material",
      "Handshake"
    ),
    ca: Schema.String,
    detail: Schema.String
  }
) {
  override get message(): string {
    const at = `TLS with the Docker engine at ${this.address} failed`
    const messages: Record<EngineTlsError["reason"], string> = {
      UntrustedServer: `${at}: its certificate is not signed by the CA in ${this.ca} (${this.detail}); point DOCKER_CERT_PATH (or the context's TLS material) at the ca.pem of the CA that signed the engine's certificate`,
      HostnameMismatch: `${at}: its certificate is not for that address (${this.detail}); use the name or IP address the certificate was issued for`,
      ClientCertificateRejected: `${at}: the engine refused the client certificate (${this.detail}); it needs cert.pem and key.pem signed by the CA it trusts, in DOCKER_CERT_PATH or the context's TLS material`,
      Material: `${at}: ${this.detail}`,
      Handshake: `${at}: ${this.detail}; is the engine listening with TLS on that port (dockerd --tlsverify)?`
    }
    return messages[this.reason]
  }
}

/**
 * The ssh transport failed: the server's host key is not in `known_hosts` (`UnknownHost`) or
 * differs from the one recorded there (`HostKeyMismatch`), no key was accepted
 * (`Authentication`), no key could be read (`NoKey`), or the remote `docker system dial-stdio`
 * failed (`RemoteCommand`, with its output).
 *
 * @since 0.2.0
 * @category errors
 */
export class EngineSshError extends Schema.TaggedError<EngineSshError>("@armada/docker/EngineSshError")(
  "EngineSshError",
  {
    address: Schema.String,
    reason: Schema.Literal("UnknownHost", "HostKeyMismatch", "Authentication", "NoKey", "RemoteCommand"),
    detail: Schema.String
  }
) {
  override get message(): string {
    const at = `ssh to the Docker engine at ${this.address} failed`
    const messages: Record<EngineSshError["reason"], string> = {
      UnknownHost: `${at}: the server's host key is not in ${this.detail}; check its fingerprint and add it (\`ssh <host>\` once, or ssh-keyscan)`,
      HostKeyMismatch: `${at}: the server's host key differs from the one in ${this.detail}; the server was replaced or someone is in between; check it before updating known_hosts`,
      Authentication: `${at}: the server accepted none of the keys tried (${this.detail}); add your public key to the remote user's authorized_keys, or load it into ssh-agent`,
      NoKey: `${at}: no key to log in with (${this.detail}); start ssh-agent with your key (SSH_AUTH_SOCK) or create ~/.ssh/id_ed25519`,
      RemoteCommand: `${at}: \`docker system dial-stdio\` did not run on the remote host (${this.detail}); install the Docker CLI there and check the remote user may use the engine`
    }
    return messages[this.reason]
  }
}

/**
 * What stopped one candidate engine from answering.
 *
 * @since 0.2.0
 * @category errors
 */
export const AttemptError = Schema.Union(
  ContainerEngineError.EngineUnreachable,
  ContainerEngineError.EngineError,
  EngineTlsError,
  EngineSshError,
  DockerContextError,
  InputError
)

/**
 * @since 0.2.0
 * @category errors
 */
export type AttemptError = typeof AttemptError.Type

/**
 * One candidate tried: where it came from, its address, and what went wrong.
 *
 * @since 0.2.0
 * @category models
 */
export const Attempt = Schema.Struct({
  source: Schema.String,
  address: Schema.String,
  error: AttemptError
})

/**
 * @since 0.2.0
 * @category models
 */
export type Attempt = typeof Attempt.Type

/**
 * No engine answered: every candidate tried, in order, with its error.
 *
 * @since 0.2.0
 * @category errors
 */
export class NoEngineFound extends Schema.TaggedError<NoEngineFound>("@armada/docker/NoEngineFound")(
  "NoEngineFound",
  { attempts: Schema.Array(Attempt) }
) {
  override get message(): string {
    const tried = this.attempts.map(
      (attempt) => `${attempt.source} ${attempt.address}: ${attempt.error.message}`
    )
    return `no Docker engine answered; tried ${tried.join("; ")}. Start one (dockerd, Docker Desktop, \`podman system service\`), or point DOCKER_HOST, --host or DOCKER_CONTEXT at a running engine`
  }
}

/**
 * Every error of finding an engine: the chosen candidate's own error when the user named one
 * (flag, `DOCKER_HOST`, a context), `NoEngineFound` when none of the usual places answered.
 *
 * @since 0.2.0
 * @category errors
 */
export type EngineDiscoveryError = AttemptError | NoEngineFound
