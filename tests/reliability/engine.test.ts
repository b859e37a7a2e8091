/**
 * Engine faults. No engine at start: `armada run --engine docker` ends with exit code 3 and a
 * message saying where it looked, within 2 s. The engine stopped in the middle of a run: the suite
 * starts a Docker engine of its own (its own data root, exec root, pid file, socket and bridge, no
 * iptables), loads the test image into it, kills that engine by its pid while the run's
 * containers wait to be ready, and every affected item must fail with a typed error within its
 * timeout. Once the engine is back, `armada clean` removes what the run left. Then the same engine
 * is frozen (SIGSTOP) while the run creates and starts its containers: an engine that accepts
 * requests and never answers them, as a hung containerd makes it; the items must fail within the
 * request timeout, creates and starts included, which armada does not abort on interruption.
 * Finally the engine is stopped by its pid and its folders removed.
 */
import { type ChildProcess, exec, execFileSync, spawn } from "node:child_process"
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs"
import { createServer, type Server } from "node:net"
import { join } from "node:path"
import { promisify } from "node:util"
import { Orchestrator, type OrchestratorError, Progress } from "@armada/orchestrator"
import { Engine, TestImage } from "@armada/testkit"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Option } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as H from "./harness.js"
import * as Report from "./report.js"

const noEngineRows: Array<ReadonlyArray<string | number>> = []
const stoppedRows: Array<ReadonlyArray<string | number>> = []
const stopped = {
  status: "not run",
  killAfterMillis: 0,
  failedAfterKillMillis: 0,
  leftBeforeClean: 0,
  cleanExit: -1,
  leftAfterClean: -1
}
const frozenRows: Array<ReadonlyArray<string | number>> = []
const frozen = {
  status: "not run",
  frozenAfterMillis: 0,
  failedAfterFreezeMillis: 0,
  leftBeforeClean: 0,
  cleanExit: -1,
  leftAfterClean: -1
}
/**
 * The request timeout of the frozen-engine run: the requests before the freeze must finish within
 * it on a busy machine too.
 */
const frozenRequestTimeout = Duration.seconds(10)
let work = ""

afterAll(() => {
  H.cleanup(work)
  Report.save("engine", {
    title: "Engine faults",
    how:
      "No engine: the built `armada run --engine docker --json` with `DOCKER_HOST` at a refused port, a missing socket, and a socket that accepts but never answers. Engine stopped mid-run: a second `dockerd` started by the test (own `--data-root`, `--exec-root`, `--pidfile`, `-H unix://…`, `--bridge=` a bridge of its own on a free 10.x.0.0/24, `--iptables=false`), the test image loaded into it with `docker save | docker load`, a library run of four processors that listen only after 60 s (ready timeout 8 s), and that `dockerd` killed with SIGKILL by its pid once every container has started. Engine frozen: the same `dockerd`, restarted, gets SIGSTOP by its pid once the run has created two of its eight containers, so the requests in flight and all later ones get no answer; request timeout " +
      Duration.format(frozenRequestTimeout) +
      "; SIGCONT after the run.",
    figures: [
      `no engine: ${noEngineRows.length} cases, every one exit 3 with the address in the message`,
      `engine stopped mid-run: ${stopped.status}`,
      ...(stopped.status === "ran"
        ? [
            `killed ${stopped.killAfterMillis} ms into the run; the run ended ${stopped.failedAfterKillMillis} ms later with every item failed (table below)`,
            `after a restart of the engine: ${stopped.leftBeforeClean} labelled resources left by the killed run; \`armada clean --session …\` exited ${stopped.cleanExit}; left after it: ${stopped.leftAfterClean}`
          ]
        : []),
      `engine frozen mid-start: ${frozen.status}`,
      ...(frozen.status === "ran"
        ? [
            `frozen ${frozen.frozenAfterMillis} ms into the run; the run ended ${frozen.failedAfterFreezeMillis} ms later with every item failed (table below)`,
            `after SIGCONT: ${frozen.leftBeforeClean} labelled resources left; \`armada clean --session …\` exited ${frozen.cleanExit}; left after it: ${frozen.leftAfterClean}`
          ]
        : [])
    ],
    tables: [
      {
        title: "No engine at start",
        columns: ["DOCKER_HOST", "command", "exit", "time", "message"],
        rows: noEngineRows
      },
      {
        title: "Engine killed mid-run",
        columns: ["stage", "item", "typed error", "message"],
        rows: stoppedRows
      },
      {
        title: "Engine frozen mid-start",
        columns: ["stage", "item", "typed error", "message"],
        rows: frozenRows
      }
    ]
  })
}, 60_000)

