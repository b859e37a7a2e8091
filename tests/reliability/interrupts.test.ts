/**
 * Interrupts: 30 runs of a 16-processor pipeline, each stopped after a random delay (seeded, so
 * a failure can be replayed) — half by SIGINT to the `armada` process, half by interrupting the
 * pipeline's fiber through the library. Every processor hangs on its call, so the interrupt is
 * always what ends a run, in whatever stage it lands. After each run nothing labelled with its
 * session remains and no process it started is alive. Then a run killed with SIGKILL leaves its
 * resources, and `armada clean --all` removes them completely.
 */
import { join } from "node:path"
import { Parallel } from "@armada/core"
import { Orchestrator, Progress, type Spec } from "@armada/orchestrator"
import { Engine, TestImage } from "@armada/testkit"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Random, Schedule } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as H from "./harness.js"
import * as Report from "./report.js"

const seed = 20261129
const runs = 30
/**
 * Where each run's delay counts from, and its bound: half the runs from their start (so the
 * interrupt lands in warm or start), half from the moment their process stage began (so it lands
 * among the processors' calls in flight). Delays are drawn uniformly from [0, bound).
 */
const anchors = {
  start: { bound: 8000, label: "after start" },
  process: { bound: 2000, label: "after the process stage began" }
} as const
type Anchor = keyof typeof anchors
/** Runs 0, 1 count from the start; 2, 3 from the process stage; and so on. */
const anchorOf = (index: number): Anchor => (index % 4 < 2 ? "start" : "process")
const processors = 16

interface Outcome {
  readonly index: number
  readonly via: "SIGINT (cli)" | "fiber (library)"
  readonly session: string
  readonly delay: number
  readonly anchor: Anchor
  /** The stage the run was in when the interrupt came. */
  readonly stage: string
  /** The exit code, or the library's exit. */
  readonly ended: string
  /** From the interrupt to the end of the run (its cleanup included). */
  readonly stopMillis: number
  readonly leftovers: number
  readonly processes: number
  readonly problems: ReadonlyArray<string>
}

const outcomes: Array<Outcome> = []
const orphans: Array<string> = []
/** Orphaned docker-proxy processes the engine had before this file ran: not the runs' doing. */
let orphansBefore: ReadonlyArray<string> = []
const killed = { before: H.nothing, cleanExit: -1, after: H.nothing, containersBefore: 0 }
let work = ""
let template = ""

const input = (session: string) => ({
  session,
  templateId: session,
  template,
  processors: Array.from({ length: processors }, (_, i) => ({
    id: `p${i}`,
    image: H.image,
    env: { ARMADA_FAULT_HANG: "1" },
    globs: [{ glob: "**", type: "copy" }]
  })),
  plugins: [],
  // Ready: room for three runs of 16 containers starting at once on a busy 2-core machine, so no run
  // ends on its own before its interrupt (a run that never reaches its process stage is no case).
  options: { timeouts: { ready: "300s", call: "60s" } }
})

const leftoversOf = (session: string, problems: Array<string>): number => {
  const left = H.labelled(H.sessionLabel(session))
  if (H.count(left) > 0) problems.push(`left behind: ${JSON.stringify(left)}`)
  return H.count(left)
}

/** `armada run` in a child process, stopped with SIGINT `delay` ms after its anchor. */
const viaCli = (index: number, delay: number, anchor: Anchor): Effect.Effect<Outcome> =>
  Effect.promise(async () => {
    const problems: Array<string> = []
    const session = H.sessionId()
    const dir = H.writeTree(join(work, `cli-${index}`), {})
    const run = H.armada(["run", H.specFile(dir, input(session)), "--engine", "docker", "--json"])
    if (anchor === "process") {
      await H.until(() => run.stdout().includes('"stage":"process"'), "the process stage", 360_000)
    }
    await new Promise((resolve) => setTimeout(resolve, delay))
    const children = H.descendants(run.pid)
    const interrupted = Date.now()
    run.child.kill("SIGINT")
    const exit = await run.exit
    const events = run
      .stdout()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { _tag: string; stage?: string; outcome?: string })
    const before = events.slice(
      0,
      events.findIndex((event) => event._tag === "Interrupting")
    )
    const stage =
      events.length === 0
        ? "CLI still loading"
        : (before.filter((event) => event._tag === "ItemStarted").at(-1)?.stage ?? "before warm")
    if (exit.code !== 130) {
      const failed = events
        .filter((event) => event._tag === "ItemFailed")
        .map((event) => JSON.stringify(event))
      problems.push(`exit ${exit.code}, expected 130: ${failed.join("; ")} ${run.stderr()}`)
    }
    const last = events.at(-1)
    // A SIGINT that comes while Node is still loading the CLI ends it the default way: no output.
    const loading = events.length === 0 && exit.code === 130
    if (!loading && (last?._tag !== "Result" || last.outcome !== "interrupted")) {
      problems.push(`the last line is not an interrupted Result: ${run.stdout().slice(-600)}`)
    }
    const alive = [run.pid, ...children].filter(H.isAlive)
    if (alive.length > 0) problems.push(`processes still alive: ${alive.join(", ")}`)
    return {
      index,
      via: "SIGINT (cli)",
      session,
      delay,
      anchor,
      stage,
      ended: `exit ${exit.code}`,
      stopMillis: Date.now() - interrupted,
      leftovers: leftoversOf(session, problems),
      processes: alive.length,
      problems
    }
  })

