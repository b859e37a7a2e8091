/** @internal */
import { type ImageRef, Names } from "@armada/core"
import { DockerEngine, DockerError } from "@armada/docker"
import { Array as Arr, Effect, Stream } from "effect"
import type * as Orchestrator from "../Orchestrator.js"
import * as Progress from "../Progress.js"
import type { Spec } from "../Spec.js"
import * as archive from "./archive.js"
import * as resources from "./resources.js"
import * as stage from "./stage.js"

/** Who uses an image: the items a failed pull is reported for. */
const imageUsers = (
  spec: Spec
): ReadonlyArray<{ readonly image: ImageRef.ImageRef; readonly users: ReadonlyArray<stage.Item> }> => {
  const items: ReadonlyArray<stage.Item & { readonly image: ImageRef.ImageRef }> = [
    ...spec.processors.map((p) => ({ kind: "processor" as const, id: p.id, image: p.image })),
    ...spec.plugins.map((p) => ({ kind: "plugin" as const, id: p.id, image: p.image })),
    { kind: "merger" as const, id: "merger", image: spec.merger.image }
  ]
  return Arr.dedupe(items.map((item) => item.image)).map((image) => ({
    image,
    users: items.filter((item) => item.image === image)
  }))
}

/** Pulls every image that is not present, in parallel; one failure per item using a failed image. */
const pullMissing = (spec: Spec) =>
  Effect.gen(function* () {
    const engine = yield* DockerEngine
    const images = imageUsers(spec)
    const outcome = yield* stage.forEach(
      images,
      ({ image }) =>
        Effect.flatMap(engine.imageExists(image), (present) =>
          present
            ? Progress.emit(Progress.ImagePresent.make({ image }))
            : engine.pull(image).pipe(
                Stream.runForEach((line) =>
                  Progress.emit(
                    Progress.PullProgress.make({
                      image,
                      status: line.status,
                      ...(line.layer === undefined ? {} : { layer: line.layer }),
                      ...(line.current === undefined ? {} : { current: line.current }),
                      ...(line.total === undefined ? {} : { total: line.total })
                    })
                  )
                ),
                Effect.zipRight(Progress.emit(Progress.ImagePulled.make({ image }))),
                Effect.withSpan("armada.pull", { attributes: { image } })
              )
        ),
      spec.options.concurrency
    )
    return outcome.failures.flatMap((failure) =>
      failure.item.users.map((user) => stage.failure("warm", user, stage.causeOf(failure.cause)))
    )
  })

/** @internal */
export const warm = (spec: Spec) =>
  Effect.gen(function* () {
    const engine = yield* DockerEngine
    const { prefix, keep, concurrency } = spec.options
    const session = spec.session
    const ledger = yield* resources.makeLedger({ prefix, session, keep, concurrency })
    const names = {
      network: Names.networkName(prefix),
      templateVolume: Names.templateVolumeName(prefix, spec.templateId),
      sessionVolume: Names.sessionVolumeName(prefix, spec.templateId, session)
    }
    const asFailures = (item: stage.Item) => stage.failuresOf("warm", item)

    const network = ledger
      .acquire(
        engine.ensureNetwork({ name: names.network, labels: Names.labels(prefix, { role: "network" }) }),
        (info) => ({
          kind: "network",
          name: info.name,
          ref: info.name
        })
      )
      .pipe(asFailures({ kind: "network", id: names.network }))

    const volume = (name: string, role: "template" | "session") =>
      Effect.gen(function* () {
        // Docker answers "created" for a name that exists; a volume of another session must not be reused.
        const existing = yield* engine.listVolumes()
        if (existing.some((v) => v.name === name)) {
          return yield* new DockerError.NameConflict({ kind: "volume", name })
        }
        yield* ledger.acquire(
          engine.createVolume({ name, labels: Names.labels(prefix, { session, role }) }),
          () => ({
            kind: "volume",
            name,
            ref: name
          })
        )
      }).pipe(asFailures({ kind: role === "template" ? "template" : "volume", id: name }))

    const { value: failures } = yield* stage.run(
      session,
      "warm",
      imageUsers(spec).length,
      Effect.gen(function* () {
        const prepared = yield* Effect.all(
          [
            network,
            pullMissing(spec),
            volume(names.templateVolume, "template"),
            volume(names.sessionVolume, "session")
          ],
          { concurrency: "unbounded" }
        )
        const failures = prepared.flat()
        if (failures.length > 0) return failures
        // The template goes in once the images are there: a volume is reached through a container of one.
        return yield* archive
          .loadTemplate(names.templateVolume, spec.merger.image, spec.template)
          .pipe(asFailures({ kind: "template", id: names.templateVolume }))
      })
    )
    yield* stage.check(session, "warm", failures)
    const warmed: Orchestrator.Session = { spec, ...names, ledger }
    return warmed
  }).pipe(Effect.annotateLogs("session", spec.session))
