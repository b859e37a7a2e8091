import { MemoryEngine } from "@armada/engine"
import { Conformance, ConformanceFixture } from "@armada/testkit"

Conformance.run({
  name: "layerMemory",
  layer: MemoryEngine.layerMemory({ images: [ConformanceFixture.fixturePreset] }),
  unsupported: {
    http: "containers run no process, so nothing answers on a published port"
  }
})
