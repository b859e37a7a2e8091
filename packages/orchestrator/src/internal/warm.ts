/** @internal */
import { ImageRef, Names } from "@armada/core"
import { Archive, Bulk, ContainerEngine, ContainerEngineError, type Labels } from "@armada/engine"
import { Array as Arr, Effect, Either } from "effect"
import type * as Orchestrator from "../Orchestrator.js"
import type { ItemFailure } from "../OrchestratorError.js"
import * as Progress from "../Progress.js"
import type { Spec } from "../Spec.js"
import * as resources from "./resources.js"
import * as stage from "./stage.js"
import * as transfer from "./transfer.js"

type ImageUser = stage.Item & { readonly image: ImageRef.ImageRef }

/**
 * Every item that runs an image, in the order the start stage starts them: a failed pull is
 * reported for each of them.
 */
const imageUsers = (spec: Spec): ReadonlyArray<ImageUser> => [
  ...spec.processors.map((p): ImageUser => ({ kind: "processor", id: p.id, image: p.image })),
  ...spec.plugins.map((p): ImageUser => ({ kind: "plugin", id: p.id, image: p.image })),
  ...spec.resolvers.map((r): ImageUser => ({ kind: "resolver", id: r.id, image: r.image })),
  { kind: "merger", id: "merger", image: spec.merger.image }
]

/**
 * Every image the spec runs, once (`alpine` and `docker.io/library/alpine:latest` are one image),
 * with the items that run it: a failed pull is reported for each of them.
 */
const imagesOf = (spec: Spec): ReadonlyArray<readonly [ImageRef.ImageRef, ReadonlyArray<ImageUser>]> => {
  const byImage = Arr.groupBy(imageUsers(spec), (user) => ImageRef.canonical(user.image))
  return Object.values(byImage).map((users) => [users[0].image, users] as const)
}

/**
 * Makes every image present under the spec's pull policy, all in parallel under its concurrency,
 * each image once however many items run it.
 */
const pullImages = (spec: Spec): Effect.Effect<ReadonlyArray<ItemFailure>, never, ContainerEngine> => {
  const images = imagesOf(spec)
  const usersOf = new Map(images)
  return Bulk.pullAll(
    images.map(([image]) => image),
    {
      concurrency: spec.options.concurrency,
      policy: spec.options.pull,
      onProgress: (line) =>
        Progress.emit(
          Progress.PullProgress.make({
            image: line.image,
            status: line.status,
            ...(line.layer === undefined ? {} : { layer: line.layer }),
            ...(line.current === undefined ? {} : { current: line.current }),
            ...(line.total === undefined ? {} : { total: line.total })
          })
        ),
      onPresent: (image, result) =>
        Progress.emit(
          result === "present" ? Progress.ImagePresent.make({ image }) : Progress.ImagePulled.make({ image })
        )
    }
  ).pipe(
    Effect.map((outcome) =>
      outcome.failures.flatMap((failure) =>
        (usersOf.get(failure.item) ?? []).map((user) =>
          stage.failure("warm", user, stage.causeOf(failure.cause))
        )
      )
    ),
    // A refused image reference (never the case after `Spec`) fails every item using it.
    Effect.catchAll((error) =>
      Effect.succeed(images.flatMap(([, users]) => users.map((user) => stage.failure("warm", user, error))))
    )
  )
}

/**
 * `labels`: put on everything the session creates, beside armada's own (a pooled set's).
 *
 * @internal
 */
export const warm = (spec: Spec, labels: Labels = {}) =>
  Effect.gen(function* () {
    const engine = yield* ContainerEngine
    const { prefix, keep } = spec.options
    const session = spec.session
    const runLabels = yield* resources.acquireRun({ prefix, session, keep, extra: labels })
    const names = {
      network: Names.networkName(prefix),
      templateVolume: Names.templateVolumeName(prefix, spec.templateId, session),
      sessionVolume: Names.sessionVolumeName(prefix, spec.templateId, session)
    }

    // The network is shared by every session of the prefix: it carries no session label.
    // Creations are not interruptible: an aborted request may still create the resource after the
    // run's finalizer looked for it.
    const network = engine
      .ensureNetwork({ name: names.network, labels: Names.labels(prefix, { role: "network" }) })
      .pipe(Effect.uninterruptible, stage.failuresOf("warm", { kind: "network", id: names.network }))

    // Docker answers "created" for a volume name that exists: a volume of another run must not be reused.
    const volumes = Effect.gen(function* () {
      const existing = new Set((yield* engine.listVolumes()).map((v) => v.name))
      const create = (name: string, role: "template" | "session") =>
        (existing.has(name)
          ? Effect.fail(new ContainerEngineError.NameConflict({ kind: "volume", name }))
          : Effect.uninterruptible(engine.createVolume({ name, labels: runLabels.of(role) }))
        ).pipe(stage.failuresOf("warm", { kind: role === "template" ? "template" : "volume", id: name }))
      const created = yield* Effect.all(
        [create(names.templateVolume, "template"), create(names.sessionVolume, "session")],
        { concurrency: "unbounded" }
      )
      return created.flat()
    }).pipe(
      Effect.catchAll((error) =>
        Effect.succeed([stage.failure("warm", { kind: "volume", id: names.sessionVolume }, error)])
      )
    )

    // The route of the run's files (internal/transfer.ts): a bad ARMADA_FILES fails the stage.
    const route = yield* transfer.route(spec).pipe(Effect.either)
    const { value: failures } = yield* stage.run(
      session,
      "warm",
      imagesOf(spec).length,
      Effect.gen(function* () {
        // The volumes before the network: from then on another session's cleanup sees this session
        // and leaves the prefix's network in place.
        const prepared = yield* Effect.all(
          [
            Effect.flatMap(volumes, (failed) => (failed.length > 0 ? Effect.succeed(failed) : network)),
            pullImages(spec)
          ],
          { concurrency: "unbounded" }
        )
        const failures = prepared.flat()
        if (Either.isLeft(route))
          return [
            ...failures,
            stage.failure("warm", { kind: "template", id: names.templateVolume }, route.left)
          ]
        // Through the merger, the template goes in once the merger is ready (start.ts).
        if (failures.length > 0 || route.right === "merger") return failures
        // The template goes in once the images are there: a volume is reached through a container of one.
        return yield* engine
          .putArchive(
            { _tag: "Volume", volume: names.templateVolume, image: spec.merger.image },
            "/",
            Archive.packDirectory(spec.template)
          )
          .pipe(
            Effect.withSpan("armada.template.load", { attributes: { template: spec.template } }),
            stage.failuresOf("warm", { kind: "template", id: names.templateVolume })
          )
      })
    )
    yield* stage.check(session, "warm", failures)
    const warmed: Orchestrator.Session = {
      spec,
      runId: runLabels.runId,
      ...names,
      files: Either.getOrElse(route, () => "engine" as const),
      labels: runLabels
    }
    return warmed
  }).pipe(Effect.annotateLogs("session", spec.session))
