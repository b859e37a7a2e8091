/**
 * A single-node Docker Swarm of the test's own: a `dockerd` with its own data root, exec root,
 * pid file, socket and `daemon.json` in a temp folder, running in a network namespace of the
 * test's own, so the machine's engine (docker0, the host's iptables `DOCKER` chains, its network
 * store) is never touched and no `docker swarm` command ever reaches it.
 *
 * The namespace is joined to the host by a veth pair on a private /24 the fixture picks among
 * 10.213.0.0/16 (one no host route covers): the host end is `.1`, the daemon's end `.2`, the
 * address the swarm advertises and publishes ports on. The daemon is entered with `nsenter
 * --net` (not `ip netns exec`, which remounts /sys and hides the cgroup mounts dockerd needs) and
 * gets its own containerd namespaces and cgroup parent.
 *
 * When the scope closes: every service and container of the daemon is removed, it leaves its
 * swarm (`--force`, on its own socket), is stopped by its PID, what it left mounted under the
 * temp folder is unmounted, the folder removed and the namespace deleted (with its veth pair).
 *
 * @since 0.3.0
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { Effect, Option, type Scope } from "effect"
import { isCI } from "./Engine.js"
import { daemon, FixtureError, run, tempDir, writeFile } from "./internal/daemon.js"

export { FixtureError }

const fixture = "Swarm"

/**
 * @since 0.3.0
 * @category constants
 */
export const tools = {
  dockerd: "/usr/sbin/dockerd",
  ip: "/usr/sbin/ip",
  nsenter: "/usr/bin/nsenter"
} as const

/**
 * @since 0.3.0
 * @category models
 */
export interface Swarm {
  /** `unix://<temp>/docker.sock`: the manager's engine. */
  readonly host: string
  /** The daemon's PID. */
  readonly pid: number
  /** The swarm's node id of this daemon. */
  readonly nodeId: string
  /** The daemon's address in its namespace, where its published ports answer. */
  readonly address: string
  /** The network namespace's name. */
  readonly namespace: string
  /** `ARMADA_SWARM_NODES` for this swarm: its node published at `address`. */
  readonly nodesJson: string
  /** Runs the docker CLI against this daemon (`docker -H host args`); its stdout. */
  readonly docker: (args: ReadonlyArray<string>) => Effect.Effect<string, FixtureError>
}

/**
 * Why the swarm tests cannot run here, if they cannot: they need root (a network namespace, a
 * dockerd) and the tools.
 *
 * @since 0.3.0
 * @category getters
 */
export const missingTools = (): Option.Option<string> => {
  if (process.getuid?.() !== 0)
    return Option.some("they need root (a network namespace and a dockerd of their own)")
  const missing = Object.values(tools).filter((tool) => !fs.existsSync(tool))
  return missing.length === 0
    ? Option.none()
    : Option.some(
        `${missing.join(", ")} missing; install them with \`apt-get install -y docker.io iproute2 util-linux\``
      )
}

/**
 * True when the tests must be skipped (not root or tools missing, not in CI); throws in CI.
 *
 * @since 0.3.0
 * @category getters
 */
export const skipWithoutSwarm = (suite: string): boolean => {
  const missing = missingTools()
  if (Option.isNone(missing)) return false
  if (isCI()) throw new Error(`${suite}: CI=true but ${missing.value}`)
  process.stderr.write(`\n!!! SKIPPING ${suite}: ${missing.value}.\n!!! CI always runs these tests.\n\n`)
  return true
}

/** `GET /_ping` on the socket answers 200. */
const pings = (socket: string): Effect.Effect<boolean> =>
  Effect.async<boolean>((resume) => {
    const request = http.get({ socketPath: socket, path: "/_ping", timeout: 2000 }, (response) => {
      response.resume()
      resume(Effect.succeed(response.statusCode === 200))
    })
    request.once("error", () => resume(Effect.succeed(false)))
    request.once("timeout", () => request.destroy())
    return Effect.sync(() => request.destroy())
  })

/** A clean-up step that goes on when it fails, saying so. */
const attempt = <A>(effect: Effect.Effect<A, FixtureError>) =>
  effect.pipe(Effect.catchAll((error) => Effect.logWarning(error.message)))

/** A /24 of 10.213.0.0/16 that no route of the host covers. */
const freeSubnet = Effect.gen(function* () {
  const { stdout } = yield* run(fixture, "list the host's routes", tools.ip, ["-4", "route", "show"])
  const taken = (third: number) =>
    stdout.includes(`10.213.${third}.`) ||
    /^(10\.0\.0\.0\/8|10\.213\.0\.0\/16|default via 10\.213\.)/m.test(stdout)
  for (let tries = 0; tries < 50; tries++) {
    const third = 1 + (randomBytes(1)[0]! % 254)
    if (!taken(third)) return `10.213.${third}`
  }
  return yield* new FixtureError({ fixture, step: "pick a subnet", detail: "no free /24 in 10.213.0.0/16" })
})

