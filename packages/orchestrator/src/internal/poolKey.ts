/**
 * The key of a pooled set: a digest of everything that is fixed when the set's containers are
 * created and the template loaded, and nothing a run sends in its requests. docs/serve.md says why
 * each part is in or out.
 *
 * @internal
 */
import { createHash } from "node:crypto"
import { constants as fsConstants } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { ImageRef } from "@armada/core"
import { ContainerEngineError } from "@armada/engine"
import { Effect } from "effect"
import type { StageFailed } from "../OrchestratorError.js"
import type { Spec } from "../Spec.js"
import * as stage from "./stage.js"

/** @internal */
export interface Key {
  /** 16 hex digits of the digest: the pool's name for the sets. */
  readonly key: string
  /** The template's content digest (sha256, hex). */
  readonly template: string
  /** The images the sets run, canonical, in the order of the spec. */
  readonly images: ReadonlyArray<string>
}

/** One entry of a template directory, as the digest reads it. */
type Entry =
  | { readonly kind: "File"; readonly path: string; readonly absolute: string; readonly mode: number }
  | { readonly kind: "Directory"; readonly path: string; readonly mode: number }
  | { readonly kind: "Symlink"; readonly path: string; readonly target: string }

/** Every directory, file and symbolic link below `dir` (links not followed; sockets, fifos and devices left out). */
const entriesOf = async (dir: string): Promise<Array<Entry>> => {
  if (!(await fs.stat(dir)).isDirectory()) throw new Error("not a directory")
  const entries: Array<Entry> = []
  const walk = async (rel: string): Promise<void> => {
    for (const name of await fs.readdir(rel === "" ? dir : path.join(dir, rel))) {
      const child = rel === "" ? name : `${rel}/${name}`
      const absolute = path.join(dir, child)
      const stat = await fs.lstat(absolute)
      if (stat.isDirectory()) {
        entries.push({ kind: "Directory", path: child, mode: stat.mode & 0o7777 })
        await walk(child)
      } else if (stat.isSymbolicLink()) {
        entries.push({ kind: "Symlink", path: child, target: await fs.readlink(absolute) })
      } else if (stat.isFile()) {
        entries.push({ kind: "File", path: child, absolute, mode: stat.mode & 0o7777 })
      }
    }
  }
  await walk("")
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

/** A file's content, never through a symbolic link put in its place since it was listed. */
const contentOf = async (absolute: string): Promise<Buffer> => {
  const handle = await fs.open(absolute, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW)
  try {
    return await handle.readFile()
  } finally {
    await handle.close()
  }
}

/**
 * The digest of a template directory's content: every entry's path, kind, permission bits and
 * content (a link's target), in path order. Times are left out: two copies of a template are one.
 * Read straight from the file system, one file in memory at a time, not through a tar stream and
 * a tree: it is computed for every pooled run (docs/serve.md, "A warm run's cost").
 *
 * @internal
 */
export const templateDigest = (dir: string): Effect.Effect<string, ContainerEngineError.ArchiveError> =>
  Effect.tryPromise({
    try: async () => {
      const hash = createHash("sha256")
      for (const entry of await entriesOf(dir)) {
        hash.update(`${JSON.stringify(entry.path)} ${entry.kind}`)
        if (entry.kind === "File") {
          const content = await contentOf(entry.absolute)
          hash.update(` ${entry.mode} ${content.length}\n`).update(content)
        } else if (entry.kind === "Directory") hash.update(` ${entry.mode}\n`)
        else hash.update(` ${JSON.stringify(entry.target)}\n`)
      }
      return hash.digest("hex")
    },
    catch: (error) =>
      new ContainerEngineError.ArchiveError({
        reason: "Io",
        path: dir,
        detail: error instanceof Error ? error.message : String(error)
      })
  })

/** What a container is made of, beside the session's names. */
const container = (item: {
  readonly id: string
  readonly image: ImageRef.ImageRef
  readonly env: Readonly<Record<string, string>>
}) => ({
  id: item.id,
  image: ImageRef.canonical(item.image),
  env: Object.fromEntries(Object.entries(item.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
})

/**
 * The spec's key. A template that cannot be read fails as `warm` would (`StageFailed`, the
 * template's item).
 *
 * @internal
 */
export const keyOf = (spec: Spec): Effect.Effect<Key, StageFailed> =>
  templateDigest(spec.template).pipe(
    Effect.map((template): Key => {
      const roles = {
        processors: spec.processors.map(container),
        plugins: spec.plugins.map(container),
        resolvers: spec.resolvers.map(container),
        merger: container({ id: "merger", ...spec.merger })
      }
      const images = [
        ...new Set(
          [...roles.processors, ...roles.plugins, ...roles.resolvers, roles.merger].map((c) => c.image)
        )
      ]
      const { prefix, security, limits } = spec.options
      const local = Object.fromEntries(
        Object.entries(spec.local)
          .map(([image, command]) => [ImageRef.canonical(ImageRef.ImageRef.make(image)), command] as const)
          .filter(([image]) => images.includes(image))
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      )
      const material = JSON.stringify({
        prefix,
        template,
        ...roles,
        security,
        limits: { memory: limits.memory, cpus: limits.cpus, pids: limits.pids },
        local
      })
      return { key: createHash("sha256").update(material).digest("hex").slice(0, 16), template, images }
    }),
    Effect.catchAll((cause) =>
      stage.fail(spec.session, "warm", [
        stage.failure("warm", { kind: "template", id: spec.templateId }, cause)
      ])
    )
  )
