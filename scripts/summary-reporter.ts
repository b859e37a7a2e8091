import type { Reporter, TestModule } from "vitest/node"

/**
 * Ends the run with one plain line, `tests: N passed, N failed, N skipped`, that CI systems
 * and people can read without parsing vitest's coloured summary.
 */
export default class SummaryReporter implements Reporter {
  async onTestRunEnd(testModules: ReadonlyArray<TestModule>): Promise<void> {
    const counts = { passed: 0, failed: 0, skipped: 0 }
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state
        if (state === "passed") counts.passed++
        else if (state === "failed") counts.failed++
        else counts.skipped++
      }
    }
    // After the default reporter's own summary, which it prints once this tick's work is done.
    await new Promise((resolve) => setTimeout(resolve, 0))
    process.stdout.write(
      `\ntests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`
    )
  }
}
