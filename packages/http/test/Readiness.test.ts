import type { AddressInfo } from "node:net"
import { createServer, type Server, type Socket } from "node:net"
import {
  type ContainerExit,
  make as makeProcessorClient,
  ProcessorClient,
  type ProcessorError,
  layer as processorClientLayer,
  ReadinessProbe
} from "@armada/http"
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Clock, Deferred, Duration, Effect, Exit, Fiber, Layer, Schedule, TestClock } from "effect"
import { nextProbeDelayMillis } from "../src/internal/readiness.js"
import { closedPort, realServer } from "./fakes.js"

/**
 * A raw TCP server on 127.0.0.1 that does `onConnection` with each socket; closed, with the
 * connections still open, when the scope ends.
 */
const tcpServer = (onConnection: (socket: Socket) => void) => {
  const sockets = new Set<Socket>()
  return Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly server: Server; readonly open: Effect.Effect<number> }>(
      (resume) => {
        const server = createServer((socket) => {
          sockets.add(socket)
          socket.on("close", () => sockets.delete(socket))
          socket.on("error", () => {})
          onConnection(socket)
        })
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as AddressInfo
          resume(
            Effect.succeed({ url: `http://127.0.0.1:${port}`, server, open: Effect.sync(() => sockets.size) })
          )
        })
      }
    ),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
        for (const socket of sockets) socket.destroy()
      })
  )
}

/** Polls `open` until no connection is left, or fails after 10 s. */
const allClosed = (open: Effect.Effect<number>) =>
  Effect.repeat(open, { schedule: Schedule.spaced("5 millis"), until: (n) => n === 0 }).pipe(
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => "a probe's connection stayed open" })
  )

/** Why the default probe says `url` is not ready (or "ready"). */
const probeOnce = (url: string) =>
  Effect.flatMap(ReadinessProbe, ({ probe }) =>
    Effect.match(probe({ name: "probed", url }, Duration.seconds(30)), {
      onSuccess: () => "ready",
      onFailure: (why) => why
    })
  )

