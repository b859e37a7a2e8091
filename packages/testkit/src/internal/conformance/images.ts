/**
 * The conformance tests of the engine itself and its images: ping and version, the fixture image,
 * pulls.
 *
 * @internal
 */
import { ImageRef } from "@armada/core"
import { Bulk, ContainerEngine, type ContainerEngineError } from "@armada/engine"
import { assert } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { failureOf, type Suite } from "./suite.js"

/** @internal */
export const register = ({ test, image, imageLabels, runId }: Suite): void => {
  test("answers ping and reports its version and address", [], () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      yield* engine.ping
      const version = yield* engine.version
      assert.isNotEmpty(version.engine)
      assert.isNotEmpty(version.version)
      assert.isNotEmpty(engine.address)
    })
  )

  test(
    "images: the fixture is present, listed by its label and inspectable; a missing one is ImageNotFound",
    [],
    () =>
      Effect.gen(function* () {
        const engine = yield* ContainerEngine
        assert.isTrue(yield* engine.imageExists(image))
        const info = yield* engine.inspectImage(image)
        assert.include(info.tags, ImageRef.withDefaultTag(image))
        const listed = yield* engine.listImages(imageLabels)
        assert.isTrue(listed.some((listedImage) => listedImage.tags.includes(ImageRef.withDefaultTag(image))))
        const absent = ImageRef.ImageRef.make(`armada/conformance-absent-${runId}:dev`)
        assert.isFalse(yield* engine.imageExists(absent))
        const error = yield* failureOf(engine.inspectImage(absent))
        assert.strictEqual(error._tag, "ImageNotFound")
        assert.strictEqual((error as ContainerEngineError.ImageNotFound).image, absent)
      })
  )

  test("pullAll skips a present image without asking any registry", [], () =>
    Effect.gen(function* () {
      const outcome = yield* Bulk.pullAll([image])
      assert.deepStrictEqual(
        outcome.successes.map((success) => success.value),
        ["present"]
      )
      assert.strictEqual(outcome.failures.length, 0)
    })
  )

  test("pull from an unreachable registry fails fast with PullFailed", ["pull"], () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const absent = ImageRef.ImageRef.make(`127.0.0.1:1/armada/absent-${runId}:dev`)
      const started = Date.now()
      const error = yield* failureOf(Stream.runDrain(engine.pull(absent)))
      assert.strictEqual(error._tag, "PullFailed")
      assert.strictEqual((error as ContainerEngineError.PullFailed).image, absent)
      assert.isBelow(Date.now() - started, 15_000, "pull must fail fast, not hang")
      assert.isFalse(yield* engine.imageExists(absent))
    })
  )
}
