/**
 * The credential helper protocol the Docker CLI speaks: `docker-credential-<name> get` reads the
 * server URL on stdin and prints `{"ServerURL", "Username", "Secret"}` on stdout, or exits non-zero
 * with its message on stdout (`credentials not found in native keychain` when it has none).
 *
 * @internal
 */
import { Command, type CommandExecutor } from "@effect/platform"
import { Duration, Effect, Option, Redacted, Schema, Stream } from "effect"
import { CredentialHelperFailed } from "../CredentialsError.js"

const Answer = Schema.parseJson(
  Schema.Struct({ Username: Schema.String, Secret: Schema.Redacted(Schema.String) })
)
const decodeAnswer = Schema.decodeUnknownOption(Answer)

/** @internal */
export const notFoundMessage = "credentials not found in native keychain"

/** The user name a helper answers with when the secret is an identity token. @internal */
export const tokenUsername = "<token>"

/** @internal */
export interface HelperAnswer {
  readonly username: string
  readonly secret: Redacted.Redacted
}

const text = <E>(stream: Stream.Stream<Uint8Array, E>) => stream.pipe(Stream.decodeText(), Stream.mkString)

// The first line of a helper's complaint, kept short: it is shown to the user as is.
const firstLine = (output: string): string | undefined => {
  const line = output.trim().split("\n")[0]?.trim() ?? ""
  return line === "" ? undefined : line.length > 200 ? `${line.slice(0, 197)}...` : line
}

/**
 * What `docker-credential-<helper> get` has for `serverUrl`: none when it answers "credentials not
 * found". Interrupting it (or its timeout) ends the helper's process.
 *
 * @internal
 */
export const get = (
  helper: string,
  serverUrl: string,
  timeout: Duration.Duration
): Effect.Effect<Option.Option<HelperAnswer>, CredentialHelperFailed, CommandExecutor.CommandExecutor> => {
  const failed = (reason: CredentialHelperFailed["reason"], detail?: string) =>
    new CredentialHelperFailed({
      helper,
      registry: serverUrl,
      reason,
      ...(detail === undefined ? {} : { detail })
    })
  return Effect.scoped(
    Effect.gen(function* () {
      const process = yield* Command.make(`docker-credential-${helper}`, "get").pipe(
        Command.feed(serverUrl),
        Command.start
      )
      const [stdout, stderr, exitCode] = yield* Effect.all(
        [text(process.stdout), text(process.stderr), process.exitCode],
        {
          concurrency: "unbounded"
        }
      )
      if (exitCode !== 0) {
        if (stdout.trim() === notFoundMessage) return Option.none()
        return yield* Effect.fail(
          failed("Failed", firstLine(stdout) ?? firstLine(stderr) ?? `exit code ${exitCode}`)
        )
      }
      const answer = decodeAnswer(stdout)
      if (Option.isNone(answer)) return yield* Effect.fail(failed("BadAnswer"))
      // An empty secret is nothing for this registry.
      if (Redacted.value(answer.value.Secret) === "") return Option.none()
      return Option.some({ username: answer.value.Username, secret: answer.value.Secret })
    })
  ).pipe(
    Effect.catchTag("SystemError", (error) =>
      Effect.fail(failed(error.reason === "NotFound" ? "NotInstalled" : "Failed", error.reason))
    ),
    Effect.catchTag("BadArgument", (error) => Effect.fail(failed("Failed", error.message))),
    Effect.timeoutFail({ duration: timeout, onTimeout: () => failed("TimedOut", Duration.format(timeout)) })
  )
}
