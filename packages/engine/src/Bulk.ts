/**
 * The bulk operations on containers, images and volumes: each is one call of
 * `Parallel.forEachCollect` and returns an `Outcome` naming every item (its successes and its
 * failures, in input order). Every item is validated before any reaches the engine: one bad name
 * or image reference fails the whole call with an `InputError` naming the field
 * (`specs[2].name`, `images[0]`), and nothing is started.
 *
 * @since 0.1.0
 */
import { type ImageRef, type InputError, type Outcome, Parallel } from "@armada/core"
import { Effect, Schema, Stream } from "effect"
import { ContainerEngine, type ContainerSpec, type PullProgress } from "./ContainerEngine.js"
import * as ContainerEngineError from "./ContainerEngineError.js"
import * as Validation from "./Validation.js"

/**
 * Engine operations wait on I/O, not on the CPU: the default is 8 in flight, not the core count.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly concurrency?: Parallel.Concurrency | undefined
}

const parallelOptions = (options: Options | undefined): Parallel.Options => ({
  concurrency: options?.concurrency ?? 8
})

const validateAll = <A, B>(
  items: Iterable<A>,
  validate: (item: A, index: number) => Effect.Effect<B, InputError>
): Effect.Effect<Array<B>, InputError> => Effect.forEach(items, validate)

/**
 * `"present"` when the image was already there (no pull, no registry contacted), `"pulled"`
 * otherwise.
 *
 * @since 0.1.0
 * @category models
 */
export type PullResult = "present" | "pulled"

/**
 * When an image is pulled, as Docker's `--pull` reads it: `missing` (the default) only when it is
 * not present, `always` every time (a tag may have moved), `never` (an absent image is an
 * `ImageNotFound`, and no registry is contacted).
 *
 * @since 0.2.0
 * @category models
 */
export const PullPolicy = Schema.Literal("missing", "always", "never")

/**
 * @since 0.2.0
 * @category models
 */
export type PullPolicy = typeof PullPolicy.Type

/**
 * The `detail` of the `ImageNotFound` for an absent image under the pull policy `never`.
 *
 * @since 0.2.0
 * @category constants
 */
export const neverPulled = "not pulled: the pull policy is never"

/**
 * Makes every image present under `policy` (default `missing`): those already there are skipped
 * at once, the others are pulled, their progress going to `onProgress`. Each reference is pulled
 * as given: the caller removes duplicates.
 *
 * @since 0.1.0
 * @category bulk
 */
export const pullAll = (
  images: Iterable<string>,
  options?: Options & {
    readonly policy?: PullPolicy | undefined
    readonly onProgress?: ((progress: PullProgress) => Effect.Effect<void>) | undefined
    /** Called as soon as an image is there, before the others are. */
    readonly onPresent?: ((image: ImageRef.ImageRef, result: PullResult) => Effect.Effect<void>) | undefined
  }
): Effect.Effect<
  Outcome.Outcome<ImageRef.ImageRef, PullResult, ContainerEngineError.ContainerEngineError>,
  InputError,
  ContainerEngine
> =>
  Effect.gen(function* () {
    const refs = yield* validateAll(images, (image, index) => Validation.image(`images[${index}]`, image))
    const engine = yield* ContainerEngine
    const policy = options?.policy ?? "missing"
    const onProgress = options?.onProgress ?? (() => Effect.void)
    const pull = (image: ImageRef.ImageRef) =>
      Stream.runForEach(engine.pull(image), onProgress).pipe(Effect.as<PullResult>("pulled"))
    const pullOne = (
      image: ImageRef.ImageRef
    ): Effect.Effect<PullResult, ContainerEngineError.ContainerEngineError> =>
      policy === "always"
        ? pull(image)
        : Effect.flatMap(engine.imageExists(image), (present) =>
            present
              ? Effect.succeed<PullResult>("present")
              : policy === "never"
                ? Effect.fail(new ContainerEngineError.ImageNotFound({ image, detail: neverPulled }))
                : pull(image)
          )
    const onPresent = options?.onPresent
    return yield* Parallel.forEachCollect(
      refs,
      onPresent === undefined
        ? pullOne
        : (image) => Effect.tap(pullOne(image), (result) => onPresent(image, result)),
      parallelOptions(options)
    )
  }).pipe(Effect.withSpan("Bulk.pullAll"))

