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
  Schema.filter((s) => s.length <= 255 && isImageRef(s), { message }),
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

const componentOnly = new RegExp(`^${component}$`)

const split = (s: string): ImageRefParts | undefined => {
  const match = pattern.exec(s)
  if (match === null) return undefined
  const [, matchedHost, matchedRepository, tagPart, digestPart] = match
  let host: string | undefined = matchedHost
  let repository = matchedRepository!
  // Docker reads the first component as a registry only when it looks like a host.
  if (
    host !== undefined &&
    !(host.includes(".") || host.includes(":") || host === "localhost" || host.startsWith("["))
  ) {
    if (!componentOnly.test(host)) return undefined
    repository = `${host}/${repository}`
    host = undefined
  }
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
