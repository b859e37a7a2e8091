import { availableParallelism } from "node:os"
import { InputError, type Outcome, Parallel } from "@armada/core"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import { type Cause, Data, Deferred, Duration, Effect, Exit, Fiber, Schedule, TestClock } from "effect"

class Boom extends Data.TaggedError("Boom")<{ readonly item: number }> {}

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

/** Fails the items in `failing` with `Boom`, succeeds the others with twice the item. */
const failOn =
  (failing: ReadonlyArray<number>) =>
  (item: number): Effect.Effect<number, Boom> =>
    failing.includes(item) ? Effect.fail(new Boom({ item })) : Effect.succeed(item * 2)

const indices = (xs: ReadonlyArray<{ readonly index: number }>) => xs.map((x) => x.index)

const failedWith = <E>(failure: Outcome.Failure<unknown, E>): E => {
  assert.strictEqual(failure.cause._tag, "Fail")
  return (failure.cause as { readonly error: E }).error
}

const defectOf = (failure: Outcome.Failure<unknown, unknown>): unknown => {
  assert.strictEqual(failure.cause._tag, "Die")
  return (failure.cause as { readonly defect: unknown }).defect
}

describe("Parallel.forEachCollect: the coordinator's edge cases", () => {
  it.effect("all succeed: every value, no failure, in input order", () =>
    Effect.gen(function* () {
      const outcome = yield* Parallel.forEachCollect([3, 1, 2], failOn([]), { concurrency: 2 })
      assert.deepStrictEqual(outcome.failures, [])
      assert.deepStrictEqual(outcome.successes, [
        { index: 0, item: 3, value: 6 },
        { index: 1, item: 1, value: 2 },
        { index: 2, item: 2, value: 4 }
      ])
    })
  )

  it.effect("5 items of which 2 fail: exactly those 2 failures, with their items and errors", () =>
    Effect.gen(function* () {
      const outcome = yield* Parallel.forEachCollect([10, 11, 12, 13, 14], failOn([11, 14]), {
        concurrency: 3
      })
      assert.deepStrictEqual(indices(outcome.successes), [0, 2, 3])
      assert.deepStrictEqual(
        outcome.successes.map((s) => s.value),
        [20, 24, 26]
      )
      assert.deepStrictEqual(indices(outcome.failures), [1, 4])
      assert.deepStrictEqual(
        outcome.failures.map((f) => f.item),
        [11, 14]
      )
      assert.deepStrictEqual(
        outcome.failures.map((f) => failedWith(f)),
        [new Boom({ item: 11 }), new Boom({ item: 14 })]
      )
    })
  )

  it.effect("all 5 fail: 5 failures, no success", () =>
    Effect.gen(function* () {
      const outcome = yield* Parallel.forEachCollect(range(5), failOn(range(5)), { concurrency: 2 })
      assert.deepStrictEqual(outcome.successes, [])
      assert.deepStrictEqual(indices(outcome.failures), [0, 1, 2, 3, 4])
    })
  )

  it("zero items: returns at once, synchronously, without calling f", () => {
    let calls = 0
    const outcome = Effect.runSync(
      Parallel.forEachCollect([], () => {
        calls++
        return Effect.void
      })
    )
    assert.deepStrictEqual(outcome, { successes: [], failures: [] })
    assert.strictEqual(calls, 0)
  })

  it("a limit of 1 runs the items one after another in the caller's fiber", () => {
    // `runSync` fails on any asynchronous step, such as forking a fiber and joining it.
    const [caller, inner] = Effect.runSync(
      Effect.zip(
        Effect.fiberId,
        Parallel.forEachCollect(["first", "second"], () => Effect.fiberId, { concurrency: 1 })
      )
    )
    assert.deepStrictEqual(
      inner.successes.map((s) => s.value),
      [caller, caller]
    )
  })

  it.effect("one slow item finishes when it is done, under a limit of 1", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.fork(
        Parallel.forEachCollect(["slow"], () => Effect.as(Effect.sleep("3 seconds"), "done"), {
          concurrency: 1
        })
      )
      yield* TestClock.adjust("3 seconds")
      const outcome = yield* Fiber.join(fiber)
      assert.deepStrictEqual(outcome.successes, [{ index: 0, item: "slow", value: "done" }])
    })
  )

  it.effect("accepts any iterable and reads it once per run", () =>
    Effect.gen(function* () {
      const outcome = yield* Parallel.forEachCollect(new Set(["a", "b"]), (s, i) =>
        Effect.succeed(`${i}${s}`)
      )
      assert.deepStrictEqual(
        outcome.successes.map((s) => s.value),
        ["0a", "1b"]
      )
    })
  )

  it.effect("can be run again: each run is a fresh batch", () =>
    Effect.gen(function* () {
      let calls = 0
      const batch = Parallel.forEachCollect(range(4), (i) => Effect.sync(() => ++calls + i), {
        concurrency: 2
      })
      const first = yield* batch
      const second = yield* batch
      assert.strictEqual(calls, 8)
      assert.strictEqual(first.successes.length, 4)
      assert.strictEqual(second.successes.length, 4)
    })
  )
})

