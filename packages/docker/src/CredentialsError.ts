/**
 * The typed errors of `Credentials`. None of them carries a secret: a config file's values and a
 * helper's answer are never quoted, only where the problem is.
 *
 * @since 0.2.0
 */
import { Schema } from "effect"

/**
 * The Docker config file (`config.json` in `DOCKER_CONFIG` or `~/.docker`) could not be read or
 * is not what the Docker CLI writes there.
 *
 * @since 0.2.0
 * @category errors
 */
export class ConfigFileInvalid extends Schema.TaggedError<ConfigFileInvalid>(
  "@armada/docker/ConfigFileInvalid"
)("ConfigFileInvalid", { path: Schema.String, detail: Schema.String }) {
  override get message(): string {
    return `the Docker config file ${this.path} ${this.detail}; fix it (\`docker login\` rewrites its entry) or point DOCKER_CONFIG at another folder`
  }
}

/**
 * A `docker-credential-<helper>` that could not answer for a registry: not on `PATH`, exited with
 * an error (its message is in `detail`), answered something that is not the helper protocol's
 * JSON, or did not answer in time.
 *
 * @since 0.2.0
 * @category errors
 */
export class CredentialHelperFailed extends Schema.TaggedError<CredentialHelperFailed>(
  "@armada/docker/CredentialHelperFailed"
)("CredentialHelperFailed", {
  helper: Schema.String,
  registry: Schema.String,
  reason: Schema.Literal("NotInstalled", "Failed", "BadAnswer", "TimedOut"),
  detail: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const program = `docker-credential-${this.helper}`
    const messages: Record<CredentialHelperFailed["reason"], string> = {
      NotInstalled: `the Docker config names the credential helper ${program} for ${this.registry}, but it is not on PATH; install it, or remove it from the config's credsStore/credHelpers`,
      Failed: `${program} could not give the credentials for ${this.registry}${this.detail === undefined ? "" : ` (${this.detail})`}; run \`docker login ${this.registry}\` again`,
      BadAnswer: `${program} answered for ${this.registry} with something that is not a credential helper's JSON ({ServerURL, Username, Secret}); update or reinstall it`,
      TimedOut: `${program} did not answer for ${this.registry}${this.detail === undefined ? "" : ` within ${this.detail}`}; is it waiting for a keychain to be unlocked?`
    }
    return messages[this.reason]
  }
}

/**
 * @since 0.2.0
 * @category errors
 */
export type CredentialsError = ConfigFileInvalid | CredentialHelperFailed
