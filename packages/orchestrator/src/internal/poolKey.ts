/**
 * The key of a pooled set: a digest of everything that is fixed when the set's containers are
 * created and the template loaded, and nothing a run sends in its requests. docs/serve.md says why
 * each part is in or out.
 *
 * @internal
 */
import { createHash } from "node:crypto"
import { ImageRef } from "@armada/core"
import { Archive, ContainerEngineError } from "@armada/engine"
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

/**
 * The digest of a template directory's content: every entry's path, kind, permission bits and
 * content (a link's target), in path order. Times are left out: two copies of a template are one.
 * Read straight from the file system by `Archive.walkDirectory` (the walk `packDirectory` makes),
 * one file in memory at a time, not through a tar stream and a tree: it is computed for every
 * pooled run (docs/serve.md, "A warm run's cost").
 *
 * @internal
 */
export const templateDigest = (dir: string): Effect.Effect<string, ContainerEngineError.ArchiveError> =>
  Effect.gen(function* () {
    const entries: Array<Archive.HostEntry> = []
    yield* Archive.walkDirectory(dir, (entry) => Effect.sync(() => entry.rel !== "" && entries.push(entry)))
    entries.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0))
    const hash = createHash("sha256")
    for (const { rel, absolute, stat, target } of entries) {
      const mode = stat.mode & 0o7777
      if (stat.isDirectory()) hash.update(`${JSON.stringify(rel)} Directory ${mode}\n`)
      else if (target !== undefined) hash.update(`${JSON.stringify(rel)} Symlink ${JSON.stringify(target)}\n`)
      else {
        const content = yield* Effect.tryPromise({
          try: async () => {
            const handle = await Archive.openListedFile(absolute)
            try {
              return await handle.readFile()
            } finally {
              await handle.close()
            }
          },
          catch: (error) =>
            new ContainerEngineError.ArchiveError({
              reason: "Io",
              path: absolute,
              detail: error instanceof Error ? error.message : String(error)
            })
        })
        hash.update(`${JSON.stringify(rel)} File ${mode} ${content.length}\n`).update(content)
      }
    }
    return hash.digest("hex")
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
