/** @internal */
import { randomUUID } from "node:crypto"
import { Interruption, Names, type Outcome, type Parallel } from "@armada/core"
import { Bulk, ContainerEngine, type ContainerEngineError, type Labels } from "@armada/engine"
import { Effect, type Scope } from "effect"
import * as Progress from "../Progress.js"
import * as stage from "./stage.js"

/**
 * Something armada created on the engine. Containers are removed by id; volumes and networks by
 * name.
 *
 * @internal
 */
export interface Resource {
  readonly kind: "container" | "volume" | "network"
  readonly name: string
  readonly ref: string
}

/**
 * What became of one resource in a cleanup: `removed`, already `absent`, or (a network that
 * another session's containers still use) left `in-use`.
 *
 * @internal
 */
export type Removal = "removed" | "absent" | "in-use"

/** @internal */
export type CleanOutcome = Outcome.Outcome<Resource, Removal, ContainerEngineError.ContainerEngineError>

/**
 * The label that marks what one run created, beside the session's: two runs given the same
 * session id never remove each other's resources.
 *
 * @internal
 */
export const runLabel = (prefix: Names.Id): string => `${prefix}.run`

/**
 * The label that marks what a pooled set is made of; its value is the pool's key.
 *
 * @internal
 */
export const poolLabel = (prefix: Names.Id): string => `${prefix}.pool`

/**
 * The labels of everything one run creates.
 *
 * @internal
 */
export interface RunLabels {
  readonly runId: string
  readonly of: (role: string) => Labels
}

/**
 * Opens a run of `session`: its labels, and a finalizer on the current scope that removes every
 * container and volume carrying them (found by label, so even one whose creation was interrupted
 * half-way is found), in parallel, then the prefix's network once nothing uses it — unless `keep`.
 *
 * @internal
 */
export const acquireRun = (options: {
  readonly prefix: Names.Id
  readonly session: Names.Id
  readonly keep: boolean
  /** Labels of its own beside armada's (a pooled set's `<prefix>.pool`). */
  readonly extra?: Labels | undefined
}): Effect.Effect<RunLabels, never, ContainerEngine | Scope.Scope> =>
  Interruption.acquireRelease(
    Effect.sync((): RunLabels => {
      const runId = randomUUID()
      return {
        runId,
        of: (role) => ({
          ...options.extra,
          ...Names.labels(options.prefix, { session: options.session, role }),
          [runLabel(options.prefix)]: runId
        })
      }
    }),
    (labels) =>
      options.keep
        ? Progress.emit(
            Progress.CleanupDone.make({
              session: options.session,
              removed: 0,
              failed: 0,
              failures: [],
              kept: true
            })
          )
        : find(options.prefix, { [runLabel(options.prefix)]: labels.runId }).pipe(
            // Removal is the engine's work, not the items': it runs at the bulk operations' own limit.
            Effect.flatMap((found) =>
              remove(found, {
                prefix: options.prefix,
                concurrency: undefined,
                label: { session: options.session }
              })
            ),
            // Nothing could be removed: the run's outcome says so, not only a log line.
            Effect.catchAll((error) =>
              Effect.zipRight(
                Progress.emit(
                  Progress.CleanupDone.make({
                    session: options.session,
                    removed: 0,
                    failed: 0,
                    failures: [],
                    unlisted: error,
                    kept: false
                  })
                ),
                Effect.logWarning(
                  `could not list what the run created; \`armada clean\` removes it: ${error.message}`
                )
              )
            )
          )
  )

/**
 * What armada left behind under `prefix` that carries `labels` (besides `<prefix>.managed`) and
 * passes `keep` (a test of a resource's labels that an engine's filter cannot say, such as "has a
 * key"): the containers and volumes, and the prefix's network (removed only when nothing uses it).
 *
 * @internal
 */
export const find = (
  prefix: Names.Id,
  labels: Labels,
  keep: (labels: Labels) => boolean = () => true
): Effect.Effect<ReadonlyArray<Resource>, ContainerEngineError.ContainerEngineError, ContainerEngine> =>
  Effect.gen(function* () {
    const engine = yield* ContainerEngine
    const filter = { ...Names.labelFilter(prefix), ...labels }
    const [containers, volumes, networks] = yield* Effect.all(
      [
        engine.listContainers(filter),
        engine.listVolumes(filter),
        engine.listNetworks(Names.labelFilter(prefix))
      ],
      { concurrency: "unbounded" }
    )
    return [
      ...containers
        .filter((c) => keep(c.labels))
        .map((c): Resource => ({ kind: "container", name: c.name, ref: c.id })),
      ...volumes
        .filter((v) => keep(v.labels))
        .map((v): Resource => ({ kind: "volume", name: v.name, ref: v.name })),
      ...networks.map((n): Resource => ({ kind: "network", name: n.name, ref: n.name }))
    ]
  })

