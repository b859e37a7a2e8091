/**
 * The Docker CLI's context store, read as the CLI reads it: the current context from
 * `config.json`, a context's `contexts/meta/<sha256 of its name>/meta.json`, and its TLS material
 * in `contexts/tls/<sha256 of its name>/docker/{ca,cert,key}.pem`.
 *
 * @internal
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { Either, ParseResult, Schema } from "effect"
import type { Tls } from "../EngineDiscovery.js"
import { DockerContextError } from "../EngineDiscoveryError.js"

/** The field of `config.json` discovery reads; the others are ignored. */
const ConfigFile = Schema.parseJson(Schema.Struct({ currentContext: Schema.optional(Schema.String) }))

const ContextMeta = Schema.parseJson(
  Schema.Struct({
    Name: Schema.String,
    Endpoints: Schema.Struct({
      docker: Schema.optional(
        Schema.Struct({
          Host: Schema.String,
          SkipTLSVerify: Schema.optionalWith(Schema.Boolean, { default: () => false })
        })
      )
    })
  })
)

const describeIssue = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => `${issue.path.join(".") || "the top level"}: ${issue.message}`)
    .join("; ")

const readText = (file: string): Either.Either<string | undefined, string> => {
  try {
    return Either.right(fs.readFileSync(file, "utf8"))
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return code === "ENOENT"
      ? Either.right(undefined)
      : Either.left(`cannot be read (${code ?? String(error)})`)
  }
}

/**
 * The `currentContext` of `<configDir>/config.json`; none when the file or the field is missing.
 *
 * @internal
 */
export const currentContext = (configDir: string): Either.Either<string | undefined, DockerContextError> => {
  const file = path.join(configDir, "config.json")
  const invalid = (detail: string) =>
    new DockerContextError({ context: "(current context)", path: file, reason: "Invalid", detail })
  return Either.flatMap(Either.mapLeft(readText(file), invalid), (text) =>
    text === undefined
      ? Either.right(undefined)
      : Either.mapLeft(
          Either.map(Schema.decodeUnknownEither(ConfigFile)(text), (config) => config.currentContext),
          (error) => invalid(`is not valid: ${describeIssue(error)}`)
        )
  )
}

/**
 * The store folder of a context: the hex SHA-256 of its name.
 *
 * @internal
 */
export const storeId = (name: string): string => createHash("sha256").update(name).digest("hex")

/**
 * A context's Docker endpoint: its `Host`, and the TLS it asks for (none for a context with no TLS
 * material and no `SkipTLSVerify`, as for the CLI).
 *
 * @internal
 */
export interface ContextEndpoint {
  readonly host: string
  readonly tls: Tls | undefined
}

/** @internal */
export const load = (configDir: string, name: string): Either.Either<ContextEndpoint, DockerContextError> => {
  const id = storeId(name)
  const file = path.join(configDir, "contexts", "meta", id, "meta.json")
  const error = (reason: DockerContextError["reason"], detail: string) =>
    new DockerContextError({ context: name, path: file, reason, detail })
  return Either.flatMap(
    Either.mapLeft(readText(file), (detail) => error("Invalid", detail)),
    (text) => {
      if (text === undefined) return Either.left(error("NotFound", "no such file"))
      return Either.flatMap(
        Either.mapLeft(Schema.decodeUnknownEither(ContextMeta)(text), (parse) =>
          error("Invalid", `is not valid: ${describeIssue(parse)}`)
        ),
        (meta) => {
          const docker = meta.Endpoints.docker
          if (docker === undefined) return Either.left(error("NoDockerEndpoint", "no Endpoints.docker"))
          const tlsDir = path.join(configDir, "contexts", "tls", id, "docker")
          const material = (file: string) => {
            const full = path.join(tlsDir, file)
            return fs.existsSync(full) ? full : undefined
          }
          const ca = material("ca.pem")
          const cert = material("cert.pem")
          const key = material("key.pem")
          const hasMaterial = ca !== undefined || (cert !== undefined && key !== undefined)
          const tls: Tls | undefined =
            hasMaterial || docker.SkipTLSVerify
              ? {
                  verify: !docker.SkipTLSVerify,
                  ca,
                  cert,
                  key,
                  source: `the TLS material of context ${name} (${tlsDir})`
                }
              : undefined
          return Either.right({ host: docker.Host, tls })
        }
      )
    }
  )
}
