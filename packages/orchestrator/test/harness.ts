/**
 * What the orchestrator's unit tests run on: the in-memory engine, and an in-memory
 * `ProcessorClient` whose "containers" behave like the test app — processors write into their
 * write dir, the merger copies the output dirs in order, plugins edit the merge dir — by reading
 * and writing the memory engine's volumes through each container's mounts.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, posix } from "node:path"
import { Names } from "@armada/core"
import { Archive, ContainerEngine, ContainerEngineError, MemoryEngine } from "@armada/engine"
import { layerTest, type ProcessorClient, ProcessorError, Protocol } from "@armada/http"
import { Spec } from "@armada/orchestrator"
import { Leftovers } from "@armada/testkit"
import { Effect, Layer, Option, Stream } from "effect"

export const prefix = Names.Id.make("armadaunit")
export const image = "armada/test-app:dev"

/** A template directory on the host, removed by the returned function. */
export const makeTemplate = (
  files: Record<string, string>
): { readonly dir: string; readonly remove: () => void } => {
  const dir = mkdtempSync(join(tmpdir(), "armada-unit-template-"))
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A fresh empty directory for an export, removed by the returned function. */
export const makeOutputRoot = (): { readonly dir: string; readonly remove: () => void } => {
  const dir = mkdtempSync(join(tmpdir(), "armada-unit-out-"))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

export const spec = (input: Record<string, unknown>): Effect.Effect<Spec.Spec, never> =>
  Effect.orDie(
    Spec.decode(
      {
        session: "s1",
        templateId: "tpl",
        ...input,
        options: { prefix, concurrency: 4, ...((input.options as object | undefined) ?? {}) }
      },
      { baseDir: "/" }
    )
  )

/** What a simulated container does, per item id; anything left out behaves like the test app. */
export interface Behaviour {
  /** What each processor writes into its write dir; default `processorFiles(id)`. */
  readonly files?: Record<string, Archive.Tree>
  /**
   * Resolvers, by id; default: the test app's `join` (the versions' contents one after another).
   */
  readonly resolve?: Record<
    string,
    (request: Protocol.ResolveRequest) => Effect.Effect<Protocol.ResolveResponse, ProcessorError.CallError>
  >
  /**
   * Ids whose container exits in the middle of its work call, with this code and these log lines:
   * the call sees its connection closed, as the live client would.
   */
  readonly crash?: Record<string, { readonly exitCode: number; readonly logs: ReadonlyArray<string> }>
  readonly process?: Record<
    string,
    (request: Protocol.ProcessRequest) => Effect.Effect<Protocol.ProcessResponse, ProcessorError.CallError>
  >
  readonly plug?: Record<
    string,
    (request: Protocol.PlugRequest) => Effect.Effect<void, ProcessorError.CallError>
  >
  /** The cohort each container's readiness wait was given, by container name. */
  readonly cohorts?: Map<string, string | undefined>
  /** Ids whose containers never answer: their wait ends only when the engine says they exited. */
  readonly neverReady?: ReadonlyArray<string>
  /** Replaces the merger. */
  readonly merge?: (
    request: Protocol.MergeRequest
  ) => Effect.Effect<Protocol.MergeResponse, ProcessorError.CallError>
  /** Every merge request, in the order they came. */
  readonly merges?: Array<Protocol.MergeRequest>
  /** The directory of every `PUT /files` and the path of every `GET /files`, in order. */
  readonly puts?: Array<string>
  readonly gets?: Array<string>
}

/** Which volume holds `path` in the container `name`, and where inside it. */
const locate = (engine: ContainerEngine.Service, name: string, path: string) =>
  Effect.map(Effect.orDie(engine.inspectContainer(name)), (info) => {
    const mount = info.mounts.find((m) => path === m.target || path.startsWith(`${m.target}/`))
    if (mount === undefined) throw new Error(`${path} is not on a volume of ${name}`)
    return { volume: mount.volume, rel: path.slice(mount.target.length).replace(/^\//, "") }
  })

/** The default output of processor `id`: its own file and a file every processor writes. */
export const processorFiles = (id: string): Archive.Tree =>
  Archive.make({ [`${id}.txt`]: `written by ${id}\n`, "shared.txt": `last writer: ${id}\n` })

/**
 * The in-memory client over the memory engine's volumes. Container names are
 * `<prefix>-<role>-<id>-<session>`; the id is read from them.
 */
export const client = (
  behaviour: Behaviour = {}
): Layer.Layer<ProcessorClient, never, ContainerEngine | MemoryEngine.MemoryEngine> =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const memory = yield* MemoryEngine.MemoryEngine
      const idOf = (endpoint: ProcessorError.Endpoint) => endpoint.name.split("-").slice(2, -1).join("-")
      const read = (name: string, path: string) =>
        Effect.flatMap(locate(engine, name, path), ({ volume, rel }) =>
          Effect.map(Effect.orDie(memory.readVolume(volume)), (tree) => Archive.subtree(tree, rel))
        )
      const write = (name: string, path: string, tree: Archive.Tree) =>
        Effect.flatMap(locate(engine, name, path), ({ volume, rel }) =>
          Effect.orDie(memory.writeVolume(volume, `/${rel}`, tree))
        )
      /** Refused at the connection, as the live client is by a container that is not running. */
      const unreachable = (endpoint: ProcessorError.Endpoint, detail: string) =>
        Effect.fail(new ProcessorError.Unreachable({ endpoint, detail }))
      /**
       * A crashing container exits, then its call fails at the connection; a call to a container
       * that is not running fails at the connection; others do `work`.
       */
      const orCrash = <A>(
        endpoint: ProcessorError.Endpoint,
        work: Effect.Effect<A, ProcessorError.CallError>
      ): Effect.Effect<A, ProcessorError.CallError> => {
        const crash = behaviour.crash?.[idOf(endpoint)]
        return crash === undefined
          ? Effect.flatMap(Effect.orDie(engine.inspectContainer(endpoint.name)), (info) =>
              info.state === "running" ? work : unreachable(endpoint, "connect ECONNREFUSED")
            )
          : Effect.zipRight(
              Effect.orDie(memory.exit(endpoint.name, crash.exitCode, crash.logs)),
              unreachable(endpoint, "connection closed by the other side (UND_ERR_SOCKET)")
            )
      }
      return layerTest({
        "*": {
          // A container takes a moment to listen (a few yields); layerTest ends the wait if it exits.
          waitReady: (endpoint, options) => {
            behaviour.cohorts?.set(endpoint.name, options?.cohort)
            return behaviour.neverReady?.includes(idOf(endpoint))
              ? Effect.never
              : Effect.as(Effect.repeatN(Effect.yieldNow(), 9), { attempts: 10, elapsedMillis: 0 })
          },
          process: (request, endpoint) => {
            const custom = behaviour.process?.[idOf(endpoint)]
            if (custom !== undefined) return orCrash(endpoint, custom(request))
            const id = idOf(endpoint)
            return orCrash(
              endpoint,
              Effect.as(
                write(endpoint.name, request.writeDir, behaviour.files?.[id] ?? processorFiles(id)),
                Protocol.ProcessResponse.make({ outputDir: request.writeDir })
              )
            )
          },
          resolve: (request, endpoint) => {
            const custom = behaviour.resolve?.[idOf(endpoint)]
            return orCrash(
              endpoint,
              custom !== undefined
                ? custom(request)
                : Effect.succeed(
                    Protocol.ResolveResponse.make({
                      path: request.files[0]?.path ?? "",
                      content: request.files.map((file) => file.content).join("")
                    })
                  )
            )
          },
          merge: (request, _session, endpoint) =>
            orCrash(
              endpoint,
              Effect.gen(function* () {
                behaviour.merges?.push(request)
                if (behaviour.merge !== undefined) return yield* behaviour.merge(request)
                let merged: Archive.Tree = new Map()
                const conflicts = new Set<string>()
                for (const from of request.fromDirs) {
                  const tree = yield* read(endpoint.name, from)
                  for (const [path, node] of tree)
                    if (node._tag !== "Directory" && merged.has(path)) conflicts.add(path)
                  merged = Archive.put(merged, "", tree)
                }
                yield* write(endpoint.name, request.toDir, merged)
                const files = [...merged.values()].filter((node) => node._tag !== "Directory").length
                return Protocol.MergeResponse.make({ status: "ok", files, conflicts: [...conflicts].sort() })
              })
            ),
          // The merger's file endpoints, like the test app's: the tar is extracted on the host with
          // Archive.extractToDirectory's protections, and what it wrote goes into the volume.
          putFiles: <E>(dir: string, tar: Stream.Stream<Uint8Array, E>, endpoint: ProcessorError.Endpoint) =>
            Effect.gen(function* () {
              behaviour.puts?.push(dir)
              if (Option.isNone(Protocol.fileRoot(dir)))
                return yield* refused(endpoint, "Forbidden", dir, "outside the roots")
              const host = yield* Effect.acquireRelease(
                Effect.sync(() => mkdtempSync(join(tmpdir(), "armada-unit-merger-"))),
                (folder) => Effect.sync(() => rmSync(folder, { recursive: true, force: true }))
              )
              const summary = yield* Archive.extractToDirectory(tar, host, { onUnsafe: "fail" }).pipe(
                Effect.catchIf(
                  (error) => error instanceof ContainerEngineError.ArchiveError,
                  (error) => refused(endpoint, error.reason, error.path, error.detail)
                )
              )
              yield* write(
                endpoint.name,
                dir,
                yield* Effect.orDie(Archive.fromTar(Archive.packDirectory(host)))
              )
              return Protocol.FilesPutResponse.make({
                files: summary.files,
                directories: summary.directories,
                symlinks: summary.symlinks
              })
            }).pipe(Effect.scoped),
          getFiles: (path, endpoint) =>
            Stream.unwrap(
              Effect.gen(function* () {
                behaviour.gets?.push(path)
                const { volume, rel } = yield* locate(engine, endpoint.name, path)
                const tree = yield* Effect.orDie(memory.readVolume(volume))
                const node = Archive.get(tree, rel)
                const name = posix.basename(path)
                if (Option.isNone(node)) return yield* refused(endpoint, "NotFound", path, "no such file")
                return Archive.toTar(
                  node.value._tag === "Directory"
                    ? Archive.put(Archive.make({ [name]: node.value }), name, Archive.subtree(tree, rel))
                    : Archive.make({ [name]: node.value })
                )
              })
            ),
          plug: (request, endpoint) =>
            orCrash(
              endpoint,
              Effect.gen(function* () {
                const id = idOf(endpoint)
                const custom = behaviour.plug?.[id]
                if (custom !== undefined) yield* custom(request)
                // Like the test app's appendLine: each plugin adds its line to plugins.log.
                const tree = yield* read(endpoint.name, request.directory)
                const before = Option.match(Archive.get(tree, "plugins.log"), {
                  onNone: () => "",
                  onSome: (node) => (node._tag === "File" ? new TextDecoder().decode(node.content) : "")
                })
                yield* write(
                  endpoint.name,
                  request.directory,
                  Archive.make({ "plugins.log": `${before}${id}\n` })
                )
                return Protocol.PlugResponse.make({})
              })
            )
        }
      })
    })
  )

/** A refusal by the merger's file endpoints, as the live client reports it. */
const refused = (
  endpoint: ProcessorError.Endpoint,
  reason: Protocol.FilesFailure["reason"],
  path: string,
  detail: string
) =>
  Effect.fail(
    new ProcessorError.BadStatus({
      endpoint,
      status: { UnsafeEntry: 400, Malformed: 400, Io: 500, TooLarge: 413, NotFound: 404, Forbidden: 403 }[
        reason
      ],
      body: JSON.stringify(Protocol.FilesFailure.make({ reason, path, detail }))
    })
  )

/** The memory engine with the test-app image present, and the simulated client on top. */
export const layer = (
  behaviour: Behaviour = {},
  options: MemoryEngine.Options = { images: [{ ref: image }] }
): Layer.Layer<ContainerEngine | MemoryEngine.MemoryEngine | ProcessorClient> =>
  Layer.provideMerge(client(behaviour), MemoryEngine.layerMemory(options))

/** Everything labelled with the test prefix that is still on the engine. */
export const leftovers = Leftovers.labelled(prefix)
