import { EventEmitter } from "node:events"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Scope } from "effect"
import * as Interrupt from "../src/Interrupt.js"

describe("Ctrl-C", () => {
  it.effect("the first press runs onFirst; the second prints what may be left and exits", () =>
    Effect.gen(function* () {
      const signals = new EventEmitter()
      const first = yield* Deferred.make<void>()
      const exits: Array<Interrupt.Message> = []
      const scope = yield* Scope.make()
      yield* Interrupt.install(
        {
          onFirst: Deferred.succeed(first, undefined),
          onSecond: Effect.succeed({ stream: "stderr", text: "armada clean --session s1\n" })
        },
        { signals, exit: (message) => exits.push(message) }
      ).pipe(Scope.extend(scope))
      assert.strictEqual(signals.listenerCount("SIGINT"), 1)

      signals.emit("SIGINT")
      yield* Deferred.await(first)
      assert.deepStrictEqual(exits, [], "the first press does not exit")

      signals.emit("SIGINT")
      assert.deepStrictEqual(exits, [{ stream: "stderr", text: "armada clean --session s1\n" }])

      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(signals.listenerCount("SIGINT"), 0, "the listener goes with the scope")
    })
  )
})
