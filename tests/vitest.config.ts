import { defineProject } from "vitest/config"
import { armadaAliases } from "../vitest.shared.js"

export default defineProject({
  resolve: { alias: armadaAliases },
  test: {
    include: ["**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    poolOptions: { forks: { singleFork: true } }
  }
})
