/**
 * A scripted run, as the orchestrator reports it: one image present, one pulled with progress,
 * three processors (one answers HTTP 500), a merger and a plugin that never run, and the cleanup.
 */
import { ContainerEngineError } from "@armada/engine"
import { ProcessorError } from "@armada/http"
import { Progress } from "@armada/orchestrator"
import type * as CliProgress from "../src/Progress.js"

export const context: CliProgress.Context = {
  session: "golden01",
  prefix: "armada",
  processors: ["docs", "code", "broken"],
  plugins: ["stamp"],
  resolvers: [],
  output: "out/golden01",
  images: {
    "processor/docs": "armada/test-app:dev",
    "processor/code": "armada/test-app:dev",
    "processor/broken": "acme/broken:1",
    "plugin/stamp": "armada/test-app:dev",
    "merger/merger": "armada/test-app:dev"
  }
}

const container = (role: "processor" | "plugin" | "merger", id: string) => ({
  role,
  id,
  name: `armada-${role}-${id}-golden01`
})

const containers = [
  container("processor", "docs"),
  container("processor", "code"),
  container("processor", "broken"),
  container("plugin", "stamp"),
  container("merger", "merger")
]

/** Each step is an event and how many milliseconds pass before it. */
export const failingRun: ReadonlyArray<readonly [number, Progress.Event]> = [
  [0, Progress.StageStarted.make({ session: "golden01", stage: "warm", items: 2 })],
  [5, Progress.ImagePresent.make({ image: "armada/test-app:dev" })],
  [
    10,
    Progress.PullProgress.make({
      image: "acme/extra:1",
      layer: "a1",
      status: "Downloading",
      current: 0,
      total: 4_000_000
    })
  ],
  [
    500,
    Progress.PullProgress.make({
      image: "acme/extra:1",
      layer: "a1",
      status: "Downloading",
      current: 2_000_000,
      total: 4_000_000
    })
  ],
  [500, Progress.PullProgress.make({ image: "acme/extra:1", layer: "a1", status: "Download complete" })],
  [20, Progress.PullProgress.make({ image: "acme/extra:1", layer: "a1", status: "Pull complete" })],
  [5, Progress.ImagePulled.make({ image: "acme/extra:1" })],
  [40, Progress.StageDone.make({ session: "golden01", stage: "warm", ok: true, durationMillis: 1080 })],
  [0, Progress.StageStarted.make({ session: "golden01", stage: "start", items: 5 })],
  ...containers.map((c) => [3, Progress.ContainerCreated.make(c)] as const),
  ...containers.map((c) => [20, Progress.ContainerStarted.make(c)] as const),
  ...containers.map(
    (c) =>
      [
        30,
        Progress.ContainerReady.make({ ...c, url: "http://127.0.0.1:32768", attempts: 4, elapsedMillis: 30 })
      ] as const
  ),
  [0, Progress.StageDone.make({ session: "golden01", stage: "start", ok: true, durationMillis: 280 })],
  [0, Progress.StageStarted.make({ session: "golden01", stage: "process", items: 3 })],
  [120, Progress.ProcessorDone.make({ id: "docs", outputDir: "/workspace/area/1", durationMillis: 118 })],
  [
    10,
    Progress.ProcessorFailed.make({
      id: "broken",
      cause: new ProcessorError.BadStatus({
        endpoint: { name: "armada-processor-broken-golden01", url: "http://127.0.0.1:32770" },
        status: 500,
        body: "fault injected: ARMADA_FAULT_STATUS=500"
      }),
      durationMillis: 125
    })
  ],
  [15, Progress.ProcessorDone.make({ id: "code", outputDir: "/workspace/area/2", durationMillis: 140 })],
  [0, Progress.StageDone.make({ session: "golden01", stage: "process", ok: false, durationMillis: 145 })],
  [5, Progress.CleanupStarted.make({ session: "golden01", containers: 5, volumes: 2, networks: 0 })],
  [300, Progress.CleanupDone.make({ session: "golden01", removed: 7, failed: 0, failures: [], kept: false })]
]

/** A run that cannot start: the engine went away while pulling. */
export const unreachable = new ContainerEngineError.EngineUnreachable({
  address: "tcp://127.0.0.1:1",
  detail: "connect ECONNREFUSED 127.0.0.1:1"
})

/** The same pipeline when every item succeeds. */
export const successfulRun: ReadonlyArray<readonly [number, Progress.Event]> = [
  ...failingRun.slice(
    0,
    failingRun.findIndex(([, e]) => e._tag === "StageStarted" && e.stage === "process") + 1
  ),
  [120, Progress.ProcessorDone.make({ id: "docs", outputDir: "/workspace/area/1", durationMillis: 118 })],
  [10, Progress.ProcessorDone.make({ id: "broken", outputDir: "/workspace/area/3", durationMillis: 125 })],
  [15, Progress.ProcessorDone.make({ id: "code", outputDir: "/workspace/area/2", durationMillis: 140 })],
  [0, Progress.StageDone.make({ session: "golden01", stage: "process", ok: true, durationMillis: 145 })],
  [0, Progress.StageStarted.make({ session: "golden01", stage: "merge", items: 1 })],
  [40, Progress.MergeDone.make({ files: 7, conflicts: ["README.md"], durationMillis: 38 })],
  [0, Progress.StageDone.make({ session: "golden01", stage: "merge", ok: true, durationMillis: 40 })],
  [0, Progress.StageStarted.make({ session: "golden01", stage: "plug", items: 1 })],
  [60, Progress.PluginDone.make({ id: "stamp", durationMillis: 58 })],
  [0, Progress.StageDone.make({ session: "golden01", stage: "plug", ok: true, durationMillis: 60 })],
  [0, Progress.StageStarted.make({ session: "golden01", stage: "export", items: 1 })],
  [25, Progress.Exported.make({ output: "/work/out/golden01", format: "directory", files: 8 })],
  [0, Progress.StageDone.make({ session: "golden01", stage: "export", ok: true, durationMillis: 25 })],
  [5, Progress.CleanupStarted.make({ session: "golden01", containers: 5, volumes: 2, networks: 0 })],
  [300, Progress.CleanupDone.make({ session: "golden01", removed: 7, failed: 0, failures: [], kept: false })]
]
