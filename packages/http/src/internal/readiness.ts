/**
 * `ProcessorClient.waitReady`: probe until the endpoint answers, paced by the time already waited
 * and by how many waits share the client.
 *
 * A wait is one `Effect.async` around plain callbacks and timers, not an effect per probe: a cold
 * run of 65 containers sends ~1,000 probes while the machine is busiest, and resuming a fiber twice
 * per probe (after the probe, after the pause) cost about as much CPU as the probe itself.
 *
 * @internal
 */
import {
  Cause,
  Clock,
  Context,
  DefaultServices,
  Duration,
  Effect,
  Exit,
  Fiber,
  Option,
  Runtime
} from "effect"
import type { ContainerExit, Probe, Ready, WaitOptions } from "../ProcessorClient.js"
import { type Endpoint, Exited, NotReady, type ReadyError } from "../ProcessorError.js"
import { defaults } from "./checks.js"
import { probeSocket, sendProbe } from "./probe.js"

const firstDelayMillis = 5
/** A lone wait probes again after 5 ms + 3% of the time waited so far. */
const growth = 0.03
/** A crowded wait probes at least every half of the time it has waited so far... */
const crowdedShare = 1 / 2
/** ...but each of `waiting` waits no more often than every `waiting` x 50 ms... */
const crowdedFloorMillis = 50
/** ...and every wait at least every 30 s. */
const maxDelayMillis = 30_000
/** A crowded wait of a cohort sends its first probe at this share of the cohort's shortest wait. */
const cohortShare = 1 / 2

/**
 * The pause before the next probe, after a failed one `waitedMillis` into a wait, while
 * `waiting` waits (this one included) are in progress on the same client:
 *
 *   min(30 s, waiting x (5 ms + 3% of the time waited), max(waiting x 50 ms, half of it))
 *
 * Alone, a wait probes 5 ms + 3% of the time waited apart: the lag between a server starting to
 * listen and armada noticing stays near 3% of its start-up time (a server up after 500 ms is seen
 * within ~20 ms), for ~65 probes in the first second, ~140 in 10 s and ~200 in a minute.
 *
 * Waits in progress at once on one client share its probes: each of `waiting` waits probes
 * `waiting` times as far apart, so a few waits together probe about as often as one. Containers
 * starting together share the machine and take longer each, and every probe (each a connection,
 * and a wake-up of armada) takes CPU from them. A crowded wait still probes at least every half
 * of the time it has waited (a container that took 30 s to start is seen within ~15 s), and at
 * least every 30 s; "half of the time waited" only counts once it exceeds `waiting` x 50 ms, so
 * that it does not bring the first probes of a crowd closer together. Seeing a container in the
 * middle of a crowd late delays nothing: the start ends with the last container, and the last
 * waits are few, so they probe densely again. For 65 waits that is ~5 probes each in the first
 * 10 s, ~9 in a minute and ~11 in two; for 12, ~14, ~19 and ~22.
 *
 * A crowd also learns, per cohort (`WaitOptions.cohort`): once a wait of a cohort has ended ready,
 * the crowded waits of that cohort send no probe before half of that wait (the shortest so far);
 * before that, a wait sends none before half of what the cohort's oldest wait in progress had
 * waited when it began (none of them is up yet, and they started under the same load). Containers
 * of one image started together take about as long each, so the probes before that would all be
 * refused: of 65 containers that each take 15-60 s, most of ~12 each.
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

/** Calls `f` after `millis`; the returned function cancels that. */
type SetTimer = (millis: number, f: () => void) => () => void

const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)

const liveTimer: SetTimer = (millis, f) => {
  const timer = setTimeout(f, millis)
  return () => clearTimeout(timer)
}

/** Timers on another clock (a `TestClock`): a fiber per timer, which only tests pay for. */
const clockTimer =
  (clock: Clock.Clock): SetTimer =>
  (millis, f) => {
    let cancelled = false
    const fiber = Effect.runFork(
      Effect.andThen(
        clock.sleep(Duration.millis(millis)),
        Effect.sync(() => {
          if (!cancelled) f()
        })
      )
    )
    return () => {
      cancelled = true
      Effect.runFork(Fiber.interrupt(fiber))
    }
  }

/** Sends one probe and tells `done` how it went, once; the returned function abandons it. */
type SendProbe = (
  endpoint: Endpoint,
  timeout: Duration.Duration,
  done: (outcome: Exit.Exit<void, string>) => void
) => () => void

/** A probe given as an effect, run as a fiber of `runtime` per probe. */
const sendVia =
  (runtime: Runtime.Runtime<never>, probe: Probe): SendProbe =>
  (endpoint, timeout, done) => {
    let abandoned = false
    const cancel = Runtime.runCallback(runtime)(probe.probe(endpoint, timeout), {
      onExit: (exit) => {
        if (!abandoned) done(exit)
      }
    })
    return () => {
      abandoned = true
      cancel()
    }
  }

