/**
 * A small glob matcher for relative POSIX paths (Node 20 has no `fs.glob`):
 *
 * - `*` any run of characters within one path segment, `?` one character other than `/`;
 * - `**` as a whole segment: any number of segments, including none (`**\/*.md` matches `a.md`
 *   and `x/y/a.md`; a trailing `/**` matches everything below);
 * - `{a,b}` alternatives (nestable, each may hold wildcards), `[abc]`, `[a-z]`, `[!a]` classes;
 * - `\` escapes the next character.
 *
 * Unlike shells, `*` also matches names that start with a dot: templates carry dotfiles too.
 *
 * @since 0.1.0
 */

const special = /[.+^$()|\\/]/

const closing = (glob: string, open: number, openChar: string, closeChar: string): number => {
  let depth = 0
  for (let i = open; i < glob.length; i++) {
    const c = glob[i]
    if (c === "\\") i++
    else if (c === openChar) depth++
    else if (c === closeChar && --depth === 0) return i
  }
  return -1
}

/** Splits the inside of `{...}` at its top-level commas. */
const alternatives = (inner: string): Array<string> => {
  const parts: Array<string> = []
  let depth = 0
  let start = 0
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]
    if (c === "\\") i++
    else if (c === "{") depth++
    else if (c === "}") depth--
    else if (c === "," && depth === 0) {
      parts.push(inner.slice(start, i))
      start = i + 1
    }
  }
  parts.push(inner.slice(start))
  return parts
}

const translate = (glob: string): string => {
  let out = ""
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!
    const segmentStart = i === 0 || glob[i - 1] === "/"
    if (c === "*" && glob[i + 1] === "*" && segmentStart && (glob[i + 2] === "/" || i + 2 === glob.length)) {
      if (glob[i + 2] === "/") {
        out += "(?:[^/]*/)*"
        i += 2
      } else {
        out += ".*"
        i += 1
      }
    } else if (c === "*") {
      out += "[^/]*"
      while (glob[i + 1] === "*") i++
    } else if (c === "?") {
      out += "[^/]"
    } else if (c === "{" && closing(glob, i, "{", "}") !== -1) {
      const end = closing(glob, i, "{", "}")
      out += `(?:${alternatives(glob.slice(i + 1, end))
        .map(translate)
        .join("|")})`
      i = end
    } else if (c === "[" && glob.indexOf("]", i + 2) !== -1) {
      const end = glob.indexOf("]", i + 2)
      let body = glob.slice(i + 1, end)
      const negate = body.startsWith("!") || body.startsWith("^")
      if (negate) body = body.slice(1)
      out += `[${negate ? "^/" : ""}${body.replace(/\\/g, "\\\\").replace(/\]/g, "\\]")}]`
      i = end
    } else if (c === "\\" && i + 1 < glob.length) {
      i++
      out += special.test(glob[i]!) || /[*?{}[\]]/.test(glob[i]!) ? `\\${glob[i]}` : glob[i]
    } else {
      out += special.test(c) || c === "]" || c === "}" ? `\\${c}` : c
    }
  }
  return out
}

/**
 * Compiles `glob` into a predicate on relative POSIX paths (no leading `./`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const compile = (glob: string): ((path: string) => boolean) => {
  const pattern = new RegExp(`^${translate(glob.replace(/^\.\//, ""))}$`)
  return (path) => pattern.test(path)
}

/**
 * @since 0.1.0
 * @category predicates
 */
export const matches = (glob: string, path: string): boolean => compile(glob)(path)