describe("Parallel.forEachCollect: defects", () => {
  it.effect(
    "a thrown exception in f, Effect.die and a throwing Effect.sync are Die failures of their items",
    () =>
      Effect.gen(function* () {
        const thrown = new Error("thrown by f")
        const outcome = yield* Parallel.forEachCollect(
          range(5),
          (i): Effect.Effect<number, Boom> => {
            if (i === 1) throw thrown
            if (i === 2) return Effect.die("died")
            if (i === 3)
              return Effect.sync(() => {
                throw new RangeError("thrown inside")
              })
            if (i === 4) return Effect.fail(new Boom({ item: 4 }))
            return Effect.succeed(i)
          },
          { concurrency: 2 }
        )
        assert.deepStrictEqual(indices(outcome.successes), [0])
        assert.deepStrictEqual(indices(outcome.failures), [1, 2, 3, 4])
        assert.strictEqual(defectOf(outcome.failures[0]!), thrown)
        assert.strictEqual(defectOf(outcome.failures[1]!), "died")
        assert.instanceOf(defectOf(outcome.failures[2]!), RangeError)
        assert.deepStrictEqual(failedWith(outcome.failures[3]!), new Boom({ item: 4 }))
      })
  )

  it.effect("a thrown exception under a limit of 1 does not stop the items after it", () =>
    Effect.gen(function* () {
      const outcome = yield* Parallel.forEachCollect(
        range(3),
        (i) => {
          if (i === 0) throw new Error("first")
          return Effect.succeed(i)
        },
        { concurrency: 1 }
      )
      assert.deepStrictEqual(indices(outcome.successes), [1, 2])
      assert.deepStrictEqual(indices(outcome.failures), [0])
    })
  )
})

describe("Parallel.resolveConcurrency", () => {
  const invalid: ReadonlyArray<unknown> = [0, -1, Number.NaN, 1.5, Number.POSITIVE_INFINITY, "4", null]
  it.effect.each(invalid)("%s is an InputError at once, and no item runs", (concurrency) =>
    Effect.gen(function* () {
      let calls = 0
      const error = yield* Effect.flip(
        Parallel.forEachCollect(
          range(3),
          () => {
            calls++
            return Effect.void
          },
          { concurrency: concurrency as Parallel.Concurrency }
        )
      )
      assert.instanceOf(error, InputError)
      assert.strictEqual(error.field, "concurrency")
      assert.isTrue(Object.is(error.value, concurrency))
      assert.include(error.message, 'concurrency: expected a positive integer or "cpus", got')
      assert.strictEqual(calls, 0)
      const failFast = yield* Effect.flip(
        Parallel.forEachFailFast([], () => Effect.void, { concurrency: concurrency as Parallel.Concurrency })
      )
      assert.instanceOf(failFast, InputError)
    })
  )

  it("is synchronous, so an invalid setting can never hang", () => {
    const exit = Effect.runSyncExit(Parallel.resolveConcurrency(0))
    assert.isTrue(Exit.isFailure(exit))
  })

  it.effect('"cpus" and no setting mean the available parallelism; a positive integer is itself', () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* Parallel.resolveConcurrency("cpus"), availableParallelism())
      assert.strictEqual(yield* Parallel.resolveConcurrency(undefined), availableParallelism())
      assert.strictEqual(yield* Parallel.resolveConcurrency(1), 1)
      assert.strictEqual(yield* Parallel.resolveConcurrency(10_000), 10_000)
    })
  )
})