/** Mount points under `dir` (deepest first): what a killed dockerd may leave mounted there. */
const mountsUnder = (dir: string): Array<string> =>
  fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((point): point is string => point?.startsWith(`${dir}/`) === true)
    .sort((a, b) => b.length - a.length)

/**
 * Starts the daemon in its namespace, makes it a single-node swarm and loads `images` (present on
 * the machine's Docker engine) into it.
 *
 * @since 0.3.0
 * @category constructors
 */
export const start = (
  options: { readonly images?: ReadonlyArray<string> } = {}
): Effect.Effect<Swarm, FixtureError, Scope.Scope> =>
  Effect.gen(function* () {
    const dir = yield* tempDir(fixture, "swarm")
    const id = randomBytes(3).toString("hex")
    const namespace = `armada-sw-${id}`
    const [hostEnd, nodeEnd] = [`asw${id}h`, `asw${id}n`]
    const subnet = yield* freeSubnet
    const address = `${subnet}.2`
    const ip = (step: string, args: ReadonlyArray<string>) => run(fixture, step, tools.ip, args)

    yield* Effect.acquireRelease(ip("add the network namespace", ["netns", "add", namespace]), () =>
      attempt(ip("delete the network namespace", ["netns", "delete", namespace]))
    )
    const inNamespace = ["-n", namespace]
    yield* ip("add the veth pair", ["link", "add", hostEnd, "type", "veth", "peer", "name", nodeEnd])
    yield* ip("move its end into the namespace", ["link", "set", nodeEnd, "netns", namespace])
    yield* ip("address the host end", ["addr", "add", `${subnet}.1/24`, "dev", hostEnd])
    yield* ip("bring the host end up", ["link", "set", hostEnd, "up"])
    yield* ip("address the namespace end", [...inNamespace, "addr", "add", `${address}/24`, "dev", nodeEnd])
    yield* ip("bring the namespace end up", [...inNamespace, "link", "set", nodeEnd, "up"])
    yield* ip("bring the namespace's loopback up", [...inNamespace, "link", "set", "lo", "up"])

    const socket = path.join(dir, "docker.sock")
    const host = `unix://${socket}`
    const docker = (args: ReadonlyArray<string>) =>
      Effect.map(
        run(fixture, `docker ${args.join(" ")}`, "docker", ["-H", host, ...args]),
        ({ stdout }) => stdout
      )
    const config = path.join(dir, "daemon.json")
    yield* writeFile(fixture, config, "{}\n")

    // Released after the daemon stops: what it may have left mounted, then the folder (tempDir).
    yield* Effect.addFinalizer(() =>
      Effect.forEach(
        mountsUnder(dir),
        (point) => attempt(run(fixture, `unmount ${point}`, "umount", ["-l", point])),
        {
          discard: true
        }
      )
    )
    const started = yield* daemon(
      fixture,
      tools.nsenter,
      [
        `--net=/run/netns/${namespace}`,
        tools.dockerd,
        "--config-file",
        config,
        "--data-root",
        path.join(dir, "data"),
        "--exec-root",
        path.join(dir, "exec"),
        "--pidfile",
        path.join(dir, "dockerd.pid"),
        "-H",
        host,
        "--containerd-namespace",
        `armada-sw-${id}`,
        "--containerd-plugins-namespace",
        `armada-sw-${id}-plugins`,
        "--cgroup-parent",
        `armada-sw-${id}`
      ],
      { ready: pings(socket) }
    )
    // Runs before the daemon stops: nothing of the swarm outlives it.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        const ids = (args: ReadonlyArray<string>) =>
          docker(args).pipe(
            Effect.map((stdout) => stdout.split("\n").filter((line) => line !== "")),
            Effect.orElseSucceed((): Array<string> => [])
          )
        const services = yield* ids(["service", "ls", "-q"])
        if (services.length > 0) yield* attempt(docker(["service", "rm", ...services]))
        const containers = yield* ids(["ps", "-aq"])
        if (containers.length > 0) yield* attempt(docker(["rm", "-f", ...containers]))
        yield* attempt(docker(["swarm", "leave", "--force"]))
      })
    )
    yield* docker(["swarm", "init", "--advertise-addr", address, "--listen-addr", `${address}:2377`])
    const nodeId = (yield* docker(["info", "--format", "{{.Swarm.NodeID}}"])).trim()

    const images = options.images ?? []
    if (images.length > 0) {
      const archive = path.join(dir, "images.tar")
      yield* run(fixture, "save the images from the machine's engine", "docker", [
        "save",
        "-o",
        archive,
        ...images
      ])
      yield* docker(["load", "-i", archive])
      fs.rmSync(archive)
    }
    return {
      host,
      pid: started.pid,
      nodeId,
      address,
      namespace,
      nodesJson: JSON.stringify({ [nodeId]: { publish: address } }),
      docker
    }
  })
