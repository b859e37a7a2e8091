/**
 * A defect of effect 3.22.4 that armada patches (patches/effect@3.22.4.patch), kept here so an
 * upgrade that drops the patch cannot bring it back unnoticed: an interruption that reaches a
 * fiber while it runs a scope's finalizer was erased when the finalizer ended, if the resource had
 * been acquired on a fiber whose FiberRefs differed in that respect. `armada run` lost a Ctrl-C that
 * way (the reliability suite's interrupt runs found it): the run went on to its end.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Scope } from "effect"

describe("effect runtime (patched)", () => {
  it.live("an interruption that arrives while a finalizer runs is kept", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const finalizing = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      // The acquiring fiber has run a finalizer before, which leaves its interruption state set
      // (to "none") among its FiberRefs; the closing fiber below has never had one.
      yield* Effect.gen(function* () {
        yield* Effect.scoped(Effect.addFinalizer(() => Effect.void))
        yield* Effect.addFinalizer(() =>
          Effect.zipRight(Deferred.succeed(finalizing, undefined), Deferred.await(release))
        ).pipe(Scope.extend(scope))
      }).pipe(Effect.fork, Effect.flatMap(Fiber.join))

      // A root fiber, like NodeRuntime.runMain's, closes the scope and would then wait forever.
      const closer = Effect.runFork(
        Effect.zipRight(Effect.uninterruptible(Scope.close(scope, Exit.void)), Effect.never)
      )
      yield* Deferred.await(finalizing)
      closer.unsafeInterruptAsFork(closer.id())
      yield* Deferred.succeed(release, undefined)

      const exit = yield* Fiber.await(closer).pipe(Effect.timeout("5 seconds"), Effect.option)
      assert.isTrue(exit._tag === "Some", "the interruption was lost: the fiber still runs after 5 s")
      assert.isTrue(exit._tag === "Some" && Exit.isInterrupted(exit.value))
    })
  )
})
