import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, Fiber, Option, TestClock } from "effect"
import { poll } from "../src/internal/poll.js"

describe("poll", () => {
  it.effect("gives up after its time even inside a finalizer (uninterruptible)", () =>
    Effect.gen(function* () {
      // A container that never goes away: the look never finds what it waits for.
      const waiting = yield* Effect.fork(
        Effect.uninterruptible(
          Effect.either(poll(Effect.succeed(Option.none()), Duration.seconds(30), () => "gone for good"))
        )
      )
      yield* TestClock.adjust("31 seconds")
      const outcome = yield* Fiber.join(waiting)
      assert.deepStrictEqual(outcome, Either.left("gone for good"))
    })
  )

  it.effect("returns what the look finds", () =>
    Effect.gen(function* () {
      let looks = 0
      const look = Effect.sync(() => (++looks === 3 ? Option.some("there") : Option.none<string>()))
      const found = yield* Effect.fork(poll(look, Duration.seconds(30), () => "never"))
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(found), "there")
    })
  )
})
