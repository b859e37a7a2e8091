/**
 * Image references: `[registry[:port]/]repository[:tag][@sha256:digest]`, as Docker reads them.
 *
 * @since 0.1.0
 */
import { Option, type ParseResult, Schema } from "effect"
import { describe } from "./internal/describe.js"

const component = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
const registry =
  "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?"
const tag = "[\\w][\\w.-]{0,127}"
const digest = "sha256:[a-f0-9]{64}"
const pattern = new RegExp(
  `^(?:(${registry})/)?(${component}(?:/${component})*)(?::(${tag}))?(?:@(${digest}))?$`
)

function message(issue: ParseResult.ParseIssue): string {
  return `expected an image reference, got ${describe(issue.actual)}`
}

/**
 * An image reference, validated; the string itself is what the engine receives.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ImageRef = Schema.String.annotations({ message }).pipe(
  Schema.filter((s) => isImageRef(s), { message }),
  Schema.brand("@armada/core/ImageRef"),
  Schema.annotations({ identifier: "ImageRef" })
)

/**
 * @since 0.1.0
 * @category models
 */
export type ImageRef = typeof ImageRef.Type

/**
 * @since 0.1.0
 * @category models
 */
export interface ImageRefParts {
  readonly registry: Option.Option<string>
  readonly repository: string
  readonly tag: Option.Option<string>
  readonly digest: Option.Option<string>
}

/** A name of 255 characters, a tag of 128 and a digest, with their separators. */
const maxLength = 255 + 1 + 128 + 1 + 71

const split = (s: string): ImageRefParts | undefined => {
  // The length check first also bounds the work of the regular expression.
  if (s.length > maxLength) return undefined
  const match = pattern.exec(s)
  if (match === null) return undefined
  const [, matchedHost, matchedRepository, tagPart, digestPart] = match
  let host: string | undefined = matchedHost
  let repository = matchedRepository!
  // Docker reads the first component as a registry only when it looks like a host: it has a dot,
  // a port or an upper-case letter, or is `localhost` (or an IPv6 address in brackets).
  if (
    host !== undefined &&
    !(
      host.includes(".") ||
      host.includes(":") ||
      host === "localhost" ||
      host.startsWith("[") ||
      host !== host.toLowerCase()
    )
  ) {
    repository = `${host}/${repository}`
    host = undefined
  }
  // Docker's limit is on the name: the registry and the repository.
  if ((host === undefined ? 0 : host.length + 1) + repository.length > 255) return undefined
  return {
    registry: Option.fromNullable(host),
    repository,
    tag: Option.fromNullable(tagPart),
    digest: Option.fromNullable(digestPart)
  }
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isImageRef = (s: string): boolean => split(s) !== undefined

/**
 * The parts of a valid reference. A missing tag with no digest means `latest`, as Docker reads it.
 *
 * @since 0.1.0
 * @category getters
 */
export const parts = (ref: ImageRef): ImageRefParts => split(ref)!

/**
 * The reference with its tag made explicit (`repo` → `repo:latest`), the form engines list.
 *
 * @since 0.1.0
 * @category getters
 */
export const withDefaultTag = (ref: ImageRef): ImageRef => {
  const p = parts(ref)
  return Option.isNone(p.tag) && Option.isNone(p.digest) ? ImageRef.make(`${ref}:latest`) : ref
}

/**
 * Docker Hub's registry host, where a reference without a registry is pulled from.
 *
 * @since 0.2.0
 * @category constants
 */
export const dockerHub = "docker.io"

/**
 * The registry a reference is pulled from, as the Docker CLI reads it: its own host, else
 * `docker.io` (`index.docker.io` is Docker Hub's old name for the same).
 *
 * @since 0.2.0
 * @category getters
 */
export const registryOf = (ref: ImageRef): string => {
  const host = Option.getOrElse(parts(ref).registry, () => dockerHub)
  return host === "index.docker.io" ? dockerHub : host
}

/**
 * The fully-qualified reference the Docker CLI pulls for `ref`: the registry, `library/` before
 * a single-name Docker Hub repository, and `latest` when there is neither tag nor digest
 * (`alpine` → `docker.io/library/alpine:latest`).
 *
 * @since 0.2.0
 * @category getters
 */
export const canonical = (ref: ImageRef): string => {
  const p = parts(ref)
  const registry = registryOf(ref)
  const repository =
    registry === dockerHub && !p.repository.includes("/") ? `library/${p.repository}` : p.repository
  const tag = Option.match(p.tag, {
    onNone: () => (Option.isNone(p.digest) ? ":latest" : ""),
    onSome: (t) => `:${t}`
  })
  const digest = Option.match(p.digest, { onNone: () => "", onSome: (d) => `@${d}` })
  return `${registry}/${repository}${tag}${digest}`
}
