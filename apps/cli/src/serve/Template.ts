/**
 * The template of a run on `armada serve`: an uploaded `.tar.gz`, unpacked into the run's folder
 * with the same protections as everywhere else, or a folder on the server's machine, taken only
 * when the server allows the folder it lies in (`--allow-template-dir DIR`).
 *
 * @since 0.3.0
 */
import * as fs from "node:fs/promises"
import { isAbsolute, posix, relative, resolve, sep } from "node:path"
import { Archive, ContainerEngineError } from "@armada/engine"
import { FileSystem } from "@effect/platform"
import { Effect, Option, Stream } from "effect"
import { BadTemplate, TemplateNotAllowed } from "./Api.js"

/**
 * The most a template may hold once unpacked, 512 MiB: a small archive cannot fill the disk.
 *
 * @since 0.3.0
 * @category constants
 */
export const maxTemplateBytes = 512 * 1024 * 1024

/**
 * A folder the server takes templates from: as given on the command line and with its links
 * resolved (a path given through either is inside).
 *
 * @since 0.3.0
 * @category models
 */
export interface Root {
  readonly given: string
  readonly real: string
}

/**
 * The `--allow-template-dir` folders, each checked to be a directory now, when the server starts.
 *
 * @since 0.3.0
 * @category constructors
 */
export const roots = (dirs: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<Root>, string> =>
  Effect.forEach(dirs, (dir) =>
    Effect.tryPromise({
      try: async () => {
        const real = await fs.realpath(resolve(dir))
        if (!(await fs.stat(real)).isDirectory()) throw new Error("not a directory")
        return { given: resolve(dir), real }
      },
      catch: (error) =>
        `--allow-template-dir ${dir}: expected a directory (${error instanceof Error ? error.message : String(error)})`
    })
  )

/** Whether `path` is `dir` or below it; both absolute and normalised. */
const inside = (dir: string, path: string) => {
  const rel = relative(dir, path)
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel))
}

/** `stream`, failing once more than `max` bytes went through. */
const bounded = <E, R>(stream: Stream.Stream<Uint8Array, E, R>, max: number) =>
  Stream.mapAccumEffect(stream, 0, (total, chunk) =>
    total + chunk.length > max
      ? Effect.fail(
          new ContainerEngineError.ArchiveError({
            reason: "Io",
            path: "template",
            detail: `the template holds more than ${max} bytes unpacked`
          })
        )
      : Effect.succeed([total + chunk.length, chunk] as const)
  )

/**
 * Unpacks the `.tar.gz` at `archive` into `into`, at most `maxBytes` of it: absolute paths, `..`,
 * links pointing outside and entries written through links are refused (`BadTemplate`).
 *
 * @since 0.3.0
 * @category constructors
 */
export const unpack = (
  archive: string,
  into: string,
  maxBytes: number
): Effect.Effect<void, BadTemplate, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const files = yield* FileSystem.FileSystem
    // Read whole (the multipart limit bounds it): streamed from the file, an archive whose
    // gunzip failed on its first bytes left the request hanging in this module's tests.
    const bytes = yield* files
      .readFile(archive)
      .pipe(
        Effect.mapError(
          (error) => new BadTemplate({ message: `the template archive could not be read: ${error.message}` })
        )
      )
    yield* Archive.extractToDirectory(bounded(Archive.gunzip(Stream.make(bytes)), maxBytes), into).pipe(
      Effect.mapError(
        (error) =>
          new BadTemplate({
            message: `the template archive was refused: ${"message" in error ? error.message : String(error)}`
          })
      )
    )
  })

const notAllowed = (path: string, why: string) =>
  new TemplateNotAllowed({ path, message: `the template path ${JSON.stringify(path)} is refused: ${why}` })

const badPath = (path: string, why: string) =>
  new BadTemplate({ message: `the template path ${JSON.stringify(path)} ${why}` })

/** The first symbolic link below `dir` that is absolute or points above `dir`, as a sentence. */
const escapingLink = async (dir: string): Promise<string | undefined> => {
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isSymbolicLink()) continue
    const at = relative(dir, resolve(entry.parentPath, entry.name)).split(sep).join("/")
    const target = await fs.readlink(resolve(entry.parentPath, entry.name))
    if (target.startsWith("/") || Option.isNone(Archive.relativePath(posix.join(posix.dirname(at), target))))
      return `holds the symbolic link ${at} to ${target}, which points outside the template`
  }
  return undefined
}

/**
 * The folder at `path` on the server's machine, with its links resolved, when it lies inside one of
 * `allowed` (also once its links are resolved) and holds no symbolic link pointing outside itself:
 * `TemplateNotAllowed` (403) when the server takes no path or the path is outside every allowed
 * folder, `BadTemplate` (400) when it is relative, missing, not a directory or holds such a link.
 * The folder is read where it is, when the run needs it (the pool's key, a new set's template
 * volume): it is not copied.
 *
 * @since 0.3.0
 * @category constructors
 */
export const onServer = (
  allowed: ReadonlyArray<Root>,
  path: string
): Effect.Effect<string, BadTemplate | TemplateNotAllowed> =>
  Effect.gen(function* () {
    if (allowed.length === 0)
      return yield* notAllowed(
        path,
        "this server takes no template path (start it with --allow-template-dir DIR), send the template as an archive instead"
      )
    if (!isAbsolute(path))
      return yield* badPath(path, "is not absolute: give the template folder's absolute path on the server")
    const where = allowed.map((root) => root.given).join(", ")
    // Checked before the path is looked at, so a refused path tells nothing of what is there.
    const lexical = resolve(path)
    if (!allowed.some((root) => inside(root.given, lexical) || inside(root.real, lexical)))
      return yield* notAllowed(path, `it is outside the folders this server allows (${where})`)
    const real = yield* Effect.tryPromise(() => fs.realpath(lexical)).pipe(
      Effect.mapError(() => badPath(path, "does not exist on the server"))
    )
    if (!allowed.some((root) => inside(root.real, real)))
      return yield* notAllowed(
        path,
        `it leads through a symbolic link to ${real}, outside the folders this server allows (${where})`
      )
    const directory = yield* Effect.tryPromise(async () => (await fs.stat(real)).isDirectory()).pipe(
      Effect.orElseSucceed(() => false)
    )
    if (!directory) return yield* badPath(path, "is not a directory")
    const link = yield* Effect.tryPromise(() => escapingLink(real)).pipe(
      Effect.mapError((error) => badPath(path, `cannot be read: ${String(error)}`))
    )
    if (link !== undefined) return yield* badPath(path, link)
    return real
  })