beforeAll(() => {
  work = H.scratch("engine")
})

describe("reliability: no engine at start", () => {
  beforeAll(() => {
    H.requireBin()
  })

  /** A socket that accepts connections and never answers. */
  const silent = () =>
    Effect.acquireRelease(
      Effect.async<Server>((resume) => {
        const server = createServer(() => {})
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) => Effect.sync(() => server.close())
    )

  it.scoped(
    "exit 3 with a message naming the address, within 2 s",
    () =>
      Effect.gen(function* () {
        const server = yield* silent()
        const address = server.address()
        const silentHost = `tcp://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
        const spec = H.specFile(H.writeTree(join(work, "spec"), { "template/a.txt": "a\n" }), {
          template: join(work, "spec", "template"),
          processors: [{ id: "p", image: H.image }]
        })
        // The bounds are beyond the same run with a broken spec, which stops just before it looks
        // for the engine (twice it: a busy machine varies from one run to the next).
        const broken = H.specFile(H.writeTree(join(work, "broken"), {}), {
          template: join(work, "spec", "template"),
          processors: [{ id: "p", image: "Not An Image" }]
        })
        const before = yield* Effect.promise(() =>
          H.cliMillis(H.bin, ["run", broken, "--engine", "docker", "--json"])
        )
        const cases = [
          { host: "tcp://127.0.0.1:1", why: /connection refused/, bound: 2000 },
          { host: `unix://${join(work, "missing.sock")}`, why: /the socket does not exist/, bound: 2000 },
          // The ping waits 1.5 s for an answer.
          { host: silentHost, why: /no answer within/, bound: 5000 }
        ]
        for (const c of cases) {
          for (const args of [
            ["run", spec],
            ["clean", "--all"]
          ]) {
            const run = H.armada([...args, "--engine", "docker", "--json"], { DOCKER_HOST: c.host })
            const exit = yield* Effect.promise(() => run.exit)
            const result = run.result()
            assert.strictEqual(exit.code, 3, run.stdout())
            assert.strictEqual(result.outcome, "engine-unreachable")
            assert.include(result.error?.reason ?? "", `cannot reach the Docker engine at ${c.host}`)
            assert.match(result.error?.reason ?? "", c.why)
            assert.isBelow(
              exit.millis,
              c.bound + 2 * before,
              `${c.host}: ${exit.millis} ms (the same run with a broken spec: ${before} ms)`
            )
            noEngineRows.push([
              c.host,
              `armada ${args[0]}`,
              exit.code,
              `${exit.millis} ms`,
              result.error?.reason ?? ""
            ])
          }
        }
      }),
    600_000
  )
})

// ---------------------------------------------------------------------------------------------
// A Docker engine of the test's own.

/** Why a second engine cannot run here, if it cannot. */
const cannotRunSecondEngine = (): string | undefined => {
  if (Engine.skipWithoutEngine("reliability: engine stopped mid-run"))
    return "no Docker engine to load the image from"
  if (process.getuid?.() !== 0) return "starting dockerd and a bridge needs root"
  for (const [binary, args] of [
    ["dockerd", ["--version"]],
    ["ip", ["-V"]]
  ] as const) {
    try {
      execFileSync(binary, args, { stdio: "ignore" })
    } catch {
      return `no ${binary} binary on the PATH`
    }
  }
  return undefined
}

