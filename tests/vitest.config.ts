import { configDefaults, defineProject } from "vitest/config"
import { armadaAliases } from "../vitest.shared.js"

export default defineProject({
  resolve: { alias: armadaAliases },
  test: {
    include: ["**/*.test.ts"],
    // The reliability suite (issue 8) runs on its own (`pnpm test:reliability`): its engine-fault
    // case starts a second dockerd that deleted the main engine's docker0 bridge, and it is not yet
    // proven green in one CI run beside the rest.
    exclude: [
      ...configDefaults.exclude,
      ...(process.env.ARMADA_RELIABILITY === "1" ? [] : ["reliability/**"])
    ],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    poolOptions: { forks: { singleFork: true } }
  }
})