/** `Orchestrator.pipeline` forked, its fiber interrupted `delay` ms after its anchor. */
const viaLibrary = (index: number, delay: number, anchor: Anchor): Effect.Effect<Outcome> =>
  Effect.gen(function* () {
    const problems: Array<string> = []
    // The CLI runs going on beside this one are children of this process too.
    const theirs = () => new Set([...H.cliPids].flatMap((pid) => [pid, ...H.descendants(pid)]))
    const baseline = new Set([...H.descendants(process.pid), ...theirs()])
    const spec: Spec.Spec = yield* H.specOf(input(H.sessionId()))
    const started: Array<string> = []
    const fiber = yield* Orchestrator.pipeline(spec, { output: join(work, `out-${index}`) }).pipe(
      Effect.provide(
        Progress.layer((event) =>
          Effect.sync(() => event._tag === "StageStarted" && started.push(event.stage))
        )
      ),
      Effect.provide(H.live()),
      Effect.fork
    )
    if (anchor === "process") {
      yield* Effect.repeat(
        Effect.sync(() => started.includes("process")),
        Schedule.intersect(
          Schedule.recurWhile((reached: boolean) => !reached),
          Schedule.spaced("20 millis")
        ).pipe(Schedule.upTo("360 seconds"))
      )
    }
    yield* Effect.sleep(Duration.millis(delay))
    const stage = started.at(-1) ?? "before warm"
    const [took, exit] = yield* Effect.timed(Fiber.interrupt(fiber))
    if (!Exit.isInterrupted(exit)) problems.push(`the run ended on its own: ${JSON.stringify(exit)}`)
    const cli = theirs()
    const spawned = H.descendants(process.pid).filter((pid) => !baseline.has(pid) && !cli.has(pid))
    if (spawned.length > 0) problems.push(`processes left: ${spawned.join(", ")}`)
    return {
      index,
      via: "fiber (library)",
      session: spec.session,
      delay,
      anchor,
      stage,
      ended: Exit.isInterrupted(exit) ? "interrupted" : "not interrupted",
      stopMillis: Math.round(Duration.toMillis(took)),
      leftovers: leftoversOf(spec.session, problems),
      processes: spawned.length,
      problems
    }
  })