const reason = cannotRunSecondEngine()
if (reason !== undefined && Engine.isCI())
  throw new Error(`CI=true but a second engine cannot run: ${reason}`)

/**
 * The test's engine lives in the host's network namespace (its published ports must answer on
 * the host's 127.0.0.1) but touches nothing of the main engine's: a bridge of its own and no
 * iptables, masquerading or ip_forward changes. Two dockerd options delete the host's `docker0`,
 * the main engine's bridge, and are avoided: `--bridge=none` (at every start), and
 * `--default-address-pool` (when it restarts with its bridge network stored). The afterAll checks
 * that `docker0` is as the test found it.
 */
interface Daemon {
  readonly root: string
  readonly host: string
  /** Its default bridge, made by the test: at most 15 characters. */
  readonly bridge: string
  /** The bridge's address and subnet. */
  readonly bridgeCidr: string
  child: ChildProcess | undefined
}

const ip = (...args: ReadonlyArray<string>) => execFileSync("ip", args, { encoding: "utf8" })

/** The host's IPv4 routes' destinations, to keep the test's subnets clear of them. */
const routedPrefixes = (): Array<string> =>
  ip("-4", "route")
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((destination) => /^\d+\.\d+\./.test(destination))

/** The first and last address of a CIDR block, as numbers. */
const rangeOf = (cidr: string): readonly [number, number] => {
  const [address = "", bits = "32"] = cidr.split("/")
  const value = address.split(".").reduce((total, octet) => total * 256 + Number(octet), 0)
  const size = 2 ** (32 - Number(bits))
  const start = value - (value % size)
  return [start, start + size - 1]
}

const overlaps = (a: string, b: string): boolean => {
  const [a0, a1] = rangeOf(a)
  const [b0, b1] = rangeOf(b)
  return a0 <= b1 && b0 <= a1
}

/** A 10.x.0.0/24 for the bridge that no route of the host overlaps. */
const freeSubnet = (): string => {
  const routes = routedPrefixes()
  for (let x = 213; x < 250; x++) {
    if (!routes.some((route) => overlaps(route, `10.${x}.0.0/24`))) return `10.${x}.0.1/24`
  }
  throw new Error("no free 10.x.0.0/24 for the test's engine")
}

const daemonArgs = (daemon: Daemon) => [
  "--data-root",
  join(daemon.root, "data"),
  "--exec-root",
  join(daemon.root, "exec"),
  "--pidfile",
  join(daemon.root, "docker.pid"),
  "-H",
  daemon.host,
  `--bridge=${daemon.bridge}`,
  "--iptables=false",
  "--ip-masq=false",
  "--ip-forward=false"
]

/** Starts (or restarts) the test's dockerd and waits until it answers. */
const startDaemon = async (daemon: Daemon): Promise<void> => {
  const log = openSync(join(daemon.root, "dockerd.log"), "a")
  daemon.child = spawn("dockerd", daemonArgs(daemon), { stdio: ["ignore", log, log] })
  closeSync(log)
  await H.until(
    () => {
      try {
        H.docker(["info", "--format", "{{.ServerVersion}}"], daemon.host)
        return true
      } catch {
        return false
      }
    },
    "the test's dockerd to answer",
    300_000
  )
}

/** Sends `signal` to the test's dockerd by its pid and waits until it is gone. */
const signalDaemon = async (daemon: Daemon, signal: NodeJS.Signals): Promise<void> => {
  const child = daemon.child
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once("exit", resolve))
  process.kill(child.pid, signal)
  await exited
}

/** The inodes of this process's sockets. */
const ownSockets = (): Set<string> =>
  new Set(
    readdirSync("/proc/self/fd").flatMap((fd) => {
      try {
        const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1]
        return inode === undefined ? [] : [inode]
      } catch {
        return [] // closed meanwhile
      }
    })
  )

/**
 * Whether the test's dockerd is done with every request sent to it (`ss`): no connection waits to
 * be accepted, and every connection it holds is an idle one of this process (a client that gave up
 * has closed its end; the engine closes its own once it has carried the request out).
 */
