import { defineProject } from "vitest/config"
import { armadaAliases } from "../vitest.shared.js"

export default defineProject({
  resolve: { alias: armadaAliases },
  test: {
    include: ["**/*.test.ts"],
    // Room for a busy 2-core machine: these tests start containers and processes.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    poolOptions: { forks: { singleFork: true } }
  }
})
