/**
 * The in-memory file tree: path → file | directory | symlink, with its constructors and the
 * operations the engines use on it. No I/O.
 *
 * @internal
 */
import { Option } from "effect"
import type { Directory, File, Node, Symlink, Tree } from "../../Archive.js"

/** The mtime of a node made without one. @internal */
export const epoch = new Date(0)

/** @internal */
export const file = (
  content: string | Uint8Array,
  options: { readonly mode?: number; readonly mtime?: Date } = {}
): File => ({
  _tag: "File",
  mode: options.mode ?? 0o644,
  content: typeof content === "string" ? new TextEncoder().encode(content) : content,
  mtime: options.mtime ?? epoch
})

/** @internal */
export const directory = (options: { readonly mode?: number; readonly mtime?: Date } = {}): Directory => ({
  _tag: "Directory",
  mode: options.mode ?? 0o755,
  mtime: options.mtime ?? epoch
})

/** @internal */
export const symlink = (target: string, options: { readonly mtime?: Date } = {}): Symlink => ({
  _tag: "Symlink",
  target,
  mtime: options.mtime ?? epoch
})

/** @internal */
export const relativePath = (p: string): Option.Option<string> => {
  const parts: Array<string> = []
  for (const segment of p.split("/")) {
    if (segment === "" || segment === ".") continue
    if (segment === "..") {
      if (parts.length === 0) return Option.none()
      parts.pop()
    } else parts.push(segment)
  }
  return Option.some(parts.join("/"))
}

const parentsOf = (p: string): Array<string> => {
  const parts = p.split("/")
  return parts.slice(0, -1).map((_, index) => parts.slice(0, index + 1).join("/"))
}

/**
 * Sets `p` in `tree`, adding missing parent directories and replacing non-directory parents.
 *
 * @internal
 */
export const setNode = (tree: Map<string, Node>, p: string, node: Node): void => {
  for (const parent of parentsOf(p)) {
    if (tree.get(parent)?._tag !== "Directory") {
      removeNode(tree, parent)
      tree.set(parent, directory())
    }
  }
  const existing = tree.get(p)
  // A directory written over a directory keeps what is inside (tar semantics).
  if (!(existing?._tag === "Directory" && node._tag === "Directory")) removeNode(tree, p)
  tree.set(p, node)
}

const removeNode = (tree: Map<string, Node>, p: string): void => {
  tree.delete(p)
  const prefix = `${p}/`
  for (const key of [...tree.keys()]) if (key.startsWith(prefix)) tree.delete(key)
}

/** The entries in path order, so parents come before their children. @internal */
export const sorted = (tree: Tree): Array<[string, Node]> =>
  [...tree.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

/** @internal */
export const make = (entries: Readonly<Record<string, string | Uint8Array | Node>>): Tree => {
  const tree = new Map<string, Node>()
  for (const [key, value] of Object.entries(entries)) {
    const p = Option.getOrThrowWith(relativePath(key), () => new RangeError(`${key} climbs above the root`))
    if (p === "") continue
    setNode(tree, p, typeof value === "string" || value instanceof Uint8Array ? file(value) : value)
  }
  return tree
}

/** @internal */
export const get = (tree: Tree, p: string): Option.Option<Node> =>
  p === "" ? Option.some(directory()) : Option.fromNullable(tree.get(p))

/** @internal */
export const subtree = (tree: Tree, p: string): Tree => {
  if (p === "") return tree
  const prefix = `${p}/`
  const result = new Map<string, Node>()
  for (const [key, node] of tree) if (key.startsWith(prefix)) result.set(key.slice(prefix.length), node)
  return result
}

/** @internal */
export const put = (tree: Tree, at: string, entries: Tree): Tree => {
  const result = new Map(tree)
  if (at !== "") setNode(result, at, result.get(at)?._tag === "Directory" ? result.get(at)! : directory())
  for (const [key, node] of sorted(entries)) setNode(result, at === "" ? key : `${at}/${key}`, node)
  return result
}

/** @internal */
export const remove = (tree: Tree, p: string): Tree => {
  const result = new Map(tree)
  removeNode(result, p)
  return result
}

/** @internal */
export const contents = (tree: Tree): Record<string, string> => {
  const decoder = new TextDecoder()
  const result: Record<string, string> = {}
  for (const [key, node] of sorted(tree)) if (node._tag === "File") result[key] = decoder.decode(node.content)
  return result
}
