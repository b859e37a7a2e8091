import { defineProject } from "vitest/config"
import { armadaAliases } from "../../vitest.shared.js"

export default defineProject({ resolve: { alias: armadaAliases }, test: { include: ["test/**/*.test.ts"] } })