describe("the readiness probe (GET / on a plain socket)", () => {
  it.scopedLive("is ready on 200, and closes its connection", () =>
    Effect.gen(function* () {
      const server = yield* realServer((_, response) => response.end("ok"))
      assert.strictEqual(yield* probeOnce(server.url), "ready")
      yield* allClosed(server.open)
    })
  )

  it.scopedLive("is not ready on any other status, 2xx included", () =>
    Effect.gen(function* () {
      for (const status of [204, 301, 404, 503]) {
        const server = yield* realServer((_, response) => {
          response.statusCode = status
          response.end()
        })
        assert.strictEqual(yield* probeOnce(server.url), `HTTP ${status}`)
      }
    })
  )

  it.scopedLive("a refused connection is not ready", () =>
    Effect.gen(function* () {
      const port = yield* closedPort
      assert.strictEqual(yield* probeOnce(`http://127.0.0.1:${port}`), "connection refused (ECONNREFUSED)")
    })
  )

  it.scopedLive("a connection reset as it is accepted is not ready", () =>
    Effect.gen(function* () {
      const server = yield* tcpServer((socket) => socket.resetAndDestroy())
      assert.match(yield* probeOnce(server.url), /^connection (reset|closed)/)
    })
  )

  it.scopedLive(
    "a connection closed before an answer is not ready (docker-proxy before the app listens)",
    () =>
      Effect.gen(function* () {
        const server = yield* tcpServer((socket) => socket.once("data", () => socket.end()))
        assert.strictEqual(yield* probeOnce(server.url), "connection closed before an answer")
      })
  )

  it.scopedLive("reads a status line that arrives in pieces", () =>
    Effect.gen(function* () {
      const server = yield* tcpServer((socket) =>
        socket.once("data", () => {
          socket.write("HTTP/1.1 2")
          setTimeout(() => socket.end("00 OK\r\ncontent-length: 2\r\n\r\nok"), 50)
        })
      )
      assert.strictEqual(yield* probeOnce(server.url), "ready")
    })
  )

  it.scopedLive("an answer that is not HTTP is not ready", () =>
    Effect.gen(function* () {
      const server = yield* tcpServer((socket) => socket.end("SSH-2.0-OpenSSH_9.2\r\n"))
      assert.strictEqual(yield* probeOnce(server.url), 'the answer is not HTTP: "SSH-2.0-OpenSSH_9.2"')
      const endless = yield* tcpServer((socket) => socket.write("x".repeat(4096)))
      assert.strictEqual(yield* probeOnce(endless.url), "the answer is not HTTP")
    })
  )

  it.scopedLive("a URL it cannot probe is not ready, with why", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* probeOnce("not a url"), 'invalid URL "not a url"')
      assert.strictEqual(
        yield* probeOnce("https://127.0.0.1:1"),
        'cannot probe "https://127.0.0.1:1": only http: URLs are supported'
      )
    })
  )

  it.scopedLive("interrupting a probe closes its connection", () =>
    Effect.gen(function* () {
      // Reads the request, never answers.
      const server = yield* tcpServer((socket) => socket.resume())
      const fiber = yield* Effect.fork(probeOnce(server.url))
      yield* Effect.repeat(server.open, { schedule: Schedule.spaced("5 millis"), until: (n) => n === 1 })
      yield* Fiber.interrupt(fiber)
      yield* allClosed(server.open)
    })
  )

  it.scopedLive(
    "a status line that does not come in time is a failed probe, then NotReady at the deadline",
    () =>
      Effect.gen(function* () {
        // Reads the request, never answers.
        const server = yield* tcpServer((socket) => socket.resume())
        const client = yield* makeProcessorClient({ probeTimeout: "100 millis" })
        const error = yield* Effect.flip(
          client.waitReady({ name: "mute", url: server.url }, { deadline: "1 second" })
        )
        assert.strictEqual(error._tag, "NotReady")
        if (error._tag !== "NotReady") return
        assert.strictEqual(error.lastError, "no answer within 100 ms")
        assert.isAtLeast(error.attempts, 2)
        yield* allClosed(server.open)
      }).pipe(Effect.provide(FetchHttpClient.layer))
  )
})

describe("nextProbeDelayMillis", () => {
  it("alone: 5 ms + 3% of the time waited", () => {
    assert.deepStrictEqual(
      [0, 100, 1_000, 10_000, 60_000, 300_000].map((waited) => nextProbeDelayMillis(waited, 1)),
      [5, 8, 35, 305, 1805, 9005]
    )
  })

  it("crowded: as many times as far apart as there are waits (no closer than their number x 50 ms), but at least every half of the time waited and every 30 s", () => {
    // 10 waits: 10 x (5 ms + 3%) or half of the time waited (at least 10 x 50 ms), whichever is less.
    assert.deepStrictEqual(
      [0, 100, 1_000, 10_000, 30_000].map((waited) => nextProbeDelayMillis(waited, 10)),
      [50, 80, 350, 3050, 9050]
    )
    // 65 waits: 325 ms apart at first, then no closer than 65 x 50 ms, then half of the time waited.
    assert.strictEqual(nextProbeDelayMillis(0, 65), 325)
    assert.strictEqual(nextProbeDelayMillis(3_000, 65), 3250)
    assert.strictEqual(nextProbeDelayMillis(10_000, 65), 5000)
    assert.strictEqual(nextProbeDelayMillis(600_000, 65), 30_000)
  })

  it("never shrinks as the wait goes on or as more waits share the client", () => {
    for (const waiting of [1, 2, 3, 8, 20, 65, 500]) {
      let previous = 0
      for (let waited = 0; waited <= 400_000; waited += 1_000) {
        const delay = nextProbeDelayMillis(waited, waiting)
        assert.isAtLeast(delay, previous)
        assert.isAtLeast(delay, nextProbeDelayMillis(waited, waiting - 1 || 1))
        assert.isAtMost(delay, 30_000)
        previous = delay
      }
    }
  })
})

