import { availableParallelism } from "node:os"
import { InputError, type Outcome, Parallel } from "@armada/core"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import { Data, Deferred, Duration, Effect, Exit, Fiber, Option, Schedule, TestClock } from "effect"

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

/** Lets forked fibers run until they block (on a sleep, a deferred, `never`). */
const settle = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 0)))

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

  it("one item: runs in the caller's fiber, without waiting on the limit", () => {
    // `runSync` fails on any asynchronous step, such as forking a worker and joining it.
    const [caller, inner] = Effect.runSync(
      Effect.zip(
        Effect.fiberId,
        Parallel.forEachCollect(["only"], () => Effect.fiberId, { concurrency: 1 })
      )
    )
    assert.strictEqual(inner.successes.length, 1)
    assert.deepStrictEqual(inner.successes[0]!.value, caller)
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

  it.effect("a thrown exception in the only worker does not stop the items after it", () =>
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
        const fiber = yield* Effect.fork(
          Parallel.forEachCollect(range(10), (i) => tracked(log, i, Effect.never), { concurrency })
        )
        yield* settle
        assert.deepStrictEqual(log.started, range(concurrency))
        const exit = yield* Fiber.interrupt(fiber)
        assert.isTrue(Exit.isInterrupted(exit))
        // Fiber.interrupt returns once the batch is done: the finalizers have run by then.
        assert.deepStrictEqual([...log.released].sort(), range(concurrency))
        yield* settle
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

describe("Parallel.forEachCollect: timeout and retry", () => {
  it.effect("an item that takes longer than the timeout fails with ItemTimeout and is interrupted", () =>
    Effect.gen(function* () {
      const log = { started: [] as Array<number>, released: [] as Array<number> }
      const fiber = yield* Effect.fork(
        Parallel.forEachCollect(
          [1, 10, 3],
          (seconds, i) => tracked(log, i, Effect.sleep(Duration.seconds(seconds))),
          {
            concurrency: 3,
            timeout: "5 seconds"
          }
        )
      )
      yield* TestClock.adjust("5 seconds")
      const outcome = yield* Fiber.join(fiber)
      assert.deepStrictEqual(indices(outcome.successes), [0, 2])
      assert.deepStrictEqual(indices(outcome.failures), [1])
      const error = failedWith(outcome.failures[0]!)
      assert.instanceOf(error, Parallel.ItemTimeout)
      assert.strictEqual(error.index, 1)
      assert.isTrue(Duration.equals(error.after, Duration.seconds(5)))
      assert.strictEqual(error.message, "item 1 did not finish within 5s")
      assert.deepStrictEqual([...log.released].sort(), [0, 1, 2])
    })
  )

  it.effect("the timeout applies to each attempt, and a timed-out attempt is retried", () =>
    Effect.gen(function* () {
      let attempts = 0
      const fiber = yield* Effect.fork(
        Parallel.forEachCollect(
          ["flaky"],
          () => Effect.suspend(() => (++attempts < 3 ? Effect.never : Effect.succeed(attempts))),
          { timeout: "1 second", retry: Schedule.recurs(5) }
        )
      )
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("1 second")
      const outcome = yield* Fiber.join(fiber)
      assert.deepStrictEqual(outcome.successes, [{ index: 0, item: "flaky", value: 3 }])
    })
  )

  it.effect(
    "retry follows its schedule, calls f again for every attempt, and gives up with the last error",
    () =>
      Effect.gen(function* () {
        const calls = new Map<number, number>()
        const fiber = yield* Effect.fork(
          Parallel.forEachCollect(
            [0, 1],
            (item): Effect.Effect<number, Boom> => {
              const n = (calls.get(item) ?? 0) + 1
              calls.set(item, n)
              // Item 0 succeeds at its third attempt; item 1 always fails.
              return item === 0 && n === 3 ? Effect.succeed(n) : Effect.fail(new Boom({ item: n }))
            },
            { retry: Schedule.intersect(Schedule.spaced("1 second"), Schedule.recurs(2)) }
          )
        )
        yield* settle
        assert.deepStrictEqual(
          [...calls],
          [
            [0, 1],
            [1, 1]
          ]
        )
        yield* TestClock.adjust("1 second")
        assert.deepStrictEqual(
          [...calls],
          [
            [0, 2],
            [1, 2]
          ]
        )
        yield* TestClock.adjust("1 second")
        const outcome = yield* Fiber.join(fiber)
        assert.deepStrictEqual(outcome.successes, [{ index: 0, item: 0, value: 3 }])
        assert.deepStrictEqual(failedWith(outcome.failures[0]!), new Boom({ item: 3 }))
        assert.deepStrictEqual(
          [...calls],
          [
            [0, 3],
            [1, 3]
          ]
        )
      })
  )

  it.effect("a defect is not retried", () =>
    Effect.gen(function* () {
      let attempts = 0
      const outcome = yield* Parallel.forEachCollect(
        ["x"],
        () =>
          Effect.suspend(() => {
            attempts++
            return Effect.die("bug")
          }),
        { retry: Schedule.recurs(3) }
      )
      assert.strictEqual(attempts, 1)
      assert.strictEqual(defectOf(outcome.failures[0]!), "bug")
    })
  )

  it("ItemTimeout joins the error type whenever a timeout may be set", () => {
    const f = (n: number) => (n > 0 ? Effect.succeed(n) : Effect.fail(new Boom({ item: n })))
    type ErrorOf<T> =
      T extends Effect.Effect<Outcome.Outcome<number, number, infer E>, InputError> ? E : never
    expectTypeOf<
      ErrorOf<ReturnType<typeof Parallel.forEachCollect<number, number, Boom, never>>>
    >().toEqualTypeOf<Boom>()
    const noTimeout = Parallel.forEachCollect([1], f, { concurrency: 2 })
    expectTypeOf<ErrorOf<typeof noTimeout>>().toEqualTypeOf<Boom>()
    const literal = Parallel.forEachCollect([1], f, { timeout: "1 second" })
    expectTypeOf<ErrorOf<typeof literal>>().toEqualTypeOf<Boom | Parallel.ItemTimeout>()
    const options: Parallel.Options<number, Boom> = {}
    const variable = Parallel.forEachCollect([1], f, options)
    expectTypeOf<ErrorOf<typeof variable>>().toEqualTypeOf<Boom | Parallel.ItemTimeout>()
  })
})

describe("Parallel.forEachCollect: progress events", () => {
  it.effect("Started, then Succeeded or Failed, with running totals, one pair per item", () =>
    Effect.gen(function* () {
      const events: Array<Parallel.ProgressEvent<number, Boom | Parallel.ItemTimeout>> = []
      const fiber = yield* Effect.fork(
        Parallel.forEachCollect(
          range(5),
          // Item 1 takes longest, so item 3 fails first.
          (i) => Effect.zipRight(Effect.sleep(Duration.seconds(i === 1 ? 10 : 1)), failOn([1, 3])(i)),
          { concurrency: 2, onEvent: (event) => Effect.sync(() => events.push(event)) }
        )
      )
      yield* TestClock.adjust("1 hour")
      const outcome = yield* Fiber.join(fiber)
      assert.deepStrictEqual(indices(outcome.failures), [1, 3])

      assert.strictEqual(events.length, 10)
      const started = new Set<number>()
      const finished = new Set<number>()
      let succeeded = 0
      let failed = 0
      for (const event of events) {
        if (event._tag === "Started") {
          assert.isFalse(started.has(event.index), `item ${event.index} started twice`)
          started.add(event.index)
        } else {
          assert.isTrue(started.has(event.index), `item ${event.index} finished before it started`)
          assert.isFalse(finished.has(event.index), `item ${event.index} finished twice`)
          finished.add(event.index)
          if (event._tag === "Succeeded") succeeded++
          else {
            failed++
            assert.deepStrictEqual(event.cause, { _tag: "Fail", error: new Boom({ item: event.item }) })
          }
        }
        assert.strictEqual(event.item, event.index)
        assert.deepStrictEqual(event.counts, {
          total: 5,
          running: started.size - finished.size,
          succeeded,
          failed
        })
        assert.isAtMost(event.counts.running, 2)
      }
      assert.deepStrictEqual(
        events.filter((e) => e._tag === "Failed").map((e) => e.index),
        [3, 1]
      )
      assert.deepStrictEqual(events.at(-1)!.counts, { total: 5, running: 0, succeeded: 3, failed: 2 })
    })
  )

  it.effect("a retried item reports one Started and one final event", () =>
    Effect.gen(function* () {
      const tags: Array<string> = []
      let attempts = 0
      yield* Parallel.forEachCollect(
        ["x"],
        () =>
          Effect.suspend(() =>
            ++attempts < 3 ? Effect.fail(new Boom({ item: attempts })) : Effect.succeed(1)
          ),
        { retry: Schedule.recurs(3), onEvent: (event) => Effect.sync(() => tags.push(event._tag)) }
      )
      assert.deepStrictEqual(tags, ["Started", "Succeeded"])
    })
  )

  it.effect("the batch waits for the observer", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(
        Parallel.forEachCollect(["a"], () => Effect.void, {
          onEvent: (event) => (event._tag === "Succeeded" ? Deferred.await(gate) : Effect.void)
        })
      )
      yield* settle
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* Deferred.succeed(gate, undefined)
      const outcome = yield* Fiber.join(fiber)
      assert.strictEqual(outcome.successes.length, 1)
    })
  )
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

  it.effect("reports the failing item's Failed event before failing", () =>
    Effect.gen(function* () {
      const tags: Array<string> = []
      yield* Effect.flip(
        Parallel.forEachFailFast([0], () => Effect.fail(new Boom({ item: 0 })), {
          onEvent: (event) => Effect.sync(() => tags.push(`${event._tag} ${event.counts.failed}`))
        })
      )
      assert.deepStrictEqual(tags, ["Started 0", "Failed 1"])
    })
  )
})
