/** @internal */
import { Array as Arr, Option, type ParseResult, SchemaAST } from "effect"
import type { SpecIssue } from "../OrchestratorError.js"

/**
 * Flattens a parse error into `{ path, message }` pairs, one per problem, with paths written the
 * way a person reads them (`processors[2].image`) and messages of the form "expected X, got Y".
 * A union (or any schema) with a `message` annotation is reported with that message alone rather
 * than one line per member.
 *
 * @internal
 */
export const fromParseError = (error: ParseResult.ParseError): Array<SpecIssue> =>
  Arr.dedupeWith(walk(error.issue, []), (a, b) => a.path === b.path && a.message === b.message)

const walk = (issue: ParseResult.ParseIssue, path: ReadonlyArray<PropertyKey>): Array<SpecIssue> => {
  const at = (message: string): Array<SpecIssue> => [{ path: formatPath(path), message }]
  switch (issue._tag) {
    case "Pointer":
      return walk(issue.issue, [...path, ...(Array.isArray(issue.path) ? issue.path : [issue.path])])
    case "Unexpected":
      return at(issue.message ?? "is not a known field")
    case "Missing":
      return at(issue.message ?? "is missing")
    case "Forbidden":
      return at(issue.message ?? "cannot be decoded synchronously")
    case "Type":
      return at(
        issue.message ?? annotated(issue) ?? `expected ${describe(issue.ast)}, got ${show(issue.actual)}`
      )
    case "Refinement": {
      const custom = annotated(issue)
      if (custom !== undefined) return at(custom)
      if (issue.kind === "From") return walk(issue.issue, path)
      return issue.issue._tag === "Type" && issue.issue.message === undefined
        ? at(`expected ${describe(issue.ast)}, got ${show(issue.actual)}`)
        : walk(issue.issue, path)
    }
    case "Transformation": {
      const custom = annotated(issue)
      return custom !== undefined ? at(custom) : walk(issue.issue, path)
    }
    case "Composite": {
      const custom = annotated(issue)
      if (custom !== undefined) return at(custom)
      if (SchemaAST.isUnion(issue.ast))
        return at(`expected ${describe(issue.ast)}, got ${show(issue.actual)}`)
      const issues = Array.isArray(issue.issues) ? issue.issues : [issue.issues as ParseResult.ParseIssue]
      return issues.flatMap((inner) => walk(inner, path))
    }
  }
}

/** The `message` annotation of the issue's schema, when it has one that gives a plain string. */
const annotated = (
  issue: ParseResult.Type | ParseResult.Refinement | ParseResult.Transformation | ParseResult.Composite
): string | undefined =>
  Option.getOrUndefined(
    Option.flatMap(SchemaAST.getMessageAnnotation(issue.ast), (annotation) => {
      const out = annotation(issue)
      if (typeof out === "string") return Option.some(out)
      if (typeof out === "object" && out !== null && "message" in out && typeof out.message === "string") {
        return Option.some(out.message)
      }
      return Option.none()
    })
  )

/** What a schema accepts, in words. */
const describe = (ast: SchemaAST.AST): string => {
  const named = Option.firstSomeOf([
    SchemaAST.getDescriptionAnnotation(ast),
    SchemaAST.getTitleAnnotation(ast),
    SchemaAST.getIdentifierAnnotation(ast)
  ])
  if (Option.isSome(named)) return named.value
  switch (ast._tag) {
    case "StringKeyword":
      return "a string"
    case "NumberKeyword":
      return "a number"
    case "BooleanKeyword":
      return "a boolean"
    case "TypeLiteral":
      return ast.indexSignatures.length > 0 && ast.propertySignatures.length === 0 ? "a map" : "an object"
    case "TupleType":
      return "a list"
    case "Literal":
      return JSON.stringify(ast.literal)
    case "Union":
      return ast.types.map(describe).join(" or ")
    case "Refinement":
    case "Transformation":
      return describe(ast._tag === "Refinement" ? ast.from : ast.to)
    default:
      return String(ast)
  }
}

const show = (actual: unknown): string => {
  if (actual === undefined) return "nothing"
  if (Array.isArray(actual)) return "a list"
  if (typeof actual === "object" && actual !== null) return "an object"
  const text = JSON.stringify(actual)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

/** `["processors", 2, "image"]` → `processors[2].image` */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((out, key) => {
    if (typeof key === "number") return `${out}[${key}]`
    const name = String(key)
    const plain = /^[A-Za-z_$][\w$-]*$/.test(name) ? name : JSON.stringify(name)
    return out === "" ? plain : /^[A-Za-z_$]/.test(plain) ? `${out}.${plain}` : `${out}[${plain}]`
  }, "")