describe.skipIf(Engine.skipWithoutEngine("reliability: interrupts"))("reliability: interrupts", () => {
  beforeAll(async () => {
    H.requireBin()
    TestImage.ensureTestAppImage()
    orphansBefore = await H.orphanProxies()
    work = H.scratch("interrupts")
    template = H.writeTree(join(work, "template"), { "README.md": "# interrupted\n", "src/a.txt": "a\n" })
  }, 300_000)

  afterAll(() => {
    const atEnd = H.finishFile(work)
    const byVia = (via: Outcome["via"]) => outcomes.filter((o) => o.via === via)
    const stages = [...new Set(outcomes.map((o) => o.stage))]
    Report.save("interrupts", {
      title: "Interrupts",
      how: `Real Docker engine; ${processors} processors (each hangs on its call, so only the interrupt ends a run), timeouts ready 300 s / call 60 s, three runs at a time. Each delay is drawn uniformly (effect's \`Random\`, seeded ${seed}) from [0, ${anchors.start.bound}) ms after the run started, or, for every other pair of runs, from [0, ${anchors.process.bound}) ms after its process stage began.`,
      figures: [
        `runs: ${outcomes.length} (${byVia("SIGINT (cli)").length} by SIGINT to \`armada run\`, ${byVia("fiber (library)").length} by \`Fiber.interrupt\`)`,
        `stage when interrupted: ${stages.map((s) => `${s} ${outcomes.filter((o) => o.stage === s).length}`).join(", ")}`,
        `runs not as expected: ${outcomes.filter((o) => o.problems.length > 0).length}`,
        `leftovers found after the runs: ${outcomes.reduce((n, o) => n + o.leftovers, 0)} labelled resources, ${outcomes.reduce((n, o) => n + o.processes, 0)} processes; labelled resources at the end of the file: ${atEnd}`,
        `networks the engine kept (active endpoints, no container; not removable by anyone until dockerd restarts): ${H.engineKept.size}`,
        `docker-proxy processes left without their container after the runs: ${orphans.length} (the engine had ${orphansBefore.length} before them)`,
        `slowest stop (interrupt → cleaned up): ${Math.max(0, ...outcomes.map((o) => o.stopMillis))} ms`,
        `SIGKILL: ${killed.containersBefore} containers, ${killed.before.volumes.length} volumes and ${killed.before.networks.length} network left by the killed run; \`armada clean --all --prefix ${H.prefix}\` exited ${killed.cleanExit}; left after it: ${H.count(killed.after)}`
      ],
      notes: [
        "The prefix's network is sometimes kept by the engine itself: no container attached, and Docker 20.10 refuses to remove it (`has active endpoints`) until dockerd restarts (seen in 3 of about 10 batches while the suite was built, and again in 1 of 5 fresh-clone CI runs after the effect patch; in those runs the engine's log shows port-allocation retries, `Failed to allocate and map port ... address already in use`: Docker picks host ports from the same range the kernel gives to outgoing connections, the readiness probes' included, and on a collision that engine retries and can leak the endpoint). armada's cleanup then reports the network as in use. The suite checks such a network itself (no container attached, and its own removal refused with `has active endpoints`), counts it above and does not count it as armada's leftover; any other leftover fails the file.",
        "The engine itself can stop answering under this much container churn. On this machine's Debian Docker 20.10.24 it happened twice in about fifteen batches: once containerd hung on a task create, once libnetwork deadlocked between a container leaving the network and an endpoint delete (the deadlock fixed upstream by moby/moby#42545, which Debian's 20.10.24 does not carry). armada's requests then fail with a typed `EngineError` after the request timeout (`ARMADA_DOCKER_TIMEOUT`, 30 s) instead of hanging, but each run takes minutes and this file fails with them; the engine has to be restarted."
      ],
      tables: [
        {
          columns: [
            "#",
            "via",
            "delay",
            "stage",
            "ended",
            "stop took",
            "leftovers",
            "processes",
            "as expected"
          ],
          rows: outcomes.map((o) => [
            o.index,
            o.via,
            `${o.delay} ms ${anchors[o.anchor].label}`,
            o.stage,
            o.ended,
            `${o.stopMillis} ms`,
            o.leftovers,
            o.processes,
            o.problems.length === 0 ? "yes" : `NO: ${o.problems.join("; ")}`
          ])
        }
      ]
    })
  }, 120_000)

  it.live(
    "30 interrupted runs leave no labelled container, volume or network and no process",
    () =>
      Effect.gen(function* () {
        const rng = Random.make(seed)
        const delays = yield* Effect.all(
          Array.from({ length: runs }, (_, index) => rng.nextIntBetween(0, anchors[anchorOf(index)].bound))
        )
        const outcome = yield* Parallel.forEachCollect(
          delays,
          (delay, index) =>
            index % 2 === 0
              ? viaCli(index, delay, anchorOf(index))
              : viaLibrary(index, delay, anchorOf(index)),
          { concurrency: 3 }
        )
        assert.deepStrictEqual(
          outcome.failures.map((f) => (f.cause._tag === "Die" ? String(f.cause.defect) : "")),
          []
        )
        outcomes.push(...outcome.successes.map((s) => s.value).sort((a, b) => a.index - b.index))
        assert.deepStrictEqual(
          outcomes.flatMap((o) => o.problems.map((p) => `run ${o.index} (${o.via}, ${o.delay} ms): ${p}`)),
          []
        )
        assert.strictEqual(outcomes.length, runs)
        H.assertNothingLeft()
        const found = yield* Effect.promise(H.orphanProxies)
        orphans.push(...found.filter((proxy) => !orphansBefore.includes(proxy)))
        assert.deepStrictEqual(orphans, [], "docker-proxy processes without their container")
      }),
    // A hang guard: at load ~50 on 2 cores (a CI run beside a benchmark) the 30 runs took over 10 min.
    1_800_000
  )

  it("a run killed with SIGKILL leaves resources that `armada clean --all` removes completely", async () => {
    const session = H.sessionId()
    const dir = H.writeTree(join(work, "killed"), {})
    const run = H.armada(["run", H.specFile(dir, input(session)), "--engine", "docker", "--json"])
    await H.until(
      () => H.labelled(H.sessionLabel(session)).containers.length >= 8,
      "the killed run's first containers"
    )
    const children = H.descendants(run.pid)
    run.child.kill("SIGKILL")
    assert.strictEqual((await run.exit).code, 137)
    assert.deepStrictEqual([run.pid, ...children].filter(H.isAlive), [])
    killed.before = H.labelled(H.managedLabel)
    killed.containersBefore = killed.before.containers.length
    assert.isAtLeast(killed.containersBefore, 8, "a killed run runs no finalizer")
    assert.strictEqual(H.labelled(H.sessionLabel(session)).volumes.length, 2)

    const clean = H.armada(["clean", "--all", "--prefix", H.prefix, "--engine", "docker", "--json"])
    killed.cleanExit = (await clean.exit).code
    assert.strictEqual(killed.cleanExit, 0, clean.stdout() + clean.stderr())
    killed.after = H.armadaLeft(H.labelled(H.managedLabel))
    assert.deepStrictEqual(killed.after, H.nothing)
  }, 180_000)

  it(`leaves nothing labelled ${H.managedLabel}`, () => {
    H.assertNothingLeft()
  })
})
