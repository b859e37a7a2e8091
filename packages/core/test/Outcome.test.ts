import { InputError, Outcome } from "@armada/core"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Data, Exit, FiberId, Schema } from "effect"

class Boom extends Data.TaggedError("Boom")<{ readonly n: number }> {}

describe("Outcome", () => {
  const exits: ReadonlyArray<Exit.Exit<number, Boom>> = [
    Exit.succeed(1),
    Exit.fail(new Boom({ n: 2 })),
    Exit.die("defect"),
    Exit.succeed(4),
    Exit.interrupt(FiberId.none)
  ]
  const outcome = Outcome.fromExits(["a", "b", "c", "d", "e"], exits)

  it("fromExits splits per-item exits into successes and failures, in input order", () => {
    assert.deepStrictEqual(outcome.successes, [
      { index: 0, item: "a", value: 1 },
      { index: 3, item: "d", value: 4 }
    ])
    assert.deepStrictEqual(
      outcome.failures.map((f) => [f.index, f.item, f.cause._tag]),
      [
        [1, "b", "Fail"],
        [2, "c", "Die"],
        [4, "e", "Die"]
      ]
    )
  })

  it("itemCause keeps the typed error, else the defect; an item that interrupted itself is a defect", () => {
    assert.deepStrictEqual(Outcome.itemCause(Cause.fail(new Boom({ n: 1 }))), {
      _tag: "Fail",
      error: new Boom({ n: 1 })
    })
    assert.deepStrictEqual(Outcome.itemCause(Cause.die("x")), { _tag: "Die", defect: "x" })
    // A typed error wins over a defect that came with it.
    assert.deepStrictEqual(Outcome.itemCause(Cause.parallel(Cause.die("x"), Cause.fail("e"))), {
      _tag: "Fail",
      error: "e"
    })
    const interrupted = Outcome.itemCause(Cause.interrupt(FiberId.none))
    assert.strictEqual(interrupted._tag, "Die")
  })

  it("values, errors, isComplete, map", () => {
    assert.deepStrictEqual(Outcome.values(outcome), [1, 4])
    assert.deepStrictEqual(Outcome.errors(outcome), [new Boom({ n: 2 })])
    assert.isFalse(Outcome.isComplete(outcome))
    assert.isTrue(Outcome.isComplete(Outcome.empty))
    assert.isTrue(Outcome.isComplete({ successes: [{ index: 0, item: 1, value: 1 }], failures: [] }))
    const mapped = Outcome.map(outcome, (value, item) => `${item}${value}`)
    assert.deepStrictEqual(Outcome.values(mapped), ["a1", "d4"])
    assert.strictEqual(mapped.failures, outcome.failures)
  })
})

describe("errors", () => {
  it("InputError: '<field>: <reason>, got <value>', the value named once, serialisable", () => {
    const error = new InputError({ field: "concurrency", value: 1.5, reason: "expected a positive integer" })
    assert.strictEqual(error.message, "concurrency: expected a positive integer, got 1.5")
    assert.strictEqual(
      new InputError({ field: "name", value: "y".repeat(100), reason: "expected a name" }).message,
      `name: expected a name, got "${"y".repeat(77)}..."`
    )
    assert.strictEqual(
      new InputError({ field: "spec", value: { a: 1 }, reason: "expected a list" }).message,
      "spec: expected a list, got object"
    )
    assert.strictEqual(
      new InputError({ field: "image", value: "X", reason: 'expected an image reference, got "X"' }).message,
      'image: expected an image reference, got "X"'
    )
    assert.deepStrictEqual(Schema.encodeSync(InputError)(error), {
      _tag: "InputError",
      field: "concurrency",
      value: 1.5,
      reason: "expected a positive integer"
    })
  })
})