/**
 * A container that was created and started.
 *
 * @since 0.1.0
 * @category models
 */
export interface Started {
  readonly id: string
  readonly name: string
}

/**
 * Creates and starts every container. A container that was created but would not start is
 * removed again, so a failed item leaves nothing behind; the successes are the caller's to
 * remove (`removeContainers`, or by label).
 *
 * @since 0.1.0
 * @category bulk
 */
export const createAndStartAll = (
  specs: Iterable<ContainerSpec>,
  options?: Options
): Effect.Effect<
  Outcome.Outcome<ContainerSpec, Started, ContainerEngineError.ContainerEngineError>,
  InputError,
  ContainerEngine
> =>
  Effect.gen(function* () {
    const valid = yield* validateAll(specs, (spec, index) =>
      Validation.containerSpec(spec, `specs[${index}]`)
    )
    const engine = yield* ContainerEngine
    const createAndStart = (
      spec: ContainerSpec
    ): Effect.Effect<Started, ContainerEngineError.ContainerEngineError> =>
      Effect.flatMap(engine.createContainer(spec), (id) =>
        engine.startContainer(id).pipe(
          Effect.tapError(() => Effect.ignore(engine.removeContainer(id))),
          Effect.as({ id, name: spec.name })
        )
      )
    const outcome = yield* Parallel.forEachCollect(valid, createAndStart, parallelOptions(options))
    return outcome
  }).pipe(Effect.withSpan("Bulk.createAndStartAll"))

/**
 * `"absent"` when there was nothing to remove: removal is idempotent.
 *
 * @since 0.1.0
 * @category models
 */
export type RemoveResult = "removed" | "absent"

type Removal = Effect.Effect<
  Outcome.Outcome<string, RemoveResult, ContainerEngineError.ContainerEngineError>,
  InputError,
  ContainerEngine
>

/** Removes every item of `field` through `remove`; one the engine does not know (`gone`) is absent. */
const removeAll = (
  field: "containers" | "volumes",
  items: Iterable<string>,
  remove: (
    engine: ContainerEngine.Service,
    name: string
  ) => Effect.Effect<void, ContainerEngineError.ContainerEngineError>,
  gone: "ContainerNotFound" | "VolumeNotFound",
  options: Options | undefined
): Removal =>
  Effect.gen(function* () {
    const names = yield* validateAll(items, (name, index) => Validation.name(`${field}[${index}]`, name))
    const engine = yield* ContainerEngine
    return yield* Parallel.forEachCollect(
      names,
      (name) =>
        remove(engine, name).pipe(
          Effect.as<RemoveResult>("removed"),
          Effect.catchTag(gone, () => Effect.succeed<RemoveResult>("absent"))
        ),
      parallelOptions(options)
    )
  })

/**
 * Removes every container (killing it first if it runs).
 *
 * @since 0.1.0
 * @category bulk
 */
export const removeContainers = (containers: Iterable<string>, options?: Options): Removal =>
  removeAll(
    "containers",
    containers,
    (engine, name) => engine.removeContainer(name),
    "ContainerNotFound",
    options
  ).pipe(Effect.withSpan("Bulk.removeContainers"))

/**
 * Removes every volume; one still mounted by a container fails with `VolumeInUse`.
 *
 * @since 0.1.0
 * @category bulk
 */
export const removeVolumes = (volumes: Iterable<string>, options?: Options): Removal =>
  removeAll("volumes", volumes, (engine, name) => engine.removeVolume(name), "VolumeNotFound", options).pipe(
    Effect.withSpan("Bulk.removeVolumes")
  )
