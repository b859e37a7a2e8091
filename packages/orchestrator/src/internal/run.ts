/** @internal */
import { randomUUID } from "node:crypto"
import { ProcessorClient, Protocol } from "@armada/http"
import { Effect } from "effect"
import type * as Orchestrator from "../Orchestrator.js"
import * as Progress from "../Progress.js"
import * as diagnosis from "./diagnosis.js"
import { resolveAll } from "./resolve.js"
import * as stage from "./stage.js"

/** A fresh directory of the session area: `/workspace/area/<uuid>`. */
const freshDir = Effect.sync(() => `${Protocol.areaDir}/${randomUUID()}`)

const itemOf = (kind: "processor" | "plugin" | "merger", container: Orchestrator.Container): stage.Item => ({
  kind,
  id: container.id,
  image: container.image
})

/** Stage 1: every processor in parallel under the limit; every failure gathered. */
const processAll = (started: Orchestrator.Started) =>
  Effect.gen(function* () {
    const client = yield* ProcessorClient
    const { spec } = started.session
    const outcome = yield* stage.forEach(
      started.processors,
      (container, index) => {
        const processor = spec.processors[index]!
        const request = (writeDir: string) =>
          Protocol.ProcessRequest.make({
            readDir: Protocol.templateDir,
            writeDir,
            globs: processor.globs,
            config: processor.config
          })
        return stage
          .measured(
            Effect.flatMap(freshDir, (writeDir) =>
              client
                .process(container.endpoint, request(writeDir), { timeout: spec.options.timeouts.call })
                .pipe(
                  diagnosis.diagnosed(container, "POST /api/process"),
                  Effect.map((response) => ({ ...response, writeDir }))
                )
            ),
            {
              done: (response, durationMillis) =>
                Progress.emit(
                  Progress.ProcessorDone.make({
                    id: container.id,
                    outputDir: response.outputDir,
                    durationMillis
                  })
                ),
              failed: (cause, durationMillis) =>
                Progress.emit(Progress.ProcessorFailed.make({ id: container.id, cause, durationMillis }))
            }
          )
          .pipe(
            Effect.withSpan("armada.process.item", {
              attributes: { id: container.id, image: container.image }
            })
          )
      },
      spec.options.concurrency
    )
    yield* stage.check(
      spec.session,
      "process",
      outcome.failures.map((f) =>
        stage.failure("process", itemOf("processor", f.item), stage.causeOf(f.cause))
      )
    )
    // Successes are in declared order, whatever order they finished in.
    return outcome.successes.map((s) => ({
      id: s.item.id,
      outputDir: s.value.value.outputDir,
      writeDir: s.value.value.writeDir,
      durationMillis: s.value.durationMillis
    }))
  })

/**
 * Stage 2: the merger copies the output dirs, in declared order, into a fresh merge dir; then the
 * resolvers settle the conflicting files their globs match, every failing file reported.
 */
const merge = (started: Orchestrator.Started, outputDirs: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const merged = yield* mergeCall(started, outputDirs)
    const { failures, resolved } = yield* resolveAll(started, outputDirs, merged.toDir, merged.conflicts)
    yield* stage.check(started.session.spec.session, "merge", failures)
    return { ...merged, resolved }
  })

/** The merger's call. */
const mergeCall = (started: Orchestrator.Started, outputDirs: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const client = yield* ProcessorClient
    const { spec } = started.session
    const toDir = yield* freshDir
    // No processors: the merge dir starts as a copy of the template.
    const fromDirs = outputDirs.length === 0 ? [Protocol.templateDir] : outputDirs
    const { value } = yield* stage.measured(
      client
        .merge(started.merger.endpoint, spec.session, Protocol.MergeRequest.make({ fromDirs, toDir }), {
          timeout: spec.options.timeouts.call
        })
        .pipe(diagnosis.diagnosed(started.merger, `POST /merge/${spec.session}`)),
      {
        done: (response, durationMillis) =>
          Progress.emit(
            Progress.MergeDone.make({ files: response.files, conflicts: response.conflicts, durationMillis })
          ),
        failed: () => Effect.void
      }
    )
    return { toDir, files: value.files, conflicts: value.conflicts }
  }).pipe(
    Effect.catchAll((cause) =>
      stage.fail(started.session.spec.session, "merge", [
        stage.failure("merge", itemOf("merger", started.merger), cause)
      ])
    ),
    Effect.withSpan("armada.merge.item")
  )

/** Stage 3: one plugin after another in declared order, each on the merge dir; the first failure stops. */
const plugAll = (started: Orchestrator.Started, directory: string) =>
  Effect.gen(function* () {
    const client = yield* ProcessorClient
    const { spec } = started.session
    return yield* stage.sequence(started.plugins, (container, index) =>
      stage
        .measured(
          client
            .plug(
              container.endpoint,
              Protocol.PlugRequest.make({ directory, config: spec.plugins[index]!.config }),
              { timeout: spec.options.timeouts.call }
            )
            .pipe(diagnosis.diagnosed(container, "POST /api/plug")),
          {
            done: (_, durationMillis) =>
              Progress.emit(Progress.PluginDone.make({ id: container.id, durationMillis })),
            failed: (cause, durationMillis) =>
              Progress.emit(Progress.PluginFailed.make({ id: container.id, cause, durationMillis }))
          }
        )
        .pipe(
          Effect.map(({ durationMillis }): Orchestrator.ItemTiming => ({ id: container.id, durationMillis })),
          Effect.withSpan("armada.plug.item", { attributes: { id: container.id, image: container.image } })
        )
    )
  }).pipe(
    Effect.catchAll((failure) =>
      stage.fail(
        started.session.spec.session,
        "plug",
        [stage.failure("plug", itemOf("plugin", failure.item), stage.causeOf(failure.cause))],
        started.plugins.slice(failure.index + 1).map((p) => p.id)
      )
    )
  )

/** @internal */
export const run = (started: Orchestrator.Started) =>
  Effect.gen(function* () {
    const session = started.session.spec.session
    const processed = yield* stage.run(session, "process", started.processors.length, processAll(started))
    const outputDirs = processed.value.map((o) => o.outputDir)
    const merged = yield* stage.run(session, "merge", 1, merge(started, outputDirs))
    // With no plugins, stage 3 is skipped.
    const plugged =
      started.plugins.length === 0
        ? { value: [], durationMillis: 0 }
        : yield* stage.run(session, "plug", started.plugins.length, plugAll(started, merged.value.toDir))
    const result: Orchestrator.RunResult = {
      mergeDir: merged.value.toDir,
      mergedFiles: merged.value.files,
      conflicts: merged.value.conflicts,
      resolved: merged.value.resolved,
      outputDirs,
      directories: [
        ...new Set([...processed.value.map((o) => o.writeDir), ...outputDirs, merged.value.toDir])
      ],
      processors: processed.value.map((o) => ({ id: o.id, durationMillis: o.durationMillis })),
      plugins: plugged.value,
      durations: {
        process: processed.durationMillis,
        merge: merged.durationMillis,
        plug: plugged.durationMillis
      }
    }
    return result
  }).pipe(Effect.annotateLogs("session", started.session.spec.session))