const idle = (daemon: Daemon): boolean => {
  const socket = daemon.host.replace(/^unix:\/\//, "")
  const ours = ownSockets()
  return execFileSync("ss", ["-xa"], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[4] === socket)
    .every(([, state, pending, , , , , peer]) =>
      state === "LISTEN" ? pending === "0" : ours.has(peer ?? "")
    )
}

/** The processes the test's dockerd left (its containerd, container shims), found by their root. */
const processesUnder = (root: string): Array<number> =>
  execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.includes(root))
    .map((line) => Number(line.trim().split(" ")[0]))
    .filter((pid) => pid !== process.pid)

/** The host interfaces of the test engine: its bridge and those of the networks it made. */
const interfacesOf = (daemon: Daemon): Array<string> => {
  const made =
    daemon.child?.exitCode === null
      ? H.docker(["network", "ls", "-q", "--filter", "driver=bridge"], daemon.host)
      : []
  const links = ip("-o", "link", "show")
    .split("\n")
    .map((line) => line.split(": ")[1]?.split("@")[0] ?? "")
  return links.filter((name) => name === daemon.bridge || made.some((id) => name === `br-${id.slice(0, 12)}`))
}

/**
 * Stops the test's engine by its pid, ends what it left by pid, deletes the interfaces of its
 * subnets, unmounts and removes its folders.
 */
const removeDaemon = async (daemon: Daemon): Promise<void> => {
  const interfaces = interfacesOf(daemon)
  await signalDaemon(daemon, "SIGTERM")
  for (const pid of processesUnder(daemon.root)) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // gone meanwhile
    }
  }
  for (const name of new Set([...interfaces, daemon.bridge])) {
    try {
      ip("link", "del", name)
    } catch {
      // already gone
    }
  }
  const mounts = readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1] ?? "")
    .filter((mount) => mount.startsWith(daemon.root))
    .sort()
    .reverse()
  for (const mount of mounts) execFileSync("umount", [mount])
  rmSync(daemon.root, { recursive: true, force: true })
}