/**
 * Removes `resources`: the containers first (one bulk call), then the volumes they used (one bulk
 * call), then the networks that no container of `prefix` uses any more. A resource already gone
 * counts as done. Reports `CleanupStarted`/`CleanupDone` and logs what could not be removed.
 *
 * @internal
 */
export const remove = (
  resources: ReadonlyArray<Resource>,
  options: {
    readonly prefix: Names.Id
    /** Default: the bulk operations' own. */
    readonly concurrency: Parallel.Concurrency | undefined
    readonly label: { readonly session?: Names.Id | undefined }
  }
): Effect.Effect<CleanOutcome, never, ContainerEngine> =>
  Effect.gen(function* () {
    const engine = yield* ContainerEngine
    const of = (kind: Resource["kind"]) => resources.filter((resource) => resource.kind === kind)
    const session = options.label.session === undefined ? {} : { session: options.label.session }
    yield* Progress.emit(
      Progress.CleanupStarted.make({
        ...session,
        containers: of("container").length,
        volumes: of("volume").length,
        networks: of("network").length
      })
    )
    const bulk = { concurrency: options.concurrency }
    const containers = yield* inGroup(of("container"), (refs) => Bulk.removeContainers(refs, bulk))
    const volumes = yield* inGroup(of("volume"), (refs) => Bulk.removeVolumes(refs, bulk))
    // One network per prefix: there is nothing to limit. Another session of the prefix uses it
    // from the moment it has volumes (warm creates them before it ensures the network), so a
    // session starting now does not lose the network it just found.
    const filter = Names.labelFilter(options.prefix)
    const networks = yield* stage.forEach(
      of("network"),
      (network) =>
        Effect.flatMap(
          Effect.all([engine.listContainers(filter), engine.listVolumes(filter)], { concurrency: 2 }),
          ([containers, volumes]) =>
            containers.length + volumes.length > 0
              ? Effect.succeed<Removal>("in-use")
              : engine.removeNetwork(network.ref).pipe(
                  Effect.as<Removal>("removed"),
                  Effect.catchTag("NetworkNotFound", () => Effect.succeed<Removal>("absent")),
                  // A session that started since joined it: engines refuse a network with active endpoints.
                  Effect.catchIf(
                    (error) => error._tag === "EngineError" && error.status === 403,
                    () => Effect.succeed<Removal>("in-use")
                  )
                )
        ),
      Math.max(1, of("network").length)
    )
    const outcome = concat([containers, volumes, networks])
    yield* Progress.emit(
      Progress.CleanupDone.make({
        ...session,
        removed: outcome.successes.filter((success) => success.value !== "in-use").length,
        failed: outcome.failures.length,
        failures: outcome.failures.map((failure) => ({
          kind: failure.item.kind,
          name: failure.item.name,
          cause: stage.causeOf(failure.cause)
        })),
        kept: false
      })
    )
    if (outcome.failures.length > 0) {
      yield* Effect.logWarning("some resources could not be removed; `armada clean` retries").pipe(
        Effect.annotateLogs(
          "failures",
          outcome.failures.map((failure) => `${failure.item.kind} ${failure.item.name}`)
        )
      )
    }
    return outcome
  }).pipe(Effect.withSpan("armada.cleanup", { attributes: { prefix: options.prefix, ...options.label } }))

/**
 * One bulk removal over a group, its outcome told in terms of the group's resources. A refusal of
 * the whole call (a name the engine would not take) is every item's failure.
 */
const inGroup = (
  group: ReadonlyArray<Resource>,
  removeAll: (
    refs: ReadonlyArray<string>
  ) => Effect.Effect<
    Outcome.Outcome<string, Removal, ContainerEngineError.ContainerEngineError>,
    ContainerEngineError.ContainerEngineError,
    ContainerEngine
  >
): Effect.Effect<CleanOutcome, never, ContainerEngine> =>
  removeAll(group.map((resource) => resource.ref)).pipe(
    Effect.map(
      (outcome): CleanOutcome => ({
        successes: outcome.successes.map((s) => ({ ...s, item: group[s.index]! })),
        failures: outcome.failures.map((f) => ({ ...f, item: group[f.index]! }))
      })
    ),
    Effect.catchAll((error) =>
      Effect.succeed<CleanOutcome>({
        successes: [],
        failures: group.map((item, index) => ({ index, item, cause: { _tag: "Fail", error } }))
      })
    )
  )

/** One outcome for several groups, indices running across them in order. */
const concat = <I, A, E>(outcomes: ReadonlyArray<Outcome.Outcome<I, A, E>>): Outcome.Outcome<I, A, E> => {
  let offset = 0
  const successes: Array<Outcome.Success<I, A>> = []
  const failures: Array<Outcome.Failure<I, E>> = []
  for (const outcome of outcomes) {
    for (const success of outcome.successes) successes.push({ ...success, index: success.index + offset })
    for (const failure of outcome.failures) failures.push({ ...failure, index: failure.index + offset })
    offset += outcome.successes.length + outcome.failures.length
  }
  return { successes, failures }
}
