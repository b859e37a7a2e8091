import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, TestClock } from "effect"
import * as NetworkIds from "../src/internal/networkIds.js"
import * as Remembered from "../src/internal/remembered.js"

/** Network ids over a lookup that counts its calls and answers from `networks`. */
const counted = (networks: Map<string, string>) => {
  const lookups: Array<string> = []
  const ids = NetworkIds.make((name) =>
    Effect.sync(() => {
      lookups.push(name)
      return Option.fromNullable(networks.get(name))
    })
  )
  return { ids, lookups }
}

describe("the network ids a live engine remembers", () => {
  it.effect(
    "a burst of creates looks a name up once; after 10 s it looks again, and sees a replacement",
    () =>
      Effect.gen(function* () {
        const networks = new Map([["net", "id-1"]])
        const { ids, lookups } = counted(networks)
        for (let i = 0; i < 5; i++) assert.strictEqual(yield* ids.resolve("net"), "id-1")
        assert.deepStrictEqual(lookups, ["net"])

        networks.set("net", "id-2")
        yield* TestClock.adjust(Remembered.rememberMillis - 1)
        assert.strictEqual(yield* ids.resolve("net"), "id-1")
        yield* TestClock.adjust(1)
        assert.strictEqual(yield* ids.resolve("net"), "id-2")
        assert.deepStrictEqual(lookups, ["net", "net"])
      })
  )

  it.effect("an ensure's id is used without a lookup; a removal forgets it", () =>
    Effect.gen(function* () {
      const { ids, lookups } = counted(new Map([["net", "id-listed"]]))
      yield* ids.remember("net", "id-ensured")
      assert.strictEqual(yield* ids.resolve("net"), "id-ensured")
      assert.deepStrictEqual(lookups, [])
      ids.forget("net")
      assert.strictEqual(yield* ids.resolve("net"), "id-listed")
      assert.deepStrictEqual(lookups, ["net"])
    })
  )

  it.effect("a name no network has is NetworkNotFound, and not remembered", () =>
    Effect.gen(function* () {
      const networks = new Map<string, string>()
      const { ids, lookups } = counted(networks)
      const error = yield* Effect.flip(ids.resolve("gone"))
      assert.strictEqual(error._tag, "NetworkNotFound")
      networks.set("gone", "id-now")
      assert.strictEqual(yield* ids.resolve("gone"), "id-now")
      assert.deepStrictEqual(lookups, ["gone", "gone"])
    })
  )
})
