/**
 * How a container's mounts lie over its own files, for the engines that keep the files themselves
 * (the in-memory engine, `@armada/local`), so both answer the archive API as Docker does: which
 * mount a path falls in, which mounts lie below a directory, what an archive of that directory
 * holds, and where the entries of an archive put into it go. Paths are relative to the
 * container's root, as `Archive.relativePath` gives them (`""` is the root).
 *
 * @since 0.1.0
 */
import { Option } from "effect"
import * as Archive from "./Archive.js"

/**
 * A mount as the overlay sees it: its target relative to the root, plus whatever the engine keeps.
 *
 * @since 0.1.0
 * @category models
 */
export interface Mounted {
  readonly target: string
}

/**
 * A mount below a directory, `at` its target relative to that directory.
 *
 * @since 0.1.0
 * @category models
 */
export interface Below<M> {
  readonly mount: M
  readonly at: string
}

const holds = (target: string, rel: string): boolean => rel === target || rel.startsWith(`${target}/`)

/**
 * The deepest mount that holds `rel`, and `rel` inside it; `None` when `rel` is in the
 * container's own files.
 *
 * @since 0.1.0
 * @category getters
 */
export const locate = <M extends Mounted>(
  mounts: Iterable<M>,
  rel: string
): Option.Option<{ readonly mount: M; readonly rel: string }> => {
  let best: M | undefined
  for (const mount of mounts) {
    if (holds(mount.target, rel) && (best === undefined || mount.target.length > best.target.length)) {
      best = mount
    }
  }
  return best === undefined
    ? Option.none()
    : Option.some({ mount: best, rel: rel === best.target ? "" : rel.slice(best.target.length + 1) })
}

/**
 * The mounts strictly below the directory `rel`.
 *
 * @since 0.1.0
 * @category getters
 */
export const below = <M extends Mounted>(mounts: Iterable<M>, rel: string): Array<Below<M>> =>
  [...mounts].flatMap((mount) =>
    rel === "" || mount.target.startsWith(`${rel}/`)
      ? [{ mount, at: rel === "" ? mount.target : mount.target.slice(rel.length + 1) }]
      : []
  )

/**
 * What a directory shows: its own entries `tree`, with each mount's tree in place of whatever the
 * directory itself has at that mount's target.
 *
 * @since 0.1.0
 * @category combinators
 */
export const overlay = (
  tree: Archive.Tree,
  mounts: Iterable<{ readonly at: string; readonly tree: Archive.Tree }>
): Archive.Tree => {
  let view = tree
  for (const mount of mounts) view = Archive.put(Archive.remove(view, mount.at), mount.at, mount.tree)
  return view
}

/**
 * Where the entries of an archive put into a directory go: to the deepest of the mounts `below`
 * it that holds each (`mount`), else to the directory itself (`mount` undefined), keyed relative
 * to where they go. An entry for a mount point itself is left out: the mount stays.
 *
 * @since 0.1.0
 * @category combinators
 */
export const partition = <M>(
  entries: Archive.Tree,
  mounts: ReadonlyArray<Below<M>>
): Array<{ readonly mount: M | undefined; readonly entries: Archive.Tree }> => {
  const parts = new Map<Below<M> | undefined, Map<string, Archive.Node>>()
  for (const [key, node] of entries) {
    let owner: Below<M> | undefined
    for (const mount of mounts) {
      if (holds(mount.at, key) && (owner === undefined || mount.at.length > owner.at.length)) owner = mount
    }
    if (owner?.at === key) continue
    const part = parts.get(owner) ?? new Map<string, Archive.Node>()
    parts.set(owner, part)
    part.set(owner === undefined ? key : key.slice(owner.at.length + 1), node)
  }
  return [...parts].map(([owner, part]) => ({ mount: owner?.mount, entries: part }))
}
