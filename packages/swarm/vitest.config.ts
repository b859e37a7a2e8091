import { defineProject } from "vitest/config"
import { armadaAliases, busyMachineTimeouts } from "../../vitest.shared.js"

export default defineProject({
  resolve: { alias: armadaAliases },
  test: { include: ["test/**/*.test.ts"], ...busyMachineTimeouts }
})