/** `setTimeout` holds at most 2^31 - 1 ms; a deadline beyond that is no deadline. */
const maxTimerMillis = 2 ** 31 - 1

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
  // Per cohort, since the client last had no wait: the shortest wait that ended ready, and when
  // each wait in progress began, oldest first.
  const shortestReady = new Map<string, number>()
  const inProgress = new Map<string, Array<number>>()
  const leave = () => {
    waiting--
    if (waiting === 0) {
      shortestReady.clear()
      inProgress.clear()
    }
    if (waiting === 0 || (waiting & (waiting - 1)) !== 0) return
    const woken = sleepers
    sleepers = new Set()
    for (const wake of woken) wake()
  }

  /** Probes until ready or `deadlineMillis` has passed. */
  const probeUntilReady = (
    endpoint: Endpoint,
    deadlineMillis: number,
    cohort: string | undefined,
    clock: Clock.Clock,
    send: SendProbe
  ) =>
    Effect.async<Ready, NotReady>((resume) => {
      const setTimer = clock === liveClock ? liveTimer : clockTimer(clock)
      const started = clock.unsafeCurrentTimeMillis()
      let attempts = 0
      let lastError = "no probe finished"
      let ended = false
      // Whatever is pending: the probe in flight, or the pause and its wake-up.
      let cancelPending = () => {}
      waiting++
      // Until one of the cohort is ready: half of what its oldest wait had waited when this began.
      const peers = cohort === undefined ? [] : (inProgress.get(cohort) ?? [])
      const behindOldest = peers.length === 0 ? 0 : cohortShare * (started - peers[0]!)
      if (cohort !== undefined) inProgress.set(cohort, [...peers, started])

      const stop = () => {
        ended = true
        cancelPending()
        cancelDeadline()
        if (cohort !== undefined) {
          const starts = inProgress.get(cohort) ?? []
          starts.splice(starts.indexOf(started), 1)
        }
        leave()
      }
      // In a crowd, a wait of a cohort sends no probe before half the cohort's shortest ready wait;
      // while none has been ready, before half of what its oldest wait had waited when this began.
      const firstProbeMillis = () => {
        if (cohort === undefined || waiting < 2) return 0
        const shortest = shortestReady.get(cohort)
        return Math.round(shortest === undefined ? behindOldest : cohortShare * shortest)
      }
      const end = (result: Effect.Effect<Ready, NotReady>) => {
        if (ended) return
        stop()
        resume(result)
      }

      const sendOne = () => {
        if (ended) return
        attempts++
        let inFlight = true
        const abandon = send(endpoint, probeTimeout, (outcome) => {
          inFlight = false
          cancelPending = () => {}
          probed(outcome)
        })
        // A probe may answer before `send` returns.
        if (inFlight) cancelPending = abandon
      }

      const probed = (outcome: Exit.Exit<void, string>) => {
        if (ended) return
        if (Exit.isSuccess(outcome)) {
          const elapsedMillis = clock.unsafeCurrentTimeMillis() - started
          if (cohort !== undefined && elapsedMillis < (shortestReady.get(cohort) ?? Infinity)) {
            shortestReady.set(cohort, elapsedMillis)
          }
          end(Effect.succeed({ attempts, elapsedMillis }))
          return
        }
        const why = Cause.failureOption(outcome.cause)
        // A defect or an interruption of the probe is the wait's, not "not ready yet".
        if (Option.isNone(why)) {
          end(
            Effect.failCause(
              Cause.map(outcome.cause, (error) => new NotReady({ ...notReady(), lastError: error }))
            )
          )
          return
        }
        lastError = why.value
        pauseAfter(clock.unsafeCurrentTimeMillis())
      }

      // Sleeps until the next probe is due, recomputing that when the number of waits halves.
      const pauseAfter = (probedAt: number) => {
        const now = clock.unsafeCurrentTimeMillis()
        const delay = Math.max(
          nextProbeDelayMillis(probedAt - started, waiting),
          started + firstProbeMillis() - probedAt
        )
        const due =
          delay > wakeAboveMillis ? Math.ceil((probedAt + delay) / gridMillis) * gridMillis : probedAt + delay
        if (now >= due) {
          sendOne()
          return
        }
        // A short pause is not worth waking for; a long one ends when the waits halve.
        if (due - now <= wakeAboveMillis) {
          cancelPending = setTimer(due - now, sendOne)
          return
        }
        const cancelTimer = setTimer(due - now, () => {
          unregister()
          sendOne()
        })
        const unregister = register(() => {
          cancelTimer()
          pauseAfter(probedAt)
        })
        cancelPending = () => {
          cancelTimer()
          unregister()
        }
      }

      const notReady = () => ({ endpoint, attempts, afterMillis: deadlineMillis, lastError })
      const cancelDeadline =
        deadlineMillis > maxTimerMillis
          ? () => {}
          : setTimer(deadlineMillis, () => end(Effect.fail(new NotReady(notReady()))))

      if (firstProbeMillis() > 0) pauseAfter(started)
      else sendOne()
      return Effect.sync(() => {
        if (!ended) stop()
      })
    })

  return Effect.fn("ProcessorClient.waitReady")(function* (
    endpoint: Endpoint,
    waitOptions?: WaitOptions
  ): Effect.fn.Return<Ready, ReadyError> {
    const deadlineMillis = Duration.toMillis(waitOptions?.deadline ?? defaults.readyDeadline)
    const clock = yield* Effect.clock
    // The default probe runs as plain callbacks; another one as an effect per probe.
    const send = probe.probe === probeSocket ? sendProbe : sendVia(yield* Effect.runtime<never>(), probe)
    return yield* untilExited(
      endpoint,
      probeUntilReady(endpoint, deadlineMillis, waitOptions?.cohort, clock, send),
      waitOptions?.exited
    )
  })
}

/**
 * `wait`, ended with `Exited` as soon as `exited` completes, whichever comes first; the live and
 * the in-memory client's `waitReady` both.
 *
 * @internal
 */
export const untilExited = <A, E>(
  endpoint: Endpoint,
  wait: Effect.Effect<A, E>,
  exited: Effect.Effect<ContainerExit> | undefined
): Effect.Effect<A, E | Exited> =>
  exited === undefined
    ? wait
    : Effect.raceFirst(
        wait,
        Effect.flatMap(exited, (exit) => new Exited({ endpoint, ...exit }))
      )
