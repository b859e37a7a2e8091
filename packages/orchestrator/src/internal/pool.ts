/** @internal */
import * as posix from "node:path/posix"
import { Interruption } from "@armada/core"
import { Archive, ContainerEngine } from "@armada/engine"
import { ProcessorClient, Protocol } from "@armada/http"
import {
  Clock,
  Context,
  Deferred,
  Duration,
  Effect,
  ExecutionStrategy,
  Exit,
  FiberId,
  Schedule,
  Scope
} from "effect"
import type * as Orchestrator from "../Orchestrator.js"
import type * as Pool from "../Pool.js"
import * as Spec from "../Spec.js"
import { exportTo } from "./export.js"
import { millis, pipeline, summarize } from "./pipeline.js"
import { keyOf } from "./poolKey.js"
import { poolLabel } from "./resources.js"
import { run } from "./run.js"
import { start } from "./start.js"
import * as transfer from "./transfer.js"
import { warm } from "./warm.js"

/** One set of containers and volumes, owned by the pool while idle and by one run while busy. */
interface PooledSet {
  readonly id: string
  readonly key: string
  readonly templateId: string
  readonly images: ReadonlyArray<string>
  readonly scope: Scope.CloseableScope
  readonly started: Orchestrator.Started
  readonly createdAt: number
  lastUsed: number
  uses: number
  /** Removed instead of given back when its run ends (`remove(key)` while it was busy). */
  retired: boolean
  /** Its run has answered; its directories are being removed before it goes back. */
  returning: boolean
}

/** What a run got from the pool: a set of its key, a free slot, or a slot held by another key's idle set. */
type Taken =
  | { readonly _tag: "Idle"; readonly set: PooledSet }
  | { readonly _tag: "Slot" }
  | { readonly _tag: "Evict"; readonly victim: PooledSet }
  | { readonly _tag: "Wait"; readonly changed: Deferred.Deferred<void> }
  | { readonly _tag: "Closed" }

/** What one run holds, told as soon as it holds it, so it always gives back what it has. */
interface Held {
  set: PooledSet | undefined
  /** A counted slot without a set (the set is being created). */
  slot: boolean
}

