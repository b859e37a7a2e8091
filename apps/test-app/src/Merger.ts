/**
 * The merger role (PROTOCOL.md): every entry of every `fromDirs[i]` is copied to `toDir` at the
 * same relative path, in the order of `fromDirs`, so on a path that several wrote the last one in
 * the list wins, whatever order the processors finished in. Symbolic links are copied as links
 * and never followed: not while reading a `fromDirs[i]`, and not while writing `toDir` (a link an
 * earlier directory left where a later one has a directory is replaced, not written through). A
 * `fromDirs[i]` that does not exist (a processor that wrote nothing) adds nothing.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs/promises"
import { join } from "node:path"
import { Protocol } from "@armada/http"
import { Effect } from "effect"
import * as Workspace from "./Workspace.js"

/**
 * Runs one merge request on the host paths of `workspace`. `files` counts the files and links
 * the merge left in `toDir`; `conflicts` lists, sorted, the paths more than one directory wrote.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (
  workspace: Workspace.Workspace,
  request: Protocol.MergeRequest
): Effect.Effect<Protocol.MergeResponse, Workspace.FileError | Workspace.RequestProblem> =>
  Effect.gen(function* () {
    const toDir = workspace.resolve(request.toDir)
    yield* Workspace.attempt("create directory", request.toDir, () => fs.mkdir(toDir, { recursive: true }))
    /** What the merge put at each path so far, and from which directory. */
    const written = new Map<string, { readonly kind: Workspace.Entry["kind"]; readonly from: number }>()
    const conflicts = new Set<string>()
    const forget = (dir: string) => {
      for (const path of written.keys()) if (path.startsWith(`${dir}/`)) written.delete(path)
    }
    for (const [from, fromDir] of request.fromDirs.entries()) {
      const source = workspace.resolve(fromDir)
      if (!(yield* Workspace.exists(source))) continue
      for (const entry of yield* Workspace.walk(source)) {
        const previous = written.get(entry.path)
        if (previous !== undefined && !(previous.kind === "directory" && entry.kind === "directory")) {
          conflicts.add(entry.path)
        }
        if (previous?.kind === "directory" && entry.kind !== "directory") forget(entry.path)
        if (entry.kind === "directory") {
          yield* Workspace.ensureDirectory(toDir, entry.path)
        } else {
          const target = yield* Workspace.prepareTarget(toDir, entry.path)
          yield* Workspace.copyEntry(join(source, entry.path), target, entry.kind)
        }
        written.set(entry.path, { kind: entry.kind, from })
      }
    }
    let files = 0
    for (const { kind } of written.values()) if (kind !== "directory") files++
    return Protocol.MergeResponse.make({ status: "ok", files, conflicts: [...conflicts].sort() })
  })
