/**
 * The test app's entry point: `node test-app.mjs [--role processor|plugin|merger|resolver]`.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Either, Layer } from "effect"
import * as Server from "./Server.js"
import * as Settings from "./Settings.js"

const settings = Settings.fromEnv(process.env, process.argv.slice(2))
if (Either.isLeft(settings)) {
  console.error(`test-app: ${settings.left}`)
  process.exit(2)
}
const { faults } = settings.right
if (faults.exitCode !== undefined) {
  console.log(`test-app ${settings.right.role}: ARMADA_FAULT_EXIT=${faults.exitCode}, exiting at start`)
  process.exit(faults.exitCode)
}

Effect.sleep(faults.startDelayMillis).pipe(
  Effect.zipRight(Layer.launch(Server.layerNode(settings.right))),
  NodeRuntime.runMain
)