describe.skipIf(reason !== undefined)(
  `reliability: engine stopped mid-run${reason === undefined ? "" : ` [skipped outside CI: ${reason}]`}`,
  () => {
    const daemon: Daemon = { root: "", host: "", bridge: "", bridgeCidr: "", child: undefined }

    /** The main engine's bridge as the test found it: the test's engine must leave it alone. */
    let docker0 = ""
    const hostBridge = () => {
      try {
        return ip("-o", "link", "show", "docker0").split(":").slice(0, 2).join(":")
      } catch {
        return "absent"
      }
    }

    beforeAll(async () => {
      TestImage.ensureTestAppImage()
      docker0 = hostBridge()
      const root = H.scratch("dockerd")
      const bridge = `${H.prefix.slice(0, 8)}br${H.prefix.slice(8, 12)}`
      Object.assign(daemon, {
        root,
        host: `unix://${join(root, "docker.sock")}`,
        bridge,
        bridgeCidr: freeSubnet()
      })
      ip("link", "add", bridge, "type", "bridge")
      ip("addr", "add", daemon.bridgeCidr, "dev", bridge)
      ip("link", "set", bridge, "up")
      await startDaemon(daemon)
      // Not synchronous: on a busy machine the copy can block the test worker long enough for
      // vitest to lose it.
      await promisify(exec)(`docker save ${H.image} | docker -H ${daemon.host} load -q`, { timeout: 240_000 })
    }, 300_000)

    afterAll(async () => {
      if (daemon.root !== "") {
        if (daemon.child?.exitCode === null) H.sweep(daemon.host)
        await removeDaemon(daemon)
        assert.isFalse(existsSync(daemon.root))
        assert.deepStrictEqual(processesUnder(daemon.root), [])
        assert.notInclude(
          ip("-o", "link", "show")
            .split("\n")
            .map((line) => line.split(": ")[1]?.split("@")[0] ?? ""),
          daemon.bridge,
          "the test engine's bridge remains"
        )
        assert.strictEqual(hostBridge(), docker0, "the main engine's docker0 changed")
      }
    }, 120_000)

    /**
     * A library run of `processors` processors that listen only after 60 s (ready timeout 8 s) on
     * the test's engine; `fault` runs once, at the event `at` accepts (`seen` counts the events
     * of that tag so far). The run must fail with a `StageFailed` within `hangAfter`.
     */
    const runWithFault = (options: {
      readonly name: string
      readonly processors: number
      readonly concurrency?: number
      readonly requestTimeout?: Duration.Duration
      readonly at: (event: Progress.Event, seen: number) => boolean
      readonly fault: () => void
      readonly hangAfter: Duration.Duration
    }) =>
      Effect.gen(function* () {
        const template = H.writeTree(join(work, `${options.name}-template`), { "a.txt": "a\n" })
        const spec = yield* H.specOf({
          template,
          processors: Array.from({ length: options.processors }, (_, i) => ({
            id: `${options.name}${i}`,
            image: H.image,
            env: { ARMADA_FAULT_START_DELAY_MS: "60000" }
          })),
          options: {
            ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
            timeouts: { ready: "8s", call: "3s" }
          }
        })
        const started = Date.now()
        let faultAt = 0
        const seen = new Map<string, number>()
        const exit = yield* Orchestrator.pipeline(spec, { output: join(work, `${options.name}-out`) }).pipe(
          Effect.provide(
            Progress.layer((event) =>
              Effect.sync(() => {
                const count = (seen.get(event._tag) ?? 0) + 1
                seen.set(event._tag, count)
                if (faultAt === 0 && options.at(event, count)) {
                  faultAt = Date.now()
                  options.fault()
                }
              })
            )
          ),
          Effect.provide(H.live(daemon.host, options.requestTimeout)),
          Effect.exit,
          Effect.timeoutFail({
            duration: options.hangAfter,
            onTimeout: () =>
              new Error(`the ${options.name} run hung for ${Duration.format(options.hangAfter)}`)
          })
        )
        const ended = Date.now()
        const pretty = Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "the run succeeded"
        assert.isAbove(faultAt, 0, `the fault never came: ${pretty}`)
        assert.isTrue(Exit.isFailure(exit), "the run succeeded despite its engine")
        const failed: OrchestratorError.StageFailed | undefined = Exit.isFailure(exit)
          ? Option.getOrUndefined(Cause.failureOption(exit.cause))
          : undefined
        assert.isDefined(failed, pretty)
        return { spec, failed: failed!, started, faultAt, ended }
      })

    /** `armada clean --session` on the test's engine: it must exit 0 and leave nothing labelled. */
    const cleanSession = (session: string, figures: { cleanExit: number; leftAfterClean: number }) =>
      Effect.gen(function* () {
        const clean = H.armada(
          ["clean", "--session", session, "--prefix", H.prefix, "--engine", "docker", "--json"],
          { DOCKER_HOST: daemon.host }
        )
        figures.cleanExit = (yield* Effect.promise(() => clean.exit)).code
        assert.strictEqual(figures.cleanExit, 0, clean.stdout())
        const after = H.labelled(H.managedLabel, daemon.host)
        figures.leftAfterClean = H.count(after)
        assert.deepStrictEqual(after, H.nothing)
      })

    it.live(
      "every item fails with a typed error within its timeout; once the engine is back, armada clean removes the leftovers",
      () =>
        Effect.gen(function* () {
          const {
            spec,
            failed,
            started,
            faultAt: killedAt,
            ended
          } = yield* runWithFault({
            name: "stopped",
            processors: 4,
            // Mid-run: every container started, every one waiting to be ready.
            at: (event, seen) => event._tag === "ContainerStarted" && seen === 5,
            fault: () => process.kill(daemon.child!.pid!, "SIGKILL"),
            // Far beyond the ready timeout: reaching it would be a hang.
            hangAfter: Duration.seconds(60)
          })
          const typed = new Set([
            "NotReady",
            "Exited",
            "Unreachable",
            "EngineUnreachable",
            "EngineError",
            "Timeout"
          ])
          for (const failure of failed.failures) {
            assert.isTrue(typed.has(failure.cause._tag), failure.message)
            stoppedRows.push([
              failure.stage,
              `${failure.kind}/${failure.id}`,
              failure.cause._tag,
              failure.message
            ])
          }
          // Every processor waited on the engine's containers: each is named.
          assert.includeMembers(
            failed.failures.map((f) => f.id),
            ["stopped0", "stopped1", "stopped2", "stopped3"]
          )
          Object.assign(stopped, {
            status: "ran",
            killAfterMillis: killedAt - started,
            failedAfterKillMillis: ended - killedAt
          })
          // The ready timeout (8 s) bounds it, plus the failed cleanup's requests to a dead socket
          // (refused at once); well below the request timeout (30 s) that a hang on them would take.
          assert.isBelow(ended - killedAt, 25_000)

          // The engine is back: what the run could not remove is still there, and clean removes it.
          yield* Effect.promise(() => startDaemon(daemon))
          const left = H.labelled(H.managedLabel, daemon.host)
          stopped.leftBeforeClean = H.count(left)
          assert.isAbove(left.containers.length, 0, "the killed engine's containers should be left")
          yield* cleanSession(spec.session, stopped)
        }),
      300_000
    )

    it.live(
      "a frozen engine: every item fails within the request timeout, creates and starts included; after SIGCONT armada clean removes the leftovers",
      () =>
        Effect.gen(function* () {
          // The previous test leaves the engine running; on its own, this one starts it.
          if (daemon.child?.exitCode !== null || daemon.child.signalCode !== null) {
            yield* Effect.promise(() => startDaemon(daemon))
          }
          const pid = daemon.child!.pid!
          const {
            spec,
            failed,
            started,
            faultAt: frozenAt,
            ended
          } = yield* runWithFault({
            name: "frozen",
            processors: 8,
            concurrency: 4,
            requestTimeout: frozenRequestTimeout,
            // Creates and starts are in flight: the ones armada lets finish even when interrupted.
            at: (event, seen) => event._tag === "ContainerCreated" && seen === 2,
            fault: () => process.kill(pid, "SIGSTOP"),
            // Far beyond what the request timeouts add up to: reaching it would be a hang.
            hangAfter: Duration.times(frozenRequestTimeout, 24)
          }).pipe(Effect.ensuring(Effect.sync(() => process.kill(pid, "SIGCONT"))))
          for (const failure of failed.failures) {
            assert.oneOf(failure.cause._tag, ["EngineError", "EngineUnreachable", "NotReady", "Timeout"])
            frozenRows.push([
              failure.stage,
              `${failure.kind}/${failure.id}`,
              failure.cause._tag,
              failure.message
            ])
          }
          // Frozen while creating: the start stage fails, and every processor is named in it.
          assert.strictEqual(failed.stage, "start")
          assert.includeMembers(
            failed.failures.map((f) => f.id),
            Array.from({ length: 8 }, (_, i) => `frozen${i}`)
          )
          Object.assign(frozen, {
            status: "ran",
            frozenAfterMillis: frozenAt - started,
            failedAfterFreezeMillis: ended - frozenAt
          })

          // Requests the client gave up on wait in the socket's backlog and the thawed engine may
          // still carry them out: wait until it has, then clean.
          yield* Effect.promise(() =>
            H.until(() => idle(daemon), "the thawed engine to finish the requests it was sent", 120_000)
          )
          const left = H.labelled(H.managedLabel, daemon.host)
          frozen.leftBeforeClean = H.count(left)
          yield* cleanSession(spec.session, frozen)
        }),
      480_000
    )
  }
)

describe.skipIf(Engine.skipWithoutEngine("reliability: engine faults"))("reliability: engine faults", () => {
  it(`leaves nothing labelled ${H.managedLabel}`, () => {
    H.assertNothingLeft()
  })
})
