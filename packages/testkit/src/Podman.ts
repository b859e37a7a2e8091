/**
 * Podman's Docker-compatible API for tests (Debian's `podman`): `podman system service` on a
 * socket of the test's own, with its storage, run state and network configs in a temp folder, so
 * it shares nothing with a Podman the machine may have. Images come from the Docker engine
 * (`docker save` → load through the Podman socket), since tests use no outside registry.
 *
 * Rootful Podman with CNI leaves things on the host that no flag moves into the temp folder:
 * bridges (`cni-podman*`), iptables chains and rules (`CNI-*`), IPAM state under
 * `/var/lib/cni`, a cache under `/var/lib/containers`, and `/run/netns` (mounted on itself) when it
 * was not there. The fixture notes what existed before it started and removes what appeared since,
 * once the service is stopped (by its PID) and every container of its store is removed; then the
 * temp folder goes.
 *
 * One workaround is needed on machines whose hard limits are below Podman's defaults (a
 * sandbox): rootful Podman gives containers `nofile` and `nproc` limits above what the service
 * itself may set, and every start fails with "error setting rlimit … operation not permitted".
 * The service's `containers.conf` sets the defaults to the limits it inherits.
 *
 * @since 0.2.0
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect, Option, type Scope } from "effect"
import { daemon, FixtureError, pings, run, skipWithoutTools, tempDir, writeFile } from "./internal/daemon.js"
import * as HostFiles from "./internal/hostFiles.js"

export { FixtureError }

const fixture = "Podman"

/**
 * @since 0.2.0
 * @category constants
 */
export const tools = { podman: "/usr/bin/podman" } as const

/**
 * @since 0.2.0
 * @category models
 */
export interface Podman {
  /** `unix://<temp>/podman.sock`. */
  readonly host: string
  readonly socket: string
  /** The service's PID. */
  readonly pid: number
  /** Runs the podman CLI on this service's store (`podman --root … args`). */
  readonly cli: (args: ReadonlyArray<string>) => Effect.Effect<string, FixtureError>
}

/**
 * Why Podman tests cannot run here, if they cannot.
 *
 * @since 0.2.0
 * @category getters
 */
export const missingTools = (): Option.Option<string> =>
  fs.existsSync(tools.podman)
    ? Option.none()
    : Option.some(`${tools.podman} is missing; install it with \`apt-get install -y podman\``)

/**
 * True when the tests must be skipped (Podman missing, not in CI); throws in CI.
 *
 * @since 0.2.0
 * @category getters
 */
export const skipWithoutPodman = (suite: string): boolean => skipWithoutTools(suite, missingTools())

/** The hard limits this process has (and so the service), from /proc/self/limits. */
const hardLimit = (name: string): number | undefined => {
  const line = fs
    .readFileSync("/proc/self/limits", "utf8")
    .split("\n")
    .find((row) => row.startsWith(name))
  const hard = line?.slice(26).trim().split(/\s+/)[1]
  return hard === undefined || hard === "unlimited" ? undefined : Number(hard)
}

const containersConf = (): string => {
  const pidMax = Number(fs.readFileSync("/proc/sys/kernel/pid_max", "utf8").trim())
  const nofile = hardLimit("Max open files")
  const nproc = Math.min(hardLimit("Max processes") ?? pidMax, pidMax)
  const limits = [
    ...(nofile === undefined ? [] : [`"nofile=${nofile}:${nofile}"`]),
    `"nproc=${nproc}:${nproc}"`
  ]
  return `[containers]\ndefault_ulimits = [${limits.join(", ")}]\n`
}

/** Host folders where rootful Podman and CNI keep state whatever the flags say. */
const hostFolders = ["/var/lib/cni", "/var/lib/containers", "/run/netns", "/run/containers"]

/**
 * Whether a file that appeared in `hostFolders` is Podman's: in `/run/netns`, only CNI's own
 * namespaces (`cni-<id>`), so a namespace another program made meanwhile (the Swarm fixture's)
 * is left alone.
 */
const isPodmans = (file: string): boolean =>
  path.dirname(file) !== "/run/netns" || path.basename(file).startsWith("cni-")

const listTree = (root: string): Array<string> => {
  if (!fs.existsSync(root)) return []
  const found = [root]
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    const full = path.join(root, entry.name)
    if (entry.isDirectory()) found.push(...listTree(full))
    else found.push(full)
  }
  return found
}

const cniRule = /CNI-|cni-podman/

const iptablesLines = (table: "filter" | "nat") =>
  run(fixture, `list iptables -t ${table}`, "iptables", ["-t", table, "-S"]).pipe(
    Effect.map(({ stdout }) => stdout.split("\n").filter((line) => cniRule.test(line))),
    Effect.orElseSucceed((): Array<string> => [])
  )