/** @internal */
export const make = (options: Pool.Options = {}) =>
  Effect.gen(function* () {
    const maxSets = options.maxSets ?? 4
    if (!Number.isInteger(maxSets) || maxSets < 1) {
      return yield* Effect.dieMessage(`Pool: maxSets must be a positive integer, got ${maxSets}`)
    }
    const idleTtl = Duration.decode(options.idleTtl ?? Duration.minutes(10))
    const checkTimeout = Duration.decode(options.checkTimeout ?? Duration.seconds(5))
    const checkAfterMillis = Duration.toMillis(Duration.decode(options.checkAfter ?? Duration.seconds(5)))
    const context = yield* Effect.context<ContainerEngine | ProcessorClient>()
    const engine = Context.get(context, ContainerEngine)
    const client = Context.get(context, ProcessorClient)
    const poolScope = yield* Effect.scope
    // The pool's state is changed only in synchronous steps (fibers take turns on one thread), so
    // each decision below is atomic; `changed` is completed, and replaced, whenever a set goes back
    // or away, which is what a run waiting for a slot waits for.
    const state = {
      closed: false,
      /** Most recently used last. */
      idle: [] as Array<PooledSet>,
      busy: new Set<PooledSet>(),
      /** Sets that exist or are being created: never more than `maxSets`. */
      live: 0,
      changed: Deferred.unsafeMake<void>(FiberId.none)
    }
    const counters = { hits: 0, misses: 0, replaced: 0, discarded: 0, expired: 0 }
    const wake = () => {
      Deferred.unsafeDone(state.changed, Exit.void)
      state.changed = Deferred.unsafeMake<void>(FiberId.none)
    }

    /** Removes a set's containers and volumes (its scope's finalizer finds them by label) and frees its slot. */
    const discard = (set: PooledSet) =>
      Effect.zipRight(
        Scope.close(set.scope, Exit.void),
        Effect.sync(() => {
          state.busy.delete(set)
          state.live--
          wake()
        })
      )

    /** A set whose run failed, or whose directories could not be removed. */
    const discardFailed = (set: PooledSet) =>
      Effect.zipRight(
        Effect.sync(() => {
          counters.discarded++
        }),
        discard(set)
      )

    /** One decision: the freshest idle set of the key, a free slot, or another key's oldest idle set. */
    const decide = (key: string, held: Held) =>
      Effect.sync((): Taken => {
        if (state.closed) return { _tag: "Closed" }
        const mine = state.idle.map((set) => set.key).lastIndexOf(key)
        if (mine >= 0) {
          const set = state.idle.splice(mine, 1)[0]!
          state.busy.add(set)
          held.set = set
          return { _tag: "Idle", set }
        }
        // A set of the key on its way back is worth waiting for: it is ready in milliseconds.
        if ([...state.busy].some((set) => set.key === key && set.returning)) {
          return { _tag: "Wait", changed: state.changed }
        }
        if (state.live < maxSets) {
          state.live++
          held.slot = true
          return { _tag: "Slot" }
        }
        const victim = state.idle.shift()
        if (victim !== undefined) {
          held.slot = true
          return { _tag: "Evict", victim }
        }
        return { _tag: "Wait", changed: state.changed }
      })

    /**
     * Still running (one engine call for the set) and, with `probe`, answering (one probe each),
     * both asked at once: the first that says no ends the check.
     */
    const healthy = (set: PooledSet, probe: boolean) => {
      const { started } = set
      const all = containersOf(started)
      const running = Effect.flatMap(
        engine.listContainers({ [`${started.session.spec.options.prefix}.run`]: started.session.runId }),
        (listed) => {
          const up = new Set(listed.filter((c) => c.state === "running").map((c) => c.id))
          return all.every((c) => up.has(c.containerId)) ? Effect.void : Effect.fail("not running")
        }
      )
      const answering = Effect.forEach(all, (c) => client.waitReady(c.endpoint, { deadline: checkTimeout }), {
        concurrency: "unbounded",
        discard: true
      })
      return Effect.all(probe ? [running, answering] : [running], {
        concurrency: "unbounded",
        discard: true
      }).pipe(
        Effect.as(true),
        Effect.catchAll(() => Effect.succeed(false)),
        Effect.withSpan("armada.pool.check", { attributes: { set: set.id } })
      )
    }

    /**
     * A new set in a scope of its own below the pool's, under a session id of its own, held by
     * the run from the moment it exists.
     */
    const create = (spec: Spec.Spec, key: Pool.Key, held: Held) =>
      Effect.gen(function* () {
        const id = yield* Spec.generateSessionId
        const createdAt = yield* Clock.currentTimeMillis
        const scope = yield* Scope.fork(poolScope, ExecutionStrategy.sequential)
        const setSpec: Spec.Spec = { ...spec, session: id, options: { ...spec.options, keep: false } }
        const started = yield* Scope.extend(
          warm(setSpec, { [poolLabel(spec.options.prefix)]: key.key }),
          scope
        ).pipe(
          Effect.flatMap(start),
          // Its runs move their area's files the cheapest way its merger allows (transfer.areaRoute).
          Effect.flatMap((started) =>
            Effect.map(
              transfer.areaRoute(started),
              (files): Orchestrator.Started => ({ ...started, session: { ...started.session, files } })
            )
          ),
          Effect.onError(() => Scope.close(scope, Exit.void))
        )
        const set: PooledSet = {
          id,
          key: key.key,
          templateId: spec.templateId,
          images: key.images,
          scope,
          started,
          createdAt,
          lastUsed: createdAt,
          uses: 0,
          retired: false,
          returning: false
        }
        state.busy.add(set)
        held.set = set
        held.slot = false
        return set
      })

    /** A set for `spec`, busy: an idle one of its key that passes its check, or a new one. */
    const take = (
      spec: Spec.Spec,
      key: Pool.Key,
      restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
      held: Held
    ) =>
      Effect.gen(function* () {
        while (true) {
          const taken = yield* decide(key.key, held)
          if (taken._tag === "Closed") return yield* Effect.dieMessage("Pool: the pool's scope is closed")
          if (taken._tag === "Wait") {
            yield* restore(Deferred.await(taken.changed))
            continue
          }
          if (taken._tag === "Idle") {
            // Given back moments ago by a run that succeeded: the engine is asked whether it still
            // runs, but it is not probed (docs/serve.md, "The check").
            const recent = (yield* Clock.currentTimeMillis) - taken.set.lastUsed < checkAfterMillis
            if (yield* restore(healthy(taken.set, !recent))) {
              counters.hits++
              return { set: taken.set, reused: true }
            }
            // Replaced: its slot goes to the new set.
            counters.replaced++
            state.busy.delete(taken.set)
            held.set = undefined
            held.slot = true
            yield* Scope.close(taken.set.scope, Exit.void)
          }
          if (taken._tag === "Evict") yield* Scope.close(taken.victim.scope, Exit.void)
          counters.misses++
          return { set: yield* restore(create(spec, key, held)), reused: false }
        }
      }).pipe(Effect.withSpan("armada.pool.take", { attributes: { key: key.key } }))

    /** The run's directories become empty files (tar semantics: a file replaces a directory and all below it). */
    const scrub = (set: PooledSet, result: Orchestrator.RunResult) =>
      Effect.gen(function* () {
        const relative = result.directories.map((dir) => posix.relative(Protocol.areaDir, dir))
        if (relative.some((rel) => rel === "" || rel.startsWith(".."))) return false
        const tree = Archive.make(Object.fromEntries(relative.map((rel) => [rel, Archive.file("")])))
        yield* transfer.put(set.started, Protocol.areaDir, Archive.toTar(tree))
        return true
      }).pipe(
        Effect.catchAll(() => Effect.succeed(false)),
        Effect.withSpan("armada.pool.scrub", { attributes: { set: set.id } })
      )

    /** Back to the idle list, most recently used last; a retired set or a closed pool removes it. */
    const giveBack = (set: PooledSet) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (state.closed || set.retired) return discard(set)
        return Effect.sync(() => {
          set.returning = false
          set.lastUsed = now
          set.uses++
          state.busy.delete(set)
          state.idle.push(set)
          wake()
        })
      })

    const runPooled = (spec: Spec.Spec, output: Orchestrator.ExportOptions) =>
      Effect.flatMap(Effect.withSpan(keyOf(spec), "armada.pool.key"), (key) =>
        Effect.uninterruptibleMask((restore) =>
          Effect.gen(function* () {
            const held: Held = { set: undefined, slot: false }
            const exit = yield* Effect.exit(
              Effect.gen(function* () {
                const [waitMillis, { set, reused }] = yield* millis(take(spec, key, restore, held))
                const started: Orchestrator.Started = {
                  ...set.started,
                  session: { ...set.started.session, spec }
                }
                const result = yield* restore(run(started))
                const [exportMillis, exported] = yield* millis(restore(exportTo(started, result, output)))
                const summary = summarize(spec, started, result, exported, {
                  warm: waitMillis,
                  start: 0,
                  export: exportMillis
                })
                return {
                  run: { ...summary, pool: { key: key.key, set: set.id, reused } } as Pool.Run,
                  result
                }
              })
            )
            const set = held.set
            if (set !== undefined && Exit.isSuccess(exit)) {
              // The run's answer does not wait for its directories to go: the set stays busy until
              // they are gone, then goes back (or away, when they could not be removed).
              const { result } = exit.value
              set.returning = true
              yield* Effect.forkIn(
                Effect.flatMap(scrub(set, result), (clean) => (clean ? giveBack(set) : discardFailed(set))),
                poolScope
              )
            } else if (set !== undefined) {
              yield* discardFailed(set)
            } else if (held.slot) {
              yield* Effect.sync(() => {
                state.live--
                wake()
              })
            }
            return yield* Exit.map(exit, (value) => value.run)
          })
        )
      ).pipe(Effect.withSpan("armada.pool.run", { attributes: { session: spec.session } }))

    /** Takes the idle sets `which` picks out of the pool and removes them, all at once. */
    const removeIdle = (which: (set: PooledSet) => boolean) =>
      Effect.gen(function* () {
        const gone = state.idle.filter(which)
        state.idle = state.idle.filter((set) => !which(set))
        for (const set of gone) state.busy.add(set)
        yield* Effect.forEach(gone, discard, { concurrency: "unbounded", discard: true })
        return gone.length
      })

    /** Every idle set of `key` now; its busy ones when their runs end. */
    const remove = (key: string) =>
      Effect.suspend(() => {
        for (const set of state.busy) if (set.key === key) set.retired = true
        return removeIdle((set) => set.key === key)
      })

    /** Idle sets unused for the TTL are removed, looked for every tenth of it (at most every second). */
    const expire = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.map(
        removeIdle((set) => now - set.lastUsed >= Duration.toMillis(idleTtl)),
        (n) => {
          counters.expired += n
        }
      )
    )
    yield* Effect.forkIn(
      Effect.repeat(expire, Schedule.spaced(Duration.max(Duration.seconds(1), Duration.times(idleTtl, 0.1)))),
      poolScope
    )

    // Closing the pool: no new set, then every set removed at once (a busy one fails its run).
    yield* Interruption.addFinalizer(() =>
      Effect.suspend(() => {
        state.closed = true
        const all = [...state.idle, ...state.busy]
        state.idle = []
        wake()
        return Effect.forEach(all, (set) => Scope.close(set.scope, Exit.void), {
          concurrency: "unbounded",
          discard: true
        })
      })
    )

    const sets = Effect.sync(() =>
      [
        ...state.idle.map((set) => [set, "idle"] as const),
        ...[...state.busy].map((set) => [set, "busy"] as const)
      ].map(
        ([set, status]): Pool.SetInfo => ({
          key: set.key,
          id: set.id,
          templateId: set.templateId,
          images: set.images,
          status,
          uses: set.uses,
          containers: containersOf(set.started).length,
          createdAt: new Date(set.createdAt),
          lastUsed: new Date(set.lastUsed)
        })
      )
    )

    const service: Pool.Pool.Service = {
      maxSets,
      run: (spec, output) =>
        Interruption.isolated(
          (spec.options.keep
            ? Effect.map(pipeline(spec, output), (summary): Pool.Run => ({ ...summary, pool: undefined }))
            : runPooled(spec, output)
          ).pipe(Effect.provide(context))
        ),
      sets,
      remove,
      stats: Effect.sync(() => ({ ...counters, live: state.live }))
    }
    return service
  })

const containersOf = (started: Orchestrator.Started) => [
  ...started.processors,
  ...started.plugins,
  ...started.resolvers,
  started.merger
]
