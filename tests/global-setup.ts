/**
 * Once per test run, before any test file: the test app's bundle and, when an engine answers, its
 * image. The test files' processes then skip that check (`TestImage.readyVariable`), which would
 * block each of them for as long as it takes, half a minute or more on a busy machine.
 */
// The two modules, not the package: its index also loads modules that import vitest, which a
// global setup must not.
import * as Engine from "../packages/testkit/src/Engine.js"
import * as TestImage from "../packages/testkit/src/TestImage.js"

export default function setup(): void {
  if (Engine.engineStatus().reachable) {
    TestImage.ensureTestAppImage()
    process.env[TestImage.readyVariable] = "image"
  } else {
    TestImage.ensureTestAppBundle()
    process.env[TestImage.readyVariable] = "bundle"
  }
}
