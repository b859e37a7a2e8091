/**
 * How armada keeps an interruption that reaches a fiber while it runs a scope's finalizer, on the
 * `effect` that npm serves.
 *
 * effect 3.22.4's `Effect.addFinalizer` (and so `Effect.acquireRelease`) runs a finalizer with the
 * FiberRefs of the fiber that acquired the resource, then restores the closing fiber's own by
 * applying the inverse change. The fiber's interruption state is one of its FiberRefs: when the
 * two fibers' FiberRefs differed in it (one fiber had never run such a finalizer, say), the
 * restore puts back the state from before the finalizer and an interruption that arrived while
 * the finalizer ran is lost. The fiber then carries on as if nothing had happened: `armada run`
 * went on to its end after a Ctrl-C.
 *
 * armada closes that gap in two ways, both without changing Effect:
 * - its own finalizers are registered on the scope itself (`addFinalizer`, `acquireRelease`
 *   here), which involves no FiberRefs at all;
 * - a whole run (`isolated`) runs on a fiber of its own whose interruption state is among its
 *   FiberRefs from its first step, as it then is for every fiber it forks. A finalizer that a
 *   library registers with `Effect.addFinalizer` inside the run then finds the state on both
 *   sides, and the restore has nothing to put back.
 *
 * @since 0.1.0
 */
import { Context, Effect, type Exit, Fiber, FiberRef, identity, Scope } from "effect"

/**
 * Registers `finalizer` on the current scope, to run (uninterruptibly) when the scope closes, with
 * the exit the scope closes with. It sees the context of this call, and the closing fiber's other
 * FiberRefs (its logger, log annotations and span). Unlike `Effect.addFinalizer`, it leaves the
 * closing fiber's FiberRefs alone, so an interruption that reaches that fiber meanwhile is kept.
 *
 * @since 0.1.0
 * @category finalizers
 */
export const addFinalizer = <X, R>(
  finalizer: (exit: Exit.Exit<unknown, unknown>) => Effect.Effect<X, never, R>
): Effect.Effect<void, never, R | Scope.Scope> =>
  Effect.flatMap(Effect.context<R | Scope.Scope>(), (context) =>
    Scope.addFinalizerExit(Context.get(context, Scope.Scope), (exit) =>
      Effect.uninterruptible(Effect.provide(finalizer(exit), context))
    )
  )

/**
 * `Effect.acquireRelease` with the release registered by `addFinalizer`: `acquire` runs
 * uninterruptibly, and `release` runs when the scope closes, however it closes.
 *
 * @since 0.1.0
 * @category finalizers
 */
export const acquireRelease = <A, E, R, X, R2>(
  acquire: Effect.Effect<A, E, R>,
  release: (resource: A, exit: Exit.Exit<unknown, unknown>) => Effect.Effect<X, never, R2>
): Effect.Effect<A, E, R | R2 | Scope.Scope> =>
  Effect.uninterruptible(Effect.tap(acquire, (resource) => addFinalizer((exit) => release(resource, exit))))

/**
 * Sets the fiber's interruption state to what it is: it is then among the fiber's own FiberRefs,
 * and among those of every fiber forked from here on.
 */
const holdInterruptionState = FiberRef.update(FiberRef.interruptedCause, identity)

/**
 * Runs `effect` on a fiber of its own that holds its interruption state from its first step (see
 * the module's note), and waits for it. Interrupting the caller interrupts that fiber and returns
 * once it has ended, its finalizers run. The caller's own fiber is left as it was.
 *
 * @since 0.1.0
 * @category combinators
 */
export const isolated = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Effect.fork(Effect.zipRight(holdInterruptionState, restore(effect))), (fiber) =>
      Effect.onInterrupt(restore(Fiber.join(fiber)), () => Fiber.interrupt(fiber))
    )
  )
