/**
 * armada's interruption guarantee on stock effect: an interruption that reaches a fiber while it
 * runs a scope's finalizer ends that fiber, even when the resource was acquired on a fiber whose
 * FiberRefs differ from the closing fiber's (the case in which effect 3.22.4's
 * `Effect.addFinalizer` loses it; see Interruption.ts). Each scenario's fiber would wait forever
 * once the finalizer is done, so only the interruption can end it.
 */
import { Interruption } from "@armada/core"
import { assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Fiber, FiberRef, FiberRefs, Option, Scope } from "effect"

type Register = (finalizer: Effect.Effect<void>) => Effect.Effect<void, never, Scope.Scope>

/** A finalizer that says when it has begun and then waits to be let go. */
const slowFinalizer = Effect.gen(function* () {
  const begun = yield* Deferred.make<void>()
  const letGo = yield* Deferred.make<void>()
  return {
    begun: Deferred.await(begun),
    letGo: Deferred.done(letGo, Exit.void),
    finalizer: Effect.zipRight(Deferred.done(begun, Exit.void), Deferred.await(letGo))
  }
})

/** A fiber that has run an `Effect.addFinalizer` finalizer: its FiberRefs now differ from a new one's. */
const runAFinalizer = Effect.scoped(Effect.addFinalizer(() => Effect.void))

/**
 * Starts `program` on a root fiber (as NodeRuntime.runMain does), interrupts that fiber once the
 * slow finalizer has begun, then lets the finalizer end: the fiber's exit, if it ended within 5 s.
 */
const interruptDuringFinalizer = (
  program: (finalizer: Effect.Effect<void>) => Effect.Effect<never>
): Effect.Effect<Option.Option<Exit.Exit<never>>> =>
  Effect.gen(function* () {
    const slow = yield* slowFinalizer
    const fiber = Effect.runFork(program(slow.finalizer))
    yield* slow.begun
    fiber.unsafeInterruptAsFork(fiber.id())
    yield* slow.letGo
    return yield* Fiber.await(fiber).pipe(Effect.timeout("5 seconds"), Effect.option)
  })

const assertInterrupted = (exit: Option.Option<Exit.Exit<never>>) => {
  assert.isTrue(Option.isSome(exit), "the interruption was lost: the fiber still runs after 5 s")
  assert.isTrue(Option.isSome(exit) && Exit.isInterrupted(exit.value))
}

/** A fiber closes an outer scope after an inner one: the outer resource saw other FiberRefs. */
const nestedScopes = (register: Register) => (finalizer: Effect.Effect<void>) =>
  Effect.zipRight(Effect.scoped(Effect.zipRight(register(finalizer), runAFinalizer)), Effect.never)

/** One fiber acquires into a scope that another fiber, which never ran a finalizer, closes. */
const otherFiberCloses = (register: Register) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const slow = yield* slowFinalizer
    yield* Effect.zipRight(runAFinalizer, Scope.extend(register(slow.finalizer), scope)).pipe(
      Effect.fork,
      Effect.flatMap(Fiber.join)
    )
    const closer = Effect.runFork(
      Effect.zipRight(Effect.uninterruptible(Scope.close(scope, Exit.void)), Effect.never)
    )
    yield* slow.begun
    closer.unsafeInterruptAsFork(closer.id())
    yield* slow.letGo
    return yield* Fiber.await(closer).pipe(Effect.timeout("5 seconds"), Effect.option)
  })

const armadaFinalizer: Register = (finalizer) => Interruption.addFinalizer(() => finalizer)
const armadaResource: Register = (finalizer) =>
  Effect.asVoid(Interruption.acquireRelease(Effect.void, () => finalizer))
/** How a library registers its finalizers. */
const libraryFinalizer: Register = (finalizer) => Effect.addFinalizer(() => finalizer)

describe("Interruption", () => {
  describe("addFinalizer and acquireRelease keep an interruption that arrives while they run", () => {
    it.live("when the fiber closes an outer scope after an inner one", () =>
      Effect.gen(function* () {
        assertInterrupted(yield* interruptDuringFinalizer(nestedScopes(armadaFinalizer)))
        assertInterrupted(yield* interruptDuringFinalizer(nestedScopes(armadaResource)))
      })
    )

    it.live("when another fiber, with other FiberRefs, closes the scope", () =>
      Effect.gen(function* () {
        assertInterrupted(yield* otherFiberCloses(armadaFinalizer))
        assertInterrupted(yield* otherFiberCloses(armadaResource))
      })
    )

    it.effect("the finalizer sees the context it was registered in, and the exit", () =>
      Effect.gen(function* () {
        class Name extends Context.Tag("Name")<Name, string>() {}
        const seen: Array<string> = []
        const scope = yield* Scope.make()
        yield* Interruption.addFinalizer((exit) =>
          Effect.map(Name, (name) => seen.push(`${name} ${exit._tag}`))
        ).pipe(Scope.extend(scope), Effect.provideService(Name, "acquired"))
        yield* Scope.close(scope, Exit.fail("boom"))
        assert.deepStrictEqual(seen, ["acquired Failure"])
      })
    )
  })

  describe("isolated", () => {
    it.live("keeps the interruption for a library's Effect.addFinalizer inside it", () =>
      Effect.gen(function* () {
        const program = nestedScopes(libraryFinalizer)
        assertInterrupted(
          yield* interruptDuringFinalizer((finalizer) => Interruption.isolated(program(finalizer)))
        )
      })
    )

    it.effect("holds the interruption state on its own fiber, and leaves the caller's as it was", () =>
      Effect.gen(function* () {
        const held = Effect.map(Effect.getFiberRefs, (refs) =>
          Option.isSome(FiberRefs.get(refs, FiberRef.interruptedCause))
        )
        // A new root fiber holds nothing of its own yet.
        const [inside, caller] = yield* Fiber.join(
          Effect.runFork(Effect.zip(Interruption.isolated(held), held))
        )
        assert.isTrue(inside)
        assert.isFalse(caller)
      })
    )

    it.effect("returns what the effect returns, and fails as it fails", () =>
      Effect.gen(function* () {
        assert.strictEqual(yield* Interruption.isolated(Effect.succeed(42)), 42)
        const failed = yield* Effect.exit(Interruption.isolated(Effect.fail("boom")))
        assert.deepStrictEqual(failed, Exit.fail("boom"))
      })
    )

    it.live("an interrupted caller returns once the effect's finalizers have run", () =>
      Effect.gen(function* () {
        const slow = yield* slowFinalizer
        const finished = yield* Deferred.make<void>()
        const caller = yield* Effect.fork(
          Interruption.isolated(
            Effect.scoped(
              Effect.zipRight(
                Interruption.addFinalizer(() =>
                  Effect.zipRight(slow.finalizer, Deferred.done(finished, Exit.void))
                ),
                Effect.never
              )
            )
          )
        )
        const interrupting = yield* Effect.fork(Fiber.interrupt(caller))
        yield* slow.begun
        assert.isFalse(yield* Deferred.isDone(finished))
        assert.isNull(yield* Fiber.poll(interrupting).pipe(Effect.map(Option.getOrNull)))
        yield* slow.letGo
        assert.isTrue(Exit.isInterrupted(yield* Fiber.join(interrupting)))
        assert.isTrue(yield* Deferred.isDone(finished))
      })
    )
  })
})
