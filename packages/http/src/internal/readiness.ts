/**
 * `ProcessorClient.waitReady`: probe until the endpoint answers, paced by the time already waited
 * and by how many waits share the client.
 *
 * @internal
 */
import { Clock, Context, DefaultServices, Duration, Effect, Either } from "effect"
import type { Liveness, Probe, Ready, WaitOptions } from "../ProcessorClient.js"
import { type Endpoint, Exited, NotReady, type ReadyError } from "../ProcessorError.js"
import { defaults } from "./checks.js"

const firstDelayMillis = 5
/** A lone wait probes again after 5 ms + 3% of the time waited so far. */
const growth = 0.03
/** A crowded wait probes at least every third of the time it has waited so far... */
const crowdedShare = 1 / 3
/** ...but each of `waiting` waits no more often than every `waiting` x 20 ms... */
const crowdedFloorMillis = 20
/** ...and every wait at least every 30 s. */
const maxDelayMillis = 30_000

/**
 * The pause before the next probe, after a failed one `waitedMillis` into a wait, while
 * `waiting` waits (this one included) are in progress on the same client:
 *
 *   min(30 s, waiting x (5 ms + 3% of the time waited), max(waiting x 20 ms, a third of it))
 *
 * Alone, a wait probes 5 ms + 3% of the time waited apart: the lag between a server starting to
 * listen and armada noticing stays near 3% of its start-up time (a server up after 500 ms is seen
 * within ~20 ms), for ~65 probes in the first second, ~140 in 10 s and ~200 in a minute.
 *
 * Waits in progress at once on one client share its probes: each of `waiting` waits probes
 * `waiting` times as far apart, so a few waits together probe about as often as one. Containers
 * starting together share the machine and take longer each, and every probe (each a connection,
 * and a wake-up of armada) takes CPU from them. A crowded wait still probes at least every third
 * of the time it has waited (a container that took 30 s to start is seen within ~10 s), and at
 * least every 30 s; but no closer than `waiting` x 20 ms, since of 65 containers starting together
 * none is up within the first second. For 65 waits that is ~8 probes each in the first 10 s, ~14
 * in a minute and ~16 in two; for 12, ~15, ~21 and ~24.
 *
 * @internal
 */
export const nextProbeDelayMillis = (waitedMillis: number, waiting: number): number => {
  const alone = firstDelayMillis + growth * waitedMillis
  const crowded = Math.max(waiting * crowdedFloorMillis, crowdedShare * waitedMillis)
  // Whole milliseconds, as the clock counts them.
  return Math.round(Math.min(maxDelayMillis, waiting * alone, crowded))
}

/**
 * A pause longer than this ends early when the number of waits has halved since it began, to be
 * recomputed for fewer waits; shorter ones are not worth waking for.
 */
const wakeAboveMillis = 1_000

/**
 * Pauses longer than a second end on a shared grid of this step, so that waits due at about the
 * same time probe in one wake-up of armada: waking an idle process costs more CPU than the probe
 * it sends.
 */
const gridMillis = 250

/** `isAlive` is asked at most this often: it may be an engine call. */
const livenessEveryMillis = 100

const alive: Effect.Effect<Liveness> = Effect.succeed({ _tag: "Alive" })

const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)

/**
 * Pauses `millis` on `clock`, or until the wake-up that `register` adds is called, whichever
 * comes first (`register` returns the wake-up's removal). On the live clock that is one timer:
 * racing `Effect.sleep` against a wake-up forks two fibers per pause, which under load cost more
 * CPU than the probe after it. Another clock (a `TestClock`) is raced as before.
 */
