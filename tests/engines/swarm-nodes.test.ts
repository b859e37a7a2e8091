/**
 * Two nodes (`@armada/testkit` `Swarm` with a worker: two dockerds, each in a network namespace of
 * its own, never the machine's engine): six `armada run --engine swarm`, in two waves of three
 * started at once, are placed on both nodes, all give the example's files, and `armada clean --all`
 * leaves nothing on either.
 *
 * Runs placed at the same instant see the same load and may all pick one node (docs/scale-out.md
 * 1.2: balance, not correctness), so six at once share one node 1 time in 32. A run placed after
 * others sees their sessions, so the second wave goes where the first left room: both nodes get
 * sessions whatever the first wave chose.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Engine, Swarm, TestImage } from "@armada/testkit"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { beforeAll } from "vitest"
import { bin, exampleSpec, root } from "../registry/support.js"
import { assertSameFiles, runCli } from "../support.js"
import { example, requireBin } from "./example.js"

const suite = "tests/engines Swarm, two nodes (six runs in two waves placed on both, cleaned from both)"
const skip = Engine.skipWithoutEngine(suite) || Swarm.skipWithoutSwarm(suite)

const prefix = "armadaswarm2"
const label = `${prefix}.managed=true`

/** The lines `docker args` prints on `node`. */
const lines = (node: Swarm.Node, args: ReadonlyArray<string>) =>
  Effect.map(node.docker(args), (out) => out.split("\n").filter((line) => line !== ""))

/** The sessions whose volumes `node` holds. */
const sessionsOn = (node: Swarm.Node) =>
  Effect.map(
    lines(node, ["volume", "ls", "--filter", `label=${label}`, "--format", `{{.Label "${prefix}.session"}}`]),
    (sessions) => new Set(sessions)
  )

/** What carries the prefix's label on `node`: containers, volumes, networks. */
const labelledOn = (node: Swarm.Node) =>
  Effect.all({
    containers: lines(node, ["ps", "-a", "-q", "--filter", `label=${label}`]),
    volumes: lines(node, ["volume", "ls", "-q", "--filter", `label=${label}`]),
    networks: lines(node, ["network", "ls", "-q", "--filter", `label=${label}`])
  })

describe.skipIf(skip)(suite, () => {
  beforeAll(requireBin)

  it.live(
    "two waves of three runs at once land on both nodes, all golden, and clean --all leaves nothing on either",
    () =>
      Effect.gen(function* () {
        const work = mkdtempSync(join(tmpdir(), "armada-swarm2-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(work, { recursive: true, force: true })))
        const swarm = yield* Swarm.start({ images: [TestImage.testAppImage], workers: 1 })
        const [worker] = swarm.workers
        const env = { DOCKER_HOST: swarm.host, ARMADA_SWARM_NODES: swarm.nodesJson }
        // Six runs of five containers each on two cores: the registry tests' roomy timeouts in the
        // spec, and ten minutes per CLI run.
        const armada = (args: ReadonlyArray<string>) =>
          Effect.promise(() => runCli(bin, args, { cwd: root, env, timeout: 600_000 }))
        const spec = exampleSpec(work, {})
        const wave = (first: number) =>
          Effect.all(
            [first, first + 1, first + 2].map((index) =>
              armada([
                "run",
                spec,
                "--engine",
                "swarm",
                "--keep",
                "--output",
                join(work, `run-${index}`),
                "--prefix",
                prefix
              ])
            ),
            { concurrency: "unbounded" }
          )
        // The first wave's sessions are kept, so the second wave is placed by their load.
        const runs = [...(yield* wave(0)), ...(yield* wave(3))]
        for (const run of runs) assert.strictEqual(run.code, 0, run.stdout + run.stderr)
        for (let index = 0; index < 6; index++) {
          assertSameFiles(join(work, `run-${index}`), join(example, "expected"))
        }

        // Kept: each session's volumes tell its node.
        const onManager = yield* sessionsOn(swarm)
        const onWorker = yield* sessionsOn(worker!)
        assert.strictEqual(onManager.size + onWorker.size, 6, "six sessions, each on one node")
        assert.isAbove(onManager.size, 0, "a session on the manager")
        assert.isAbove(onWorker.size, 0, "a session on the worker")

        const cleaned = yield* armada(["clean", "--all", "--engine", "swarm", "--prefix", prefix])
        assert.strictEqual(cleaned.code, 0, cleaned.stdout + cleaned.stderr)
        assert.deepStrictEqual(yield* lines(swarm, ["service", "ls", "-q", "--filter", `label=${label}`]), [])
        const nothing = { containers: [], volumes: [], networks: [] }
        assert.deepStrictEqual(yield* labelledOn(swarm), nothing, "left on the manager")
        assert.deepStrictEqual(yield* labelledOn(worker!), nothing, "left on the worker")
      }).pipe(Effect.scoped),
    900_000
  )
})
