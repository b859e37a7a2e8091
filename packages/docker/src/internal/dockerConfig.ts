/**
 * The Docker CLI's config file (`config.json`): its schema, how it is read, and how a registry
 * finds its entry in it. Secrets are decoded straight into `Redacted` and never quoted in errors.
 *
 * @internal
 */
import type { FileSystem } from "@effect/platform"
import { Effect, Either, Option, ParseResult, Redacted, Schema } from "effect"
import type { RegistryAuth } from "../Credentials.js"
import { ConfigFileInvalid } from "../CredentialsError.js"

const Entry = Schema.Struct({
  /** base64 of `username:password`, as `docker login` writes it. */
  auth: Schema.optional(Schema.Redacted(Schema.String)),
  username: Schema.optional(Schema.String),
  password: Schema.optional(Schema.Redacted(Schema.String)),
  identitytoken: Schema.optional(Schema.Redacted(Schema.String))
})

/** @internal */
export type Entry = typeof Entry.Type

/** The fields armada reads; the CLI's other fields are ignored. @internal */
export const ConfigFile = Schema.Struct({
  auths: Schema.optional(Schema.Record({ key: Schema.String, value: Entry })),
  credHelpers: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  credsStore: Schema.optional(Schema.String)
})

/** @internal */
export type ConfigFile = typeof ConfigFile.Type

const decode = Schema.decodeUnknownEither(ConfigFile)

// Where a decode failed, never the value found there (it may be a secret).
const wherePaths = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => issue.path.map((key) => `[${JSON.stringify(key)}]`).join("") || "the top level")
    .join(", ")

const parseJson = (text: string): Either.Either<unknown, string> =>
  Either.try({
    try: () => JSON.parse(text) as unknown,
    // V8's message quotes the text around the error, which may hold a secret: keep the position.
    catch: (error) => {
      const position = /position (\d+)/.exec(String(error))
      return `is not valid JSON${position === null ? "" : ` (at character ${position[1]})`}`
    }
  })

/**
 * The config file at `path`; a missing file is an empty config, as for the Docker CLI.
 *
 * @internal
 */
export const read = (fs: FileSystem.FileSystem, path: string): Effect.Effect<ConfigFile, ConfigFileInvalid> =>
  fs.readFileString(path).pipe(
    Effect.catchIf(
      (error) => error._tag === "SystemError" && error.reason === "NotFound",
      () => Effect.succeed("{}")
    ),
    Effect.mapError(
      (error) =>
        new ConfigFileInvalid({
          path,
          detail: `cannot be read (${error._tag === "SystemError" ? error.reason : error.message})`
        })
    ),
    Effect.flatMap((text) =>
      Either.flatMap(parseJson(text), (json) =>
        Either.mapLeft(decode(json), (error) => `has an unexpected value at ${wherePaths(error)}`)
      ).pipe(Either.mapLeft((detail) => new ConfigFileInvalid({ path, detail })))
    )
  )

/**
 * Docker Hub's key in the config file, the one `docker login` writes.
 *
 * @internal
 */
export const indexServer = "https://index.docker.io/v1/"

const dockerHubHosts = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"])

/**
 * The key the Docker CLI stores a registry's credentials under and sends to a credential helper:
 * `indexServer` for Docker Hub, `host[:port]` for any other registry.
 *
 * @internal
 */
export const keyOf = (registry: string): string =>
  dockerHubHosts.has(hostOf(registry)) ? indexServer : registry

// `https://host:port/v1/` → `host:port`; Docker Hub's names as one.
const hostOf = (key: string): string => {
  const host = key.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//, "").split("/")[0]!
  return dockerHubHosts.has(host) ? "docker.io" : host
}

/**
 * The entry of `record` for `registry`: under its exact key first, else under any key naming the
 * same host (with a scheme, a path, or another of Docker Hub's names), as the CLI reads old files.
 *
 * @internal
 */
export const entryFor = <A>(
  record: Readonly<Record<string, A>> | undefined,
  registry: string
): Option.Option<readonly [key: string, value: A]> => {
  if (record === undefined) return Option.none()
  const key = keyOf(registry)
  if (Object.hasOwn(record, key)) return Option.some([key, record[key]!] as const)
  const host = hostOf(key)
  return Option.fromNullable(Object.entries(record).find(([candidate]) => hostOf(candidate) === host))
}

const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/**
 * The credentials an `auths` entry holds: `auth` (which wins, as in the CLI) or
 * `username`/`password`, and `identitytoken`; none when it holds nothing (as `docker login`
 * leaves it when a credential store keeps the secret).
 *
 * @internal
 */
export const authOf = (
  path: string,
  key: string,
  entry: Entry
): Either.Either<Option.Option<RegistryAuth>, ConfigFileInvalid> => {
  let username = entry.username
  let password = entry.password
  const auth = entry.auth === undefined ? "" : Redacted.value(entry.auth)
  if (auth !== "") {
    const decoded = base64.test(auth) ? Buffer.from(auth, "base64").toString("utf8") : ""
    const colon = decoded.indexOf(":")
    if (colon < 0) {
      return Either.left(
        new ConfigFileInvalid({
          path,
          detail: `has an auth for ${key} that is not base64 of username:password`
        })
      )
    }
    username = decoded.slice(0, colon)
    password = Redacted.make(decoded.slice(colon + 1))
  }
  const identityToken = nonEmpty(entry.identitytoken)
  password = nonEmpty(password)
  if (!username && password === undefined && identityToken === undefined) return Either.right(Option.none())
  return Either.right(
    Option.some({ serverAddress: key, username: username || undefined, password, identityToken })
  )
}

const nonEmpty = (secret: Redacted.Redacted | undefined): Redacted.Redacted | undefined =>
  secret === undefined || Redacted.value(secret) === "" ? undefined : secret