/** An item that records its start and the run of its finalizer, then runs `body`. */
const tracked = <A, E>(
  log: { started: Array<number>; released: Array<number> },
  i: number,
  body: Effect.Effect<A, E>
) =>
  Effect.scoped(
    Effect.zipRight(
      Effect.acquireRelease(
        Effect.sync(() => log.started.push(i)),
        () => Effect.sync(() => log.released.push(i))
      ),
      body
    )
  )

describe("Parallel.forEachCollect: interruption", () => {
  it.effect.each([1, 3])(
    "interrupting the batch (concurrency %s) interrupts the running items, runs their finalizers, starts no new one",
    (concurrency) =>
      Effect.gen(function* () {
        const log = { started: [] as Array<number>, released: [] as Array<number> }
        const limitReached = yield* Deferred.make<void>()
        const fiber = yield* Effect.fork(
          Parallel.forEachCollect(
            range(10),
            (i) =>
              tracked(
                log,
                i,
                Effect.zipRight(
                  Effect.suspend(() =>
                    log.started.length === concurrency
                      ? Deferred.succeed(limitReached, undefined)
                      : Effect.void
                  ),
                  Effect.never
                )
              ),
            { concurrency }
          )
        )
        yield* Deferred.await(limitReached)
        assert.deepStrictEqual(log.started, range(concurrency))
        const exit = yield* Fiber.interrupt(fiber)
        assert.isTrue(Exit.isInterrupted(exit))
        // Fiber.interrupt returns once the batch is done: every item it started has ended and run
        // its finalizers, and nothing is left that could start another.
        assert.deepStrictEqual([...log.released].sort(), range(concurrency))
        assert.deepStrictEqual(log.started, range(concurrency))
      })
  )

  it.effect("items that already finished keep their results out of an interrupted batch", () =>
    Effect.gen(function* () {
      const log = { started: [] as Array<number>, released: [] as Array<number> }
      const fiber = yield* Effect.fork(
        Parallel.forEachCollect(range(6), (i) => tracked(log, i, Effect.sleep(Duration.seconds(i + 1))), {
          concurrency: 2
        })
      )
      yield* TestClock.adjust("2 seconds")
      // Items 0 and 1 are done, 2 and 3 have started; interrupt now.
      assert.deepStrictEqual(log.started, [0, 1, 2, 3])
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual([...log.released].sort(), [0, 1, 2, 3])
      yield* TestClock.adjust("1 hour")
      assert.deepStrictEqual(log.started, [0, 1, 2, 3])
    })
  )
})

describe("Parallel.forEachCollect: timeouts and retries are the caller's", () => {
  it.effect(
    "Effect.timeoutFail on the item: a slow item fails with the caller's error and is interrupted",
    () =>
      Effect.gen(function* () {
        const log = { started: [] as Array<number>, released: [] as Array<number> }
        const fiber = yield* Effect.fork(
          Parallel.forEachCollect(
            [1, 10, 3],
            (seconds, i) =>
              tracked(log, i, Effect.sleep(Duration.seconds(seconds))).pipe(
                Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Boom({ item: seconds }) })
              ),
            { concurrency: 3 }
          )
        )
        yield* TestClock.adjust("5 seconds")
        const outcome = yield* Fiber.join(fiber)
        assert.deepStrictEqual(indices(outcome.successes), [0, 2])
        assert.deepStrictEqual(indices(outcome.failures), [1])
        assert.deepStrictEqual(failedWith(outcome.failures[0]!), new Boom({ item: 10 }))
        assert.deepStrictEqual([...log.released].sort(), [0, 1, 2])
      })
  )

  it.effect("Effect.retry around a timed attempt: each attempt times out on its own and calls f anew", () =>
    Effect.gen(function* () {
      let attempts = 0
      const fiber = yield* Effect.fork(
        Parallel.forEachCollect(["flaky"], () =>
          Effect.suspend(() => (++attempts < 3 ? Effect.never : Effect.succeed(attempts))).pipe(
            Effect.timeoutFail({ duration: "1 second", onTimeout: () => new Boom({ item: attempts }) }),
            Effect.retry(Schedule.recurs(5))
          )
        )
      )
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("1 second")
      const outcome = yield* Fiber.join(fiber)
      assert.deepStrictEqual(outcome.successes, [{ index: 0, item: "flaky", value: 3 }])
    })
  )

  it.effect("Effect.retry gives up with the item's last error; a defect is not retried", () =>
    Effect.gen(function* () {
      const calls = [0, 0, 0]
      const fiber = yield* Effect.fork(
        Parallel.forEachCollect(
          [0, 1, 2],
          (item): Effect.Effect<number, Boom> =>
            Effect.suspend(() => {
              const n = ++calls[item]!
              // Item 0 succeeds at its third attempt, item 1 always fails, item 2 dies.
              if (item === 2) return Effect.die("bug")
              return item === 0 && n === 3 ? Effect.succeed(n) : Effect.fail(new Boom({ item: n }))
            }).pipe(Effect.retry(Schedule.intersect(Schedule.spaced("1 second"), Schedule.recurs(2))))
        )
      )
      yield* TestClock.adjust("2 seconds")
      const outcome = yield* Fiber.join(fiber)
      assert.deepStrictEqual(outcome.successes, [{ index: 0, item: 0, value: 3 }])
      assert.deepStrictEqual(failedWith(outcome.failures[0]!), new Boom({ item: 3 }))
      assert.strictEqual(defectOf(outcome.failures[1]!), "bug")
      assert.deepStrictEqual(calls, [3, 3, 1])
    })
  )

  it("the item error type is f's own, and what the caller composes onto f joins it", () => {
    const f = (n: number) => (n > 0 ? Effect.succeed(n) : Effect.fail(new Boom({ item: n })))
    type ErrorOf<T> =
      T extends Effect.Effect<Outcome.Outcome<number, number, infer E>, InputError> ? E : never
    const plain = Parallel.forEachCollect([1], f, { concurrency: 2 })
    expectTypeOf<ErrorOf<typeof plain>>().toEqualTypeOf<Boom>()
    const timed = Parallel.forEachCollect([1], (n) => Effect.timeout(f(n), "1 second"))
    expectTypeOf<ErrorOf<typeof timed>>().toEqualTypeOf<Boom | Cause.TimeoutException>()
  })
})

