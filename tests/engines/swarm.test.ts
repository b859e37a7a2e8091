/**
 * `armada run --engine swarm` on a single-node swarm of the test's own (`@armada/testkit`
 * `Swarm`: a dockerd in a network namespace of its own, never the machine's engine): the example
 * gives the same files as on Docker, and nothing labelled is left on the swarm.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Engine, Swarm, TestImage } from "@armada/testkit"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { beforeAll } from "vitest"
import { exampleSpec } from "../registry/support.js"
import { assertSameFiles, labelled, nothing, sweep } from "../support.js"
import { armada, example, requireBin } from "./example.js"

const suite = "tests/engines Swarm (armada run --engine swarm on a swarm of the test's own)"
const skip = Engine.skipWithoutEngine(suite) || Swarm.skipWithoutSwarm(suite)

const prefix = "armadaswarm"

/** What carries `<prefix>.managed=true` on the swarm: services, containers, volumes, networks. */
const labelledOn = (swarm: Swarm.Swarm) =>
  Effect.gen(function* () {
    const filter = ["--filter", `label=${prefix}.managed=true`]
    const lines = (args: ReadonlyArray<string>) =>
      Effect.map(swarm.docker(args), (out) => out.split("\n").filter((line) => line !== ""))
    return {
      services: yield* lines(["service", "ls", "--format", "{{.Name}}", ...filter]),
      containers: yield* lines(["ps", "-a", "--format", "{{.Names}}", ...filter]),
      volumes: yield* lines(["volume", "ls", "-q", ...filter]),
      networks: yield* lines(["network", "ls", "--format", "{{.Name}}", ...filter])
    }
  })

describe.skipIf(skip)(suite, () => {
  beforeAll(requireBin)

  it.live(
    "the example gives the same files as on Docker (archives through the node's engine, and through the merger), and leaves nothing labelled on the swarm",
    () =>
      Effect.gen(function* () {
        const work = mkdtempSync(join(tmpdir(), "armada-swarm-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(work, { recursive: true, force: true })))
        // The example with roomy timeouts: a busy machine may take long to make a container ready.
        const spec = exampleSpec(work, {})
        const run = (engine: "docker" | "swarm", output: string, env: Readonly<Record<string, string>>) =>
          armada(["run", spec, "--engine", engine, "--output", join(work, output), "--prefix", prefix], env)

        const onDocker = yield* run("docker", "docker", {})
        assert.strictEqual(onDocker.code, 0, onDocker.stdout + onDocker.stderr)
        const leftOnDocker = labelled(`${prefix}.managed=true`)
        sweep(`${prefix}.managed=true`)
        assert.deepStrictEqual(leftOnDocker, nothing, "left on the machine's engine")

        const swarm = yield* Swarm.start({ images: [TestImage.testAppImage] })
        const env = { DOCKER_HOST: swarm.host, ARMADA_SWARM_NODES: swarm.nodesJson }
        const onSwarm = yield* run("swarm", "swarm", env)
        assert.strictEqual(onSwarm.code, 0, onSwarm.stdout + onSwarm.stderr)
        assert.include(
          onSwarm.stdout + onSwarm.stderr,
          "without no-new-privileges",
          "the run says what the profile lacks"
        )
        assertSameFiles(join(work, "swarm"), join(work, "docker"))
        assertSameFiles(join(work, "swarm"), join(example, "expected"))
        // The files through the merger instead of the node's archive API (docs/scale-out.md, 1.1).
        const throughMerger = yield* run("swarm", "swarm-merger", { ...env, ARMADA_FILES: "merger" })
        assert.strictEqual(throughMerger.code, 0, throughMerger.stdout + throughMerger.stderr)
        assertSameFiles(join(work, "swarm-merger"), join(work, "docker"))
        assert.deepStrictEqual(yield* labelledOn(swarm), {
          services: [],
          containers: [],
          volumes: [],
          networks: []
        })
      }).pipe(Effect.scoped),
    // Three runs of the example and a dockerd's start on a busy 2-core machine: 237 s at a load average of 30-70.
    600_000
  )
})
