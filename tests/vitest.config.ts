import { defineProject } from "vitest/config"
import { armadaAliases } from "../vitest.shared.js"

export default defineProject({
  resolve: { alias: armadaAliases },
  test: {
    include: ["**/*.test.ts"],
    globalSetup: ["./global-setup.ts"],
    // Room for a busy 2-core machine: these tests start containers and processes.
    testTimeout: 300_000,
    // The engine's request timeout for the library and the CLI in these tests: an engine busy with
    // many containers on a loaded machine can take longer than the default 30 s to answer. A test
    // about the request timeout sets its own.
    env: { ARMADA_DOCKER_TIMEOUT: "2 minutes" },
    hookTimeout: 300_000,
    poolOptions: { forks: { singleFork: true } }
  }
})