/** When each probe of each endpoint happened; a probe is ready once `readyAt` says so. */
const recordingProbe = (readyAt: (endpoint: ProcessorError.Endpoint, now: number) => boolean) => {
  const probes = new Map<string, Array<number>>()
  const layer = Layer.succeed(ReadinessProbe, {
    probe: (endpoint) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const times = probes.get(endpoint.name) ?? []
        times.push(now)
        probes.set(endpoint.name, times)
        return readyAt(endpoint, now) ? Effect.void : Effect.fail("connection refused (ECONNREFUSED)")
      })
  })
  const client = processorClientLayer.pipe(Layer.provide(layer), Layer.provide(FetchHttpClient.layer))
  return { probes, client }
}

/**
 * Waits for `count` endpoints `c0`, `c1`, ... at once on one client, from time 0 of the TestClock,
 * and records when each wait ended and how.
 */
const waitMany = (
  count: number,
  options: {
    readonly readyAt: (endpoint: ProcessorError.Endpoint, now: number) => boolean
    readonly exited?: (endpoint: ProcessorError.Endpoint) => Effect.Effect<ContainerExit>
    readonly deadline: Duration.DurationInput
  }
) => {
  const recording = recordingProbe(options.readyAt)
  const ended = new Map<string, { readonly at: number; readonly outcome: string }>()
  return Effect.gen(function* () {
    const client = yield* ProcessorClient
    const fibers = []
    for (let i = 0; i < count; i++) {
      const endpoint: ProcessorError.Endpoint = { name: `c${i}`, url: `http://127.0.0.1:${1000 + i}` }
      const fiber = yield* client
        .waitReady(endpoint, { deadline: options.deadline, exited: options.exited?.(endpoint) })
        .pipe(
          Effect.match({ onSuccess: () => "ready", onFailure: (error) => error._tag }),
          Effect.flatMap((outcome) =>
            Effect.map(Clock.currentTimeMillis, (at) => ended.set(endpoint.name, { at, outcome }))
          ),
          Effect.fork
        )
      fibers.push(fiber)
    }
    return { probes: recording.probes, ended, fibers }
  }).pipe(Effect.provide(recording.client))
}

