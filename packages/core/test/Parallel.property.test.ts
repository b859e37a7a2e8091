import { type Outcome, Parallel } from "@armada/core"
import { assert, describe, it } from "@effect/vitest"
import { Data, Duration, Effect, Exit, Fiber, FastCheck as fc, TestClock } from "effect"

class Boom extends Data.TaggedError("Boom")<{ readonly index: number }> {}

/** How an item ends, and how long it takes to get there. */
interface Spec {
  readonly end: "succeed" | "fail" | "die" | "throw"
  readonly delay: number
}

const spec = (maxDelay: number): fc.Arbitrary<Spec> =>
  fc.record({
    end: fc.constantFrom("succeed", "succeed", "succeed", "fail", "die", "throw"),
    delay: fc.nat(maxDelay)
  })

/**
 * Runs `f` over `specs` and records what bounded parallel execution must guarantee: how many items were in
 * flight at most, how often each item ran, and the order in which items finished.
 */
const probe = (specs: ReadonlyArray<Spec>, wait: (spec: Spec) => Effect.Effect<void>) => {
  const state = {
    inFlight: 0,
    maxInFlight: 0,
    runs: specs.map(() => 0),
    finished: [] as Array<number>,
    /** How many items had ended (the failing one included) when the first failing item ended. */
    endedAtFirstFailure: undefined as number | undefined
  }
  const ended = (index: number) => {
    state.finished.push(index)
    if (specs[index]!.end !== "succeed") state.endedAtFirstFailure ??= state.finished.length
  }
  const f = (item: Spec, index: number): Effect.Effect<number, Boom> => {
    if (item.end === "throw") {
      state.runs[index]!++
      ended(index)
      throw new Error(`thrown by ${index}`)
    }
    return Effect.suspend(() => {
      state.runs[index]!++
      state.inFlight++
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight)
      return wait(item)
    }).pipe(
      Effect.zipRight(
        Effect.suspend(() =>
          item.end === "succeed"
            ? Effect.succeed(index * 10)
            : item.end === "fail"
              ? Effect.fail(new Boom({ index }))
              : Effect.die(`died ${index}`)
        )
      ),
      Effect.ensuring(
        Effect.sync(() => {
          state.inFlight--
          ended(index)
        })
      )
    )
  }
  return { state, f }
}

const yields = (item: Spec) => Effect.repeatN(Effect.yieldNow(), item.delay)
const sleeps = (item: Spec) => Effect.sleep(Duration.millis(item.delay))

const checkOutcome = (specs: ReadonlyArray<Spec>, outcome: Outcome.Outcome<Spec, number, Boom>) => {
  assert.strictEqual(outcome.successes.length + outcome.failures.length, specs.length)
  const successIndices = outcome.successes.map((s) => s.index)
  const failureIndices = outcome.failures.map((f) => f.index)
  // Input order within each list, whatever the completion order.
  assert.deepStrictEqual(
    successIndices,
    [...successIndices].sort((a, b) => a - b)
  )
  assert.deepStrictEqual(
    failureIndices,
    [...failureIndices].sort((a, b) => a - b)
  )
  for (const s of outcome.successes) {
    assert.strictEqual(s.item, specs[s.index])
    assert.strictEqual(s.item.end, "succeed")
    assert.strictEqual(s.value, s.index * 10)
  }
  for (const f of outcome.failures) {
    assert.strictEqual(f.item, specs[f.index])
    assert.notStrictEqual(f.item.end, "succeed")
    assert.strictEqual(f.cause._tag, f.item.end === "fail" ? "Fail" : "Die")
  }
}