const cniLinks = run(fixture, "list links", "ip", ["-o", "link", "show"]).pipe(
  Effect.map(({ stdout }) =>
    stdout
      .split("\n")
      .map((line) => /^\d+: (cni-podman\d+)[:@]/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined)
  ),
  Effect.orElseSucceed((): Array<string> => [])
)

interface HostState {
  readonly files: ReadonlySet<string>
  readonly links: ReadonlySet<string>
  readonly filter: ReadonlySet<string>
  readonly nat: ReadonlySet<string>
}

const hostState: Effect.Effect<HostState> = Effect.gen(function* () {
  return {
    files: new Set(hostFolders.flatMap(listTree)),
    links: new Set(yield* cniLinks),
    filter: new Set(yield* iptablesLines("filter")),
    nat: new Set(yield* iptablesLines("nat"))
  }
})

/** A clean-up step that goes on when it fails, saying so. */
const attempt = <A>(effect: Effect.Effect<A, FixtureError>) =>
  effect.pipe(Effect.catchAll((error) => Effect.logWarning(error.message)))

/** Removes what CNI and Podman left on the host since `before`: rules, then chains, links, files. */
const restoreHost = (before: HostState) =>
  Effect.gen(function* () {
    for (const table of ["filter", "nat"] as const) {
      const added = (yield* iptablesLines(table)).filter((line) => !before[table].has(line))
      for (const rule of added.filter((line) => line.startsWith("-A "))) {
        yield* attempt(
          run(fixture, "remove an iptables rule", "iptables", [
            "-t",
            table,
            "-D",
            ...splitRule(rule.slice(3))
          ])
        )
      }
      for (const chain of added.filter((line) => line.startsWith("-N ")).map((line) => line.slice(3))) {
        yield* attempt(run(fixture, "flush an iptables chain", "iptables", ["-t", table, "-F", chain]))
        yield* attempt(run(fixture, "remove an iptables chain", "iptables", ["-t", table, "-X", chain]))
      }
    }
    for (const link of (yield* cniLinks).filter((name) => !before.links.has(name))) {
      yield* attempt(run(fixture, `remove the bridge ${link}`, "ip", ["link", "delete", link]))
    }
    const added = hostFolders.flatMap(listTree).filter((file) => !before.files.has(file) && isPodmans(file))
    for (const file of added.sort((a, b) => b.length - a.length)) {
      yield* HostFiles.remove(fixture, file)
    }
  })

/** `iptables -S` quotes comments; split a rule into arguments the way a shell would. */
const splitRule = (rule: string): Array<string> =>
  (rule.match(/"[^"]*"|\S+/g) ?? []).map((word) => word.replace(/^"(.*)"$/, "$1"))

/**
 * Starts the service and loads `images` (present on the Docker engine) into its store.
 *
 * @since 0.2.0
 * @category constructors
 */
export const start = (
  options: { readonly images?: ReadonlyArray<string> } = {}
): Effect.Effect<Podman, FixtureError, Scope.Scope> =>
  Effect.gen(function* () {
    const dir = yield* tempDir(fixture, "podman")
    const socket = path.join(dir, "podman.sock")
    const conf = path.join(dir, "containers.conf")
    yield* writeFile(fixture, conf, containersConf())
    const env = { ...process.env, CONTAINERS_CONF: conf }
    const storeFlags = [
      "--root",
      path.join(dir, "root"),
      "--runroot",
      path.join(dir, "run"),
      "--tmpdir",
      path.join(dir, "tmp"),
      "--network-config-dir",
      path.join(dir, "networks")
    ]
    const cli = (args: ReadonlyArray<string>) =>
      run(fixture, `podman ${args.join(" ")}`, tools.podman, [...storeFlags, ...args], { env }).pipe(
        Effect.map(({ stdout }) => stdout)
      )

    const before = yield* hostState
    yield* Effect.addFinalizer(() => restoreHost(before))
    // Runs once the service has stopped: what a failed test left running goes with the store.
    yield* Effect.addFinalizer(() =>
      Effect.all(
        [
          attempt(cli(["rm", "--all", "--force", "--time", "0"])),
          attempt(cli(["network", "prune", "--force"]))
        ],
        {
          discard: true
        }
      )
    )
    const service = yield* daemon(
      fixture,
      tools.podman,
      [...storeFlags, "system", "service", "--time=0", `unix://${socket}`],
      {
        env,
        ready: pings(socket)
      }
    )

    const images = options.images ?? []
    if (images.length > 0) {
      const archive = path.join(dir, "images.tar")
      yield* run(fixture, "save the images from Docker", "docker", ["save", "-o", archive, ...images])
      yield* run(fixture, "load the images into Podman", "docker", [
        "-H",
        `unix://${socket}`,
        "load",
        "-i",
        archive
      ])
      fs.rmSync(archive)
    }
    return { host: `unix://${socket}`, socket, pid: service.pid, cli }
  })