describe("Parallel.forEachFailFast", () => {
  it.effect("all succeed: the values in input order", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.fork(
        Parallel.forEachFailFast([3, 1, 2], (s) => Effect.as(Effect.sleep(Duration.seconds(s)), s * 10), {
          concurrency: 3
        })
      )
      yield* TestClock.adjust("3 seconds")
      assert.deepStrictEqual(yield* Fiber.join(fiber), [30, 10, 20])
    })
  )

  it.effect("the first failure interrupts the others, starts no new item, and names its item", () =>
    Effect.gen(function* () {
      const log = { started: [] as Array<number>, released: [] as Array<number> }
      const fiber = yield* Effect.fork(
        Parallel.forEachFailFast(
          range(10),
          (i) =>
            tracked(
              log,
              i,
              i === 1
                ? Effect.zipRight(Effect.sleep("1 second"), Effect.fail(new Boom({ item: i })))
                : Effect.never
            ),
          { concurrency: 3 }
        )
      )
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit))
      const failure = yield* Effect.flip(exit)
      assert.deepStrictEqual(failure, {
        index: 1,
        item: 1,
        cause: { _tag: "Fail", error: new Boom({ item: 1 }) }
      })
      assert.deepStrictEqual(log.started, [0, 1, 2])
      assert.deepStrictEqual([...log.released].sort(), [0, 1, 2])
    })
  )

  it.effect("a synchronous failure with one worker stops before the next item", () =>
    Effect.gen(function* () {
      const seen: Array<number> = []
      const failure = yield* Effect.flip(
        Parallel.forEachFailFast(
          range(5),
          (i) =>
            Effect.suspend(() => {
              seen.push(i)
              return i === 2 ? Effect.fail(new Boom({ item: i })) : Effect.void
            }),
          { concurrency: 1 }
        ).pipe(Effect.catchTag("InputError", Effect.die))
      )
      assert.deepStrictEqual(seen, [0, 1, 2])
      assert.strictEqual(failure.index, 2)
    })
  )

  it.effect("a defect is a Die failure naming its item", () =>
    Effect.gen(function* () {
      const failure = yield* Effect.flip(
        Parallel.forEachFailFast(["a", "b"], (s) => (s === "b" ? Effect.die("bad b") : Effect.succeed(s)), {
          concurrency: 2
        })
      )
      assert.deepStrictEqual(failure, { index: 1, item: "b", cause: { _tag: "Die", defect: "bad b" } })
    })
  )
})
