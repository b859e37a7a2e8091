import { DockerEngineLive } from "@armada/docker"
import { Conformance, ConformanceFixture, Engine } from "@armada/testkit"
import { beforeAll, describe } from "vitest"

describe.skipIf(Engine.skipWithoutEngine("docker conformance (live)"))("docker conformance (live)", () => {
  beforeAll(() => {
    ConformanceFixture.ensureFixtureImage()
  }, 300_000)
  Conformance.run({ name: "DockerEngineLive", layer: DockerEngineLive.layerConfig() })
})