const pauseFor = (
  clock: Clock.Clock,
  millis: number,
  register: ((wake: () => void) => () => void) | undefined
): Effect.Effect<void> => {
  if (clock !== liveClock) {
    const sleep = clock.sleep(Duration.millis(millis))
    return register === undefined
      ? sleep
      : Effect.raceFirst(
          sleep,
          Effect.async<void>((resume) => Effect.sync(register(() => resume(Effect.void))))
        )
  }
  return Effect.async<void>((resume) => {
    let unregister = () => {}
    const timer = setTimeout(() => {
      unregister()
      resume(Effect.void)
    }, millis)
    if (register !== undefined) {
      unregister = register(() => {
        clearTimeout(timer)
        unregister()
        resume(Effect.void)
      })
    }
    return Effect.sync(() => {
      clearTimeout(timer)
      unregister()
    })
  })
}

/**
 * The `waitReady` of one client: `probe` sends one probe, which gives up after `probeTimeout`.
 * Every wait of the returned function shares the pacing above.
 *
 * @internal
 */
export const make = (probe: Probe, probeTimeout: Duration.Duration) => {
  let waiting = 0
  // Called, and cleared, whenever the number of waits falls to a power of two (64, 32, ..., 1):
  // the long pauses then end and are recomputed. That wakes each wait about log2(waits) times,
  // where a wake-up per wait that ends would cost waits squared.
  let sleepers = new Set<() => void>()
  const register = (wake: () => void) => {
    const own = sleepers
    own.add(wake)
    return () => {
      own.delete(wake)
    }
  }
  const enter = Effect.sync(() => {
    waiting++
  })
  const leave = Effect.sync(() => {
    waiting--
    if (waiting === 0 || (waiting & (waiting - 1)) !== 0) return
    const woken = sleepers
    sleepers = new Set()
    for (const wake of woken) wake()
  })
  return Effect.fn("ProcessorClient.waitReady")(function* (
    endpoint: Endpoint,
    waitOptions?: WaitOptions
  ): Effect.fn.Return<Ready, ReadyError> {
    const deadline = Duration.decode(waitOptions?.deadline ?? defaults.readyDeadline)
    const isAlive = waitOptions?.isAlive ?? alive
    // Read directly, not through `Clock.currentTimeMillis`: a few effects less per probe.
    const clock = yield* Effect.clock
    const started = clock.unsafeCurrentTimeMillis()
    let attempts = 0
    let lastError = "no probe finished"
    let lastAsked = Number.NEGATIVE_INFINITY

    const probes: Effect.Effect<void, Exited> = Effect.gen(function* () {
      for (;;) {
        attempts++
        const outcome = yield* Effect.either(probe.probe(endpoint, probeTimeout))
        if (Either.isRight(outcome)) return
        lastError = outcome.left
        const probedAt = clock.unsafeCurrentTimeMillis()
        if (probedAt - lastAsked >= livenessEveryMillis) {
          lastAsked = probedAt
          const liveness = yield* isAlive
          if (liveness._tag === "Exited") {
            return yield* new Exited({ endpoint, exitCode: liveness.exitCode, logTail: liveness.logTail })
          }
        }
        // Sleeps until the next probe is due, recomputing that when the number of waits halves.
        for (;;) {
          const now = clock.unsafeCurrentTimeMillis()
          const delay = nextProbeDelayMillis(probedAt - started, waiting)
          const due =
            delay > wakeAboveMillis
              ? Math.ceil((probedAt + delay) / gridMillis) * gridMillis
              : probedAt + delay
          if (now >= due) break
          // A short pause is not worth waking for; a long one ends when the waits halve.
          if (due - now <= wakeAboveMillis) {
            yield* pauseFor(clock, due - now, undefined)
            break
          }
          yield* pauseFor(clock, due - now, register)
        }
      }
    })

    yield* Effect.acquireUseRelease(
      enter,
      () => probes,
      () => leave
    ).pipe(
      Effect.timeoutFail({
        duration: deadline,
        onTimeout: () =>
          new NotReady({ endpoint, attempts, afterMillis: Duration.toMillis(deadline), lastError })
      })
    )
    return { attempts, elapsedMillis: clock.unsafeCurrentTimeMillis() - started }
  })
}
