/**
 * The ids, names and labels of PROTOCOL.md ("Naming"), as `Schema`s with clear errors. Ids are
 * lower-cased and then must match `^[a-z0-9][a-z0-9_.-]{0,62}$`; anything else is an input error
 * long before any engine sees it.
 *
 * @since 0.1.0
 */
import { Effect, ParseResult, Schema } from "effect"
import { InputError } from "./InputError.js"
import { describe } from "./internal/describe.js"

const idPattern = /^[a-z0-9][a-z0-9_.-]{0,62}$/

/**
 * Only A-Z are lower-cased: Unicode case mapping would turn some non-ASCII letters into ASCII
 * ones (the Kelvin sign into `k`), so two different ids could name the same container.
 */
const lowerAscii = (s: string): string => s.replace(/[A-Z]+/g, (upper) => upper.toLowerCase())

function idMessage(issue: ParseResult.ParseIssue): string {
  return `expected an id of 1-63 characters [a-z0-9_.-] starting with a letter or digit, got ${describe(issue.actual)}`
}

/**
 * A processor, plugin, template or session id, or a name prefix: lower-cased (A-Z only), then 1 to 63
 * characters of `a-z 0-9 _ . -`, starting with a letter or digit.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Id = Schema.transform(Schema.String.annotations({ message: idMessage }), Schema.String, {
  strict: true,
  decode: lowerAscii,
  encode: (s) => s
}).pipe(
  Schema.filter((s) => idPattern.test(s), { message: idMessage }),
  Schema.brand("@armada/core/Id"),
  Schema.annotations({ identifier: "Id" })
)

/**
 * @since 0.1.0
 * @category models
 */
export type Id = typeof Id.Type

/**
 * The roles a container plays in a pipeline.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Role = Schema.Literal("processor", "plugin", "merger", "resolver").annotations({
  // `override`: one message for the union rather than one per literal.
  message: (issue) => ({
    message: `expected "processor", "plugin", "merger" or "resolver", got ${describe(issue.actual)}`,
    override: true
  })
})

/**
 * @since 0.1.0
 * @category models
 */
export type Role = typeof Role.Type

/**
 * Decodes `value` as an `Id`, failing with an `InputError` that names `field`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const decodeId = (field: string, value: unknown): Effect.Effect<Id, InputError> =>
  decodeAs(Id, field, value)

/**
 * Decodes `value` with `schema`, turning a parse error into an `InputError` naming `field` that
 * lists every issue, each inside `value` prefixed with its path (`field: a.b: ...; c: ...`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const decodeAs = <A, I>(schema: Schema.Schema<A, I>, field: string, value: unknown) =>
  Schema.decodeUnknown(schema, { errors: "all" })(value).pipe(
    Effect.mapError(
      (error) =>
        new InputError({
          field,
          value,
          reason: ParseResult.ArrayFormatter.formatErrorSync(error)
            .map((issue) =>
              issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`
            )
            .join("; ")
        })
    )
  )

/**
 * Turns an id made of anything (a file name, a user's label) into a valid `Id`, or undefined when
 * nothing usable is left.
 *
 * @since 0.1.0
 * @category constructors
 */
export const sanitizeId = (raw: string): Id | undefined => {
  const cleaned = lowerAscii(raw)
    .replace(/[^a-z0-9_.-]+/g, "-")
    .replace(/^[^a-z0-9]+/, "")
    .slice(0, 63)
  return idPattern.test(cleaned) ? Id.make(cleaned) : undefined
}

function prefixMessage(issue: ParseResult.ParseIssue): string {
  return `expected a prefix of 2-63 characters [a-z0-9_.-] starting with a letter or digit, got ${describe(issue.actual)}`
}

/**
 * A name prefix: an `Id` of at least 2 characters, since the prefix alone also names its network
 * and engines take names of 2 characters or more.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Prefix = Id.pipe(
  Schema.filter((s) => s.length >= 2, { message: prefixMessage }),
  Schema.annotations({ identifier: "Prefix" })
)

/**
 * The default name prefix.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPrefix: Id = Id.make("armada")

/**
 * `<prefix>-<role>-<id>-<session>`
 *
 * @since 0.1.0
 * @category names
 */
export const containerName = (prefix: Id, role: Role, id: Id, session: Id): string =>
  `${prefix}-${role}-${id}-${session}`

/**
 * `<prefix>-<templateId>-<session>-template`: one per session, so two runs of one template at
 * once never share it (or remove each other's).
 *
 * @since 0.1.0
 * @category names
 */
export const templateVolumeName = (prefix: Id, templateId: Id, session: Id): string =>
  `${prefix}-${templateId}-${session}-template`

/**
 * `<prefix>-<templateId>-<session>`
 *
 * @since 0.1.0
 * @category names
 */
export const sessionVolumeName = (prefix: Id, templateId: Id, session: Id): string =>
  `${prefix}-${templateId}-${session}`

/**
 * `<prefix>`: the bridge network of every session.
 *
 * @since 0.1.0
 * @category names
 */
export const networkName = (prefix: Id): string => prefix

/**
 * The label keys armada puts on everything it creates.
 *
 * @since 0.1.0
 * @category labels
 */
export const labelKeys = (prefix: Id) => ({
  managed: `${prefix}.managed`,
  session: `${prefix}.session`,
  role: `${prefix}.role`
})

/**
 * The labels of a resource: `<prefix>.managed=true`, plus the session and the role when given.
 *
 * @since 0.1.0
 * @category labels
 */
export const labels = (
  prefix: Id,
  options: { readonly session?: Id | undefined; readonly role?: string | undefined } = {}
): Record<string, string> => {
  const keys = labelKeys(prefix)
  return {
    [keys.managed]: "true",
    ...(options.session === undefined ? {} : { [keys.session]: options.session }),
    ...(options.role === undefined ? {} : { [keys.role]: options.role })
  }
}

/**
 * The label filter that finds everything armada made under `prefix`, or one session of it.
 *
 * @since 0.1.0
 * @category labels
 */
export const labelFilter = (prefix: Id, session?: Id): Record<string, string> => labels(prefix, { session })
