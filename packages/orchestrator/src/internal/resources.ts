/** @internal */
import { Names, type Outcome, type Parallel } from "@armada/core"
import { DockerEngine, type DockerError } from "@armada/docker"
import { Effect, Ref, type Scope } from "effect"
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
 * What became of one resource in a cleanup. A network still used by another session's containers
 * is left in place.
 *
 * @internal
 */
export type Removal = "removed" | "absent" | "in-use"

/** @internal */
export type CleanOutcome = Outcome.Outcome<Resource, Removal, DockerError.DockerError>

/**
 * The resources one session created, in creation order.
 *
 * @internal
 */
export interface Ledger {
  /**
   * Runs `create` uninterruptibly and records what it made before anything can interrupt, so a
   * resource never exists without the session knowing it has to remove it.
   */
  readonly acquire: <A, E, R>(
    create: Effect.Effect<A, E, R>,
    resource: (created: A) => Resource
  ) => Effect.Effect<A, E, R>
}

/**
 * A ledger whose resources are removed when `Scope` closes (success, failure or interruption),
 * in parallel, unless `keep`.
 *
 * @internal
 */
export const makeLedger = (options: {
  readonly prefix: Names.Id
  readonly session: Names.Id
  readonly keep: boolean
  readonly concurrency: Parallel.Concurrency
}): Effect.Effect<Ledger, never, DockerEngine | Scope.Scope> =>
  Effect.gen(function* () {
    const created = yield* Ref.make<ReadonlyArray<Resource>>([])
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(Ref.get(created), (resources) =>
        options.keep
          ? Progress.emit(
              Progress.CleanupDone.make({ session: options.session, removed: 0, failed: 0, kept: true })
            )
          : Effect.asVoid(remove(resources, { ...options, label: { session: options.session } }))
      )
    )
    return {
      acquire: (create, resource) =>
        Effect.uninterruptible(
          Effect.tap(create, (value) => Ref.update(created, (list) => [...list, resource(value)]))
        )
    }
  })

/**
 * Removes `resources`: the containers first, then the volumes they used, then the networks that
 * no container of `prefix` uses any more. Each group is one bulk operation; a resource already
 * gone counts as done. Reports `CleanupStarted`/`CleanupDone` and logs what could not be removed.
 *
 * @internal
 */
export const remove = (
  resources: ReadonlyArray<Resource>,
  options: {
    readonly prefix: Names.Id
    readonly concurrency: Parallel.Concurrency
    readonly label: { readonly session?: Names.Id | undefined }
  }
): Effect.Effect<CleanOutcome, never, DockerEngine> =>
  Effect.gen(function* () {
    const engine = yield* DockerEngine
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
    const bulk = (
      group: ReadonlyArray<Resource>,
      removeOne: (resource: Resource) => Effect.Effect<Removal, DockerError.DockerError>
    ) => stage.forEach(group, removeOne, options.concurrency)
    const containers = yield* bulk(of("container"), (resource) =>
      engine.removeContainer(resource.ref).pipe(
        Effect.as<Removal>("removed"),
        Effect.catchTag("ContainerNotFound", () => Effect.succeed<Removal>("absent"))
      )
    )
    const volumes = yield* bulk(of("volume"), (resource) =>
      engine.removeVolume(resource.ref).pipe(
        Effect.as<Removal>("removed"),
        Effect.catchTag("VolumeNotFound", () => Effect.succeed<Removal>("absent"))
      )
    )
    const networks = yield* bulk(of("network"), (resource) =>
      Effect.flatMap(engine.listContainers(Names.labelFilter(options.prefix)), (users) =>
        users.length > 0
          ? Effect.succeed<Removal>("in-use")
          : engine.removeNetwork(resource.ref).pipe(
              Effect.as<Removal>("removed"),
              Effect.catchTag("NetworkNotFound", () => Effect.succeed<Removal>("absent"))
            )
      )
    )
    const outcome = concat([containers, volumes, networks])
    yield* Progress.emit(
      Progress.CleanupDone.make({
        ...session,
        removed: outcome.successes.filter((success) => success.value !== "in-use").length,
        failed: outcome.failures.length,
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
 * One outcome for several groups, indices running across them in order.
 */
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

/**
 * What armada left behind under `prefix`: one session's containers and volumes, or everything
 * (`session` undefined); the prefix's network either way (removed only when nothing uses it).
 *
 * @internal
 */
export const find = (options: {
  readonly prefix: Names.Id
  readonly session?: Names.Id | undefined
}): Effect.Effect<ReadonlyArray<Resource>, DockerError.DockerError, DockerEngine> =>
  Effect.gen(function* () {
    const engine = yield* DockerEngine
    const filter = Names.labelFilter(options.prefix, options.session)
    const [containers, volumes, networks] = yield* Effect.all(
      [
        engine.listContainers(filter),
        engine.listVolumes(filter),
        engine.listNetworks(Names.labelFilter(options.prefix))
      ],
      { concurrency: "unbounded" }
    )
    return [
      ...containers.map((c): Resource => ({ kind: "container", name: c.name, ref: c.id })),
      ...volumes.map((v): Resource => ({ kind: "volume", name: v.name, ref: v.name })),
      ...networks.map((n): Resource => ({ kind: "network", name: n.name, ref: n.name }))
    ]
  })
