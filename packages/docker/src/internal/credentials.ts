/**
 * The `Credentials` service: which source serves a registry, in the Docker CLI's order, and the
 * credentials it gives.
 *
 * @internal
 */
import * as os from "node:os"
import { CommandExecutor, FileSystem, Path } from "@effect/platform"
import { type Duration, Effect, Either, Option } from "effect"
import type { Credentials, RegistryAuth, Source } from "../Credentials.js"
import type { CredentialsError } from "../CredentialsError.js"
import * as CredentialHelper from "./credentialHelper.js"
import * as DockerConfig from "./dockerConfig.js"

/** @internal */
export interface Options {
  readonly directory: string | undefined
  readonly helperTimeout: Duration.Duration
}

/** A registry's source, and how to get its credentials from it. */
interface Resolved {
  readonly source: Source
  readonly auth: Effect.Effect<Option.Option<RegistryAuth>, CredentialsError>
}

/** @internal */
export const make = (
  options: Options
): Effect.Effect<
  Credentials.Service,
  never,
  FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor
> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const executor = yield* CommandExecutor.CommandExecutor
    const file = path.join(options.directory ?? path.join(os.homedir(), ".docker"), "config.json")

    const fromHelper = (helper: string, key: string) =>
      CredentialHelper.get(helper, key, options.helperTimeout).pipe(
        Effect.provideService(CommandExecutor.CommandExecutor, executor),
        Effect.map(
          Option.map(
            (answer): RegistryAuth =>
              answer.username === CredentialHelper.tokenUsername
                ? {
                    serverAddress: key,
                    username: undefined,
                    password: undefined,
                    identityToken: answer.secret
                  }
                : {
                    serverAddress: key,
                    username: answer.username,
                    password: answer.secret,
                    identityToken: undefined
                  }
          )
        )
      )

    // The CLI's order: a helper for this registry, else the store for all, else the file itself.
    const resolve = (registry: string): Effect.Effect<Resolved, CredentialsError> =>
      Effect.flatMap(DockerConfig.read(fs, file), (config) => {
        const key = DockerConfig.keyOf(registry)
        const helper = DockerConfig.entryFor(config.credHelpers, registry).pipe(
          Option.filter(([, name]) => name !== "")
        )
        if (Option.isSome(helper)) {
          const [helperKey, name] = helper.value
          return Effect.succeed({
            source: { _tag: "CredentialHelper", helper: name, key: helperKey },
            auth: fromHelper(name, key)
          })
        }
        if (config.credsStore !== undefined && config.credsStore !== "") {
          return Effect.succeed({
            source: { _tag: "CredentialStore", helper: config.credsStore },
            auth: fromHelper(config.credsStore, key)
          })
        }
        const anonymous: Resolved = { source: { _tag: "Anonymous" }, auth: Effect.succeedNone }
        return Option.match(DockerConfig.entryFor(config.auths, registry), {
          onNone: () => Effect.succeed(anonymous),
          onSome: ([entryKey, entry]) =>
            Either.match(DockerConfig.authOf(file, entryKey, entry), {
              onLeft: Effect.fail,
              onRight: (auth): Effect.Effect<Resolved> =>
                Effect.succeed(
                  Option.isNone(auth)
                    ? anonymous
                    : {
                        source: { _tag: "ConfigFile", path: file, key: entryKey },
                        auth: Effect.succeed(Option.some({ ...auth.value, serverAddress: key }))
                      }
                )
            })
        })
      })

    return {
      source: (registry) =>
        resolve(registry).pipe(
          Effect.map((resolved) => resolved.source),
          Effect.withSpan("Credentials.source", { attributes: { registry } })
        ),
      lookup: (registry) =>
        resolve(registry).pipe(
          Effect.flatMap((resolved) => resolved.auth),
          Effect.withSpan("Credentials.lookup", { attributes: { registry } })
        )
    }
  })
