import { DockerEngineLive } from "@armada/docker"
import * as Http from "@armada/http"
import { Orchestrator, Progress, Spec } from "@armada/orchestrator"
import { NodeContext, NodeHttpClient } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"

// Load a spec, run the whole pipeline, say what came out. Every container, volume and network
// the run created is gone when `pipeline` returns, whether it succeeded, failed or was interrupted.
export const build = (specFile: string, output: string) =>
  Effect.gen(function* () {
    const spec = yield* Spec.load(specFile)
    const summary = yield* Orchestrator.pipeline(spec, { output })
    yield* Console.log(
      `${summary.files.length} files in ${summary.output} (${summary.conflicts.length} conflicts)`
    )
    return summary
  }).pipe(
    // Every failing item of the failed stage, each with its typed cause.
    Effect.tapErrorTag("StageFailed", (error) =>
      Effect.forEach(error.failures, (f) => Console.error(`${f.stage} ${f.kind} ${f.id}: ${f.cause.message}`))
    )
  )

// The services it needs: an engine, an HTTP client for the containers, the file system (for the
// spec), and optionally somewhere for progress events to go.
export const MainLive = Layer.mergeAll(
  DockerEngineLive.layer(),
  Http.layer.pipe(Layer.provide(NodeHttpClient.layerUndici)),
  NodeContext.layer,
  Progress.layer((event) =>
    event._tag === "ContainerReady" ? Console.log(`${event.name} is ready`) : Effect.void
  )
)

// In an application: build("armada.yaml", "out").pipe(Effect.provide(MainLive), NodeRuntime.runMain)