describe("Parallel.forEachCollect: properties", () => {
  it.effect.prop(
    "never more than n in flight (and n when there is work for n), every item once, nothing lost, input order",
    { specs: fc.array(spec(20), { maxLength: 40 }), concurrency: fc.integer({ min: 1, max: 8 }) },
    ({ specs, concurrency }) =>
      Effect.gen(function* () {
        const { state, f } = probe(specs, yields)
        const outcome = yield* Parallel.forEachCollect(specs, f, { concurrency })
        assert.isAtMost(state.maxInFlight, concurrency)
        const lasting = specs.filter((s) => s.end !== "throw" && s.delay > 0).length
        if (lasting === specs.length && specs.length >= concurrency)
          assert.strictEqual(state.maxInFlight, concurrency)
        assert.deepStrictEqual(
          state.runs,
          specs.map(() => 1)
        )
        checkOutcome(specs, outcome)
      }),
    // A bound for a loaded machine, not a timing target.
    { timeout: 120_000, fastCheck: { numRuns: 200 } }
  )

  it.effect.prop(
    "with random sleeps on the TestClock, so items finish out of order: the same guarantees",
    {
      specs: fc.array(spec(1000), { minLength: 1, maxLength: 25 }),
      concurrency: fc.integer({ min: 1, max: 6 })
    },
    ({ specs, concurrency }) =>
      Effect.gen(function* () {
        const { state, f } = probe(specs, sleeps)
        const fiber = yield* Effect.fork(Parallel.forEachCollect(specs, f, { concurrency }))
        yield* TestClock.adjust("1 hour")
        const outcome = yield* Fiber.join(fiber)
        assert.isAtMost(state.maxInFlight, concurrency)
        assert.deepStrictEqual(
          state.runs,
          specs.map(() => 1)
        )
        assert.sameMembers(
          state.finished,
          specs.map((_, i) => i)
        )
        checkOutcome(specs, outcome)
      }),
    // A bound for a loaded machine, not a timing target.
    { timeout: 120_000, fastCheck: { numRuns: 40 } }
  )

  it.effect("completion order differs from input order, the outcome does not", () =>
    Effect.gen(function* () {
      const specs: ReadonlyArray<Spec> = [300, 100, 200, 50].map((delay, i) => ({
        end: i === 2 ? "fail" : "succeed",
        delay
      }))
      const { state, f } = probe(specs, sleeps)
      const fiber = yield* Effect.fork(Parallel.forEachCollect(specs, f, { concurrency: 4 }))
      yield* TestClock.adjust("1 second")
      const outcome = yield* Fiber.join(fiber)
      assert.deepStrictEqual(state.finished, [3, 1, 2, 0])
      assert.deepStrictEqual(
        outcome.successes.map((s) => s.index),
        [0, 1, 3]
      )
      checkOutcome(specs, outcome)
    })
  )
})

describe("Parallel.forEachFailFast: properties", () => {
  it.effect.prop(
    "all values in input order when nothing fails; otherwise a failing item, each item run at most once",
    { specs: fc.array(spec(10), { maxLength: 30 }), concurrency: fc.integer({ min: 1, max: 6 }) },
    ({ specs, concurrency }) =>
      Effect.gen(function* () {
        const { state, f } = probe(specs, yields)
        const exit = yield* Effect.exit(
          Parallel.forEachFailFast(specs, f, { concurrency }).pipe(Effect.catchTag("InputError", Effect.die))
        )
        assert.isAtMost(state.maxInFlight, concurrency)
        for (const runs of state.runs) assert.isAtMost(runs, 1)
        if (specs.every((s) => s.end === "succeed")) {
          assert.deepStrictEqual(exit, Exit.succeed(specs.map((_, i) => i * 10)))
        } else {
          assert.isTrue(Exit.isFailure(exit))
          const failure = yield* Effect.flip(exit)
          assert.strictEqual(failure.item, specs[failure.index])
          assert.notStrictEqual(failure.item.end, "succeed")
          // No item is handed out once the first failure has happened: beside the items that had
          // ended, only the at most `concurrency - 1` already handed to the other fibers ran (and
          // were interrupted). Under a limit of 1 that is exactly the items that had ended.
          assert.isAtMost(
            state.runs.reduce((a, b) => a + b, 0),
            state.endedAtFirstFailure! - 1 + concurrency
          )
        }
      }),
    // A bound for a loaded machine, not a timing target.
    { timeout: 120_000, fastCheck: { numRuns: 200 } }
  )
})
