import { SwarmEngine } from "@armada/swarm"
import { Conformance, ConformanceFixture, Engine, Swarm } from "@armada/testkit"
import { Effect, Layer } from "effect"
import { describe } from "vitest"

const suite = "swarm conformance (a single-node swarm of the test's own)"

/**
 * The Swarm engine on a dockerd of the test's own, in a network namespace of its own, made a
 * single-node swarm with the layer and taken down with it; the fixture image is loaded into it
 * from the machine's engine. Its ports are called at the namespace's address.
 */
const onSwarm = Layer.unwrapScoped(
  Effect.gen(function* () {
    ConformanceFixture.ensureFixtureImage()
    const swarm = yield* Effect.orDie(Swarm.start({ images: [ConformanceFixture.fixtureImage] }))
    return SwarmEngine.layer({
      manager: swarm.host,
      nodes: { [swarm.nodeId]: { publish: swarm.address } },
      timeout: "2 minutes"
    })
  })
)

describe.skipIf(Engine.skipWithoutEngine(suite) || Swarm.skipWithoutSwarm(suite))(suite, () => {
  Conformance.run({
    name: "SwarmEngine",
    layer: onSwarm,
    timeout: 120_000,
    // Each is listed in docs/scale-out.md, 2.4.
    differences: {
      "containers are isolated as inspect reports":
        "a swarm service spec has no SecurityOpt in API 1.41 (moby/moby#41371), so no-new-privileges cannot be asked for and inspect reports none; privileged, network mode, CapDrop ALL and the added capabilities are as on Docker",
      "archive: put into a volume, get it back under the volume's name and through a mount":
        "swarm makes a task's container only when its service starts, so an archive through a container that was created and never started is a 409 EngineError; archives of a volume, and of a started container, go through the node's engine as on Docker"
    }
  })
})
