import { LocalEngine } from "@armada/local"
import { Conformance, ConformanceFixture } from "@armada/testkit"

// The fixture server runs as a process of this very Node.js; its image labels are the catalog's.
Conformance.run({
  name: "local",
  layer: LocalEngine.layer({
    catalog: {
      [ConformanceFixture.fixtureImage]: {
        command: [process.execPath, ConformanceFixture.fixtureServerPath],
        labels: ConformanceFixture.fixtureImageLabels
      }
    }
  }),
  unsupported: {
    networks: "networks are bookkeeping only; every process shares the host's loopback",
    resourceLimits: "memory, CPU and pids limits are not applied to local processes",
    isolation: "a local process runs as the user, on the host network, with no capability dropped"
  }
})