describe("ProcessorClient.waitReady's pacing", () => {
  it.effect("a probe given as an effect that dies ends the wait with its defect, not with NotReady", () =>
    Effect.gen(function* () {
      let probes = 0
      const dying = Layer.succeed(ReadinessProbe, {
        probe: () =>
          ++probes < 3 ? Effect.fail("connection refused (ECONNREFUSED)") : Effect.die("probe bug")
      })
      const client = yield* makeProcessorClient().pipe(
        Effect.provide(Layer.merge(dying, FetchHttpClient.layer))
      )
      const fiber = yield* Effect.fork(client.waitReady({ name: "c0", url: "http://127.0.0.1:1000" }))
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.await(fiber)
      assert.strictEqual(probes, 3)
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause), String(exit))
    })
  )

  it.effect("alone, it probes ~65 times in the first second and ~140 times in 10 s", () =>
    Effect.gen(function* () {
      const { probes, ended } = yield* waitMany(1, { readyAt: () => false, deadline: "10 seconds" })
      yield* TestClock.adjust("1 second")
      const inFirstSecond = probes.get("c0")!.length
      yield* TestClock.adjust("9 seconds")
      assert.deepStrictEqual(ended.get("c0"), { at: 10_000, outcome: "NotReady" })
      assert.isAtLeast(inFirstSecond, 60)
      assert.isAtMost(inFirstSecond, 70)
      assert.isAtLeast(probes.get("c0")!.length, 135)
      assert.isAtMost(probes.get("c0")!.length, 145)
    })
  )

  // Several hundred TestClock sleeps, each of which costs the TestClock a few zero-delay timers: a
  // loaded machine stretches those to tens of milliseconds, hence the limit.
  it.effect(
    "12 waits at once: far fewer probes each, still every half of the time waited; an exit ends a wait at once",
    () =>
      Effect.gen(function* () {
        // c1 exits at 20 s.
        const c1Exit = yield* Deferred.make<ContainerExit>()
        const { probes, ended } = yield* waitMany(12, {
          deadline: "30 seconds",
          readyAt: () => false,
          exited: (endpoint) => (endpoint.name === "c1" ? Deferred.await(c1Exit) : Effect.never)
        })
        yield* TestClock.adjust("20 seconds")
        yield* Deferred.succeed(c1Exit, { exitCode: 3, logTail: "boom" })
        yield* TestClock.adjust("11 seconds")

        // Each probes far less often than a lone wait (~175 probes in 30 s), but never more than
        // half of the time it has waited (or 12 x 50 ms) apart.
        for (const [name, times] of probes) {
          assert.isAtMost(times.length, 22, `${name}: ${times.length} probes`)
          for (let i = 1; i < times.length; i++) {
            const gap = times[i]! - times[i - 1]!
            // Pauses over a second end on a 250 ms grid.
            const bound = Math.max(12 * 50, times[i - 1]! / 2) + 250
            assert.isAtMost(gap, bound, `${name}: ${gap} ms after ${times[i - 1]}`)
          }
        }
        // c1's exit ends its wait then, not at its next probe.
        assert.deepStrictEqual(ended.get("c1"), { at: 20_000, outcome: "Exited" })
        assert.isUndefined(probes.get("c1")!.find((time) => time > 20_000))
        for (const [name, end] of ended) if (name !== "c1") assert.strictEqual(end.outcome, "NotReady")
      }),
    240_000
  )

  it.effect("when the others end, a long pause is cut short: the last wait probes within a second", () =>
    Effect.gen(function* () {
      const { probes, fibers } = yield* waitMany(16, { readyAt: () => false, deadline: "5 minutes" })
      // Into a pause of c0 with more than 3 s to go.
      const remaining = Effect.map(Clock.currentTimeMillis, (now) => {
        const probedAt = probes.get("c0")!.at(-1)!
        return { now, probedAt, left: probedAt + nextProbeDelayMillis(probedAt, 16) - now }
      })
      yield* TestClock.adjust("10 seconds")
      while ((yield* remaining).left <= 3_000) yield* TestClock.adjust("500 millis")
      const { now, probedAt, left } = yield* remaining
      // The 15 others end.
      yield* Effect.forEach(fibers.slice(1), Fiber.interrupt)
      yield* TestClock.adjust(left)
      const next = probes.get("c0")!.find((time) => time > probedAt)!
      // Recomputed as the waits fall to 8, 4, 2 and 1, its pause ends within a second (a pause that
      // short is not cut again), not `left` later.
      assert.isAtMost(next - now, 1_000)
      yield* Fiber.interrupt(fibers[0]!)
    })
  )

  it.effect(
    "a crowd learns per cohort: once one of a cohort was ready after 8 s, the next crowded one first probes 4 s in",
    () =>
      Effect.gen(function* () {
        // Only `first` is ever ready, 8 s in.
        const recording = recordingProbe((endpoint, now) => endpoint.name === "first" && now >= 8_000)
        const client = yield* Effect.provide(ProcessorClient, recording.client)
        const wait = (name: string, cohort?: string) =>
          Effect.fork(
            client.waitReady({ name, url: "http://127.0.0.1:1000" }, { deadline: "1 minute", cohort })
          )
        const firstProbe = (name: string) => recording.probes.get(name)?.[0]

        const first = yield* wait("first", "processor app")
        const peer = yield* wait("peer", "processor app")
        yield* TestClock.adjust("10 seconds")
        const { elapsedMillis } = yield* Fiber.join(first)
        assert.isAtLeast(elapsedMillis, 8_000)

        // At 10 s, with `peer` still waiting: a crowd of four.
        const sameCohort = yield* wait("same", "processor app")
        const otherCohort = yield* wait("other", "plugin app")
        const noCohort = yield* wait("none")
        yield* TestClock.adjust("10 seconds")
        assert.strictEqual(firstProbe("other"), 10_000)
        assert.strictEqual(firstProbe("none"), 10_000)
        const same = firstProbe("same")!
        assert.isAtLeast(same, 10_000 + elapsedMillis / 2)
        // A pause over a second ends on the 250 ms grid.
        assert.isAtMost(same, 10_000 + elapsedMillis / 2 + 250)

        // A wait whose crowd thins out to itself probes at once, whatever its cohort learnt...
        const late = yield* wait("late", "processor app")
        yield* TestClock.adjust("1 second")
        assert.isUndefined(firstProbe("late"))
        yield* Effect.forEach([peer, sameCohort, otherCohort, noCohort], Fiber.interrupt)
        yield* TestClock.adjust("1 millis")
        assert.strictEqual(firstProbe("late"), 21_000)
        // ...and once no wait is left, the client forgets it: a new crowd probes at once.
        yield* Fiber.interrupt(late)
        const beside = yield* wait("beside", "processor app")
        const again = yield* wait("again", "processor app")
        yield* TestClock.adjust("1 millis")
        assert.strictEqual(firstProbe("again"), 21_001)
        yield* Effect.forEach([again, beside], Fiber.interrupt)
      })
  )

  it.effect(
    "before any of a cohort is ready, a wait that joins it 6 s after its oldest first probes 3 s in",
    () =>
      Effect.gen(function* () {
        const recording = recordingProbe(() => false)
        const client = yield* Effect.provide(ProcessorClient, recording.client)
        const wait = (name: string, cohort: string) =>
          Effect.fork(
            client.waitReady({ name, url: "http://127.0.0.1:1000" }, { deadline: "1 minute", cohort })
          )
        const oldest = yield* wait("oldest", "processor app")
        yield* TestClock.adjust("6 seconds")
        const joiner = yield* wait("joiner", "processor app")
        const stranger = yield* wait("stranger", "plugin app")
        yield* TestClock.adjust("4 seconds")
        assert.strictEqual(recording.probes.get("oldest")![0], 0)
        assert.strictEqual(recording.probes.get("stranger")![0], 6_000)
        const first = recording.probes.get("joiner")![0]!
        // 6 s + 3 s, on the 250 ms grid.
        assert.isAtLeast(first, 9_000)
        assert.isAtMost(first, 9_250)
        yield* Effect.forEach([oldest, joiner, stranger], Fiber.interrupt)
      })
  )

  // The same on the live clock, where a pause is a plain timer rather than a race of fibers: 16
  // waits for ~10 s of real time, so that c0 is in a pause of over 3 s when the others end.
  it.live(
    "on the live clock too, a long pause is cut short when the others end",
    () =>
      Effect.gen(function* () {
        const { probes, fibers } = yield* waitMany(16, { readyAt: () => false, deadline: "5 minutes" })
        const remaining = Effect.map(Clock.currentTimeMillis, (now) => {
          const probedAt = probes.get("c0")!.at(-1)!
          return { now, probedAt, left: probedAt + nextProbeDelayMillis(probedAt - start, 16) - now }
        })
        const start = yield* Clock.currentTimeMillis
        yield* Effect.sleep("9 seconds")
        while ((yield* remaining).left <= 3_000) yield* Effect.sleep("100 millis")
        const { now, probedAt, left } = yield* remaining
        yield* Effect.forEach(fibers.slice(1), Fiber.interrupt)
        // Well before the pause would have ended: a second, plus room for a loaded machine.
        yield* Effect.repeat(
          Effect.sync(() => probes.get("c0")!.some((time) => time > probedAt)),
          { schedule: Schedule.spaced("20 millis"), until: (probed) => probed }
        ).pipe(Effect.timeout(left))
        const next = probes.get("c0")!.find((time) => time > probedAt)!
        assert.isBelow(
          next - now,
          left - 1_000,
          `probed ${next - now} ms later, the pause had ${left} ms to go`
        )
        yield* Fiber.interrupt(fibers[0]!)
      }),
    60_000
  )
})
