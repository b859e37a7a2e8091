/**
 * A Docker Swarm of the test's own, of one node or two: each node a `dockerd` with its own data
 * root, exec root, pid file, socket and `daemon.json` in a temp folder, running in a network
 * namespace of the test's own, so the machine's engine (docker0, the host's iptables `DOCKER`
 * chains, its network store) is never touched and no `docker swarm` command ever reaches it.
 *
 * Each namespace is joined to the host by a veth pair on a private /24 the fixture picks among
 * 10.213.0.0/16 (one no host route covers): the host end is `.1`, the daemon's end `.2`, where its
 * published ports answer. One node advertises that address; two nodes are linked by a veth pair
 * of their own (another /24) and the swarm runs on it, so the host never routes swarm traffic. The daemon is entered with `nsenter
 * --net` (not `ip netns exec`, which remounts /sys and hides the cgroup mounts dockerd needs) and
 * gets its own containerd namespaces and cgroup parent.
 *
 * When the scope closes, for each node: every service and container of the daemon is removed, it
 * leaves its swarm (`--force`, on its own socket), is stopped by its PID, what it left mounted under the
 * temp folder is unmounted, the folder removed and the namespace deleted (with its veth pair); then
 * `/run/netns`, when the fixture's `ip netns add` made it and nothing else is in it.
 *
 * @since 0.3.0
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect, Option, type Scope } from "effect"
import { daemon, FixtureError, pings, run, skipWithoutTools, tempDir, writeFile } from "./internal/daemon.js"
import * as HostFiles from "./internal/hostFiles.js"

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
 * A test swarm: its manager (the fields of `Node`), its workers, and `ARMADA_SWARM_NODES` for it
 * (each node published at its address, a worker's engine at its socket).
 *
 * @since 0.3.0
 * @category models
 */
export interface Swarm extends Node {
  readonly workers: ReadonlyArray<Node>
  readonly nodesJson: string
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
export const skipWithoutSwarm = (suite: string): boolean => skipWithoutTools(suite, missingTools())

/** A clean-up step that goes on when it fails, saying so. */
const attempt = <A>(effect: Effect.Effect<A, FixtureError>) =>
  effect.pipe(Effect.catchAll((error) => Effect.logWarning(error.message)))

/** `count` different /24s of 10.213.0.0/16 that no route of the host covers, as `10.213.N`. */
const freeSubnets = (count: number) =>
  Effect.gen(function* () {
    const { stdout } = yield* run(fixture, "list the host's routes", tools.ip, ["-4", "route", "show"])
    if (/^(10\.0\.0\.0\/8|10\.213\.0\.0\/16) /m.test(stdout)) {
      return yield* new FixtureError({
        fixture,
        step: "pick subnets",
        detail: "a host route covers 10.213.0.0/16"
      })
    }
    const picked = new Set<string>()
    for (let tries = 0; tries < 100 && picked.size < count; tries++) {
      const subnet = `10.213.${1 + (randomBytes(1)[0]! % 254)}`
      if (!stdout.includes(`${subnet}.`)) picked.add(subnet)
    }
    if (picked.size < count) {
      return yield* new FixtureError({
        fixture,
        step: "pick subnets",
        detail: "no free /24 in 10.213.0.0/16"
      })
    }
    return [...picked]
  })

/** Mount points under `dir` (deepest first): what a killed dockerd may leave mounted there. */
const mountsUnder = (dir: string): Array<string> =>
  fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((point): point is string => point?.startsWith(`${dir}/`) === true)
    .sort((a, b) => b.length - a.length)

const ip = (step: string, args: ReadonlyArray<string>) => run(fixture, step, tools.ip, args)

/** A namespace of the test's own, deleted (with the links in it) when the scope closes. */
const namespaceOf = (name: string) =>
  Effect.acquireRelease(ip("add a network namespace", ["netns", "add", name]), () =>
    attempt(ip("delete the network namespace", ["netns", "delete", name]))
  )

/**
 * A veth pair from `from` (a namespace, or the host when undefined) to the namespace `to`, each
 * end addressed in `subnet` (`.1` and `.2`) and up.
 */
const link = (names: readonly [string, string], from: string | undefined, to: string, subnet: string) =>
  Effect.gen(function* () {
    const at = (namespace: string | undefined) => (namespace === undefined ? [] : ["-n", namespace])
    const [near, far] = names
    yield* ip("add a veth pair", [...at(from), "link", "add", near, "type", "veth", "peer", "name", far])
    yield* ip("move its end into the namespace", [...at(from), "link", "set", far, "netns", to])
    yield* ip("address the near end", [...at(from), "addr", "add", `${subnet}.1/24`, "dev", near])
    yield* ip("bring the near end up", [...at(from), "link", "set", near, "up"])
    yield* ip("address the far end", [...at(to), "addr", "add", `${subnet}.2/24`, "dev", far])
    yield* ip("bring the far end up", [...at(to), "link", "set", far, "up"])
  })

/**
 * One node of a test swarm.
 *
 * @since 0.3.0
 * @category models
 */
export interface Node {
  /** `unix://<temp>/docker.sock`: this node's engine. */
  readonly host: string
  /** The daemon's PID. */
  readonly pid: number
  /** The swarm's node id of this daemon. */
  readonly nodeId: string
  /** The daemon's address on its link to the host, where its published ports answer. */
  readonly address: string
  /** The network namespace's name. */
  readonly namespace: string
  /** Runs the docker CLI against this daemon (`docker -H host args`); its stdout. */
  readonly docker: (args: ReadonlyArray<string>) => Effect.Effect<string, FixtureError>
}

/**
 * A dockerd in a namespace of its own linked to the host on `subnet`; before it stops, every
 * service and container of it is removed and it leaves its swarm.
 */
const startNode = (id: string, subnet: string) =>
  Effect.gen(function* () {
    const dir = yield* tempDir(fixture, "swarm")
    const namespace = `armada-sw-${id}`
    yield* namespaceOf(namespace)
    yield* link([`asw${id}h`, `asw${id}n`], undefined, namespace, subnet)
    yield* ip("bring the namespace's loopback up", ["-n", namespace, "link", "set", "lo", "up"])

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
        { discard: true }
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
    return { host, pid: started.pid, address: `${subnet}.2`, namespace, docker, dir }
  })

/**
 * Starts the daemon in its namespace, makes it a swarm's manager, and with `workers: 1` a second
 * daemon in a second namespace joined as a worker (the two linked by a veth pair of their own, on
 * whose addresses the swarm runs); loads `images` (present on the machine's Docker engine) into
 * every node.
 *
 * @since 0.3.0
 * @category constructors
 */
export const start = (
  options: { readonly images?: ReadonlyArray<string>; readonly workers?: 0 | 1 } = {}
): Effect.Effect<Swarm, FixtureError, Scope.Scope> =>
  Effect.gen(function* () {
    const id = randomBytes(2).toString("hex")
    const count = 1 + (options.workers ?? 0)
    const subnets = yield* freeSubnets(count + (count > 1 ? 1 : 0))
    // Released after every namespace is deleted: `ip netns` leaves the folder it made.
    yield* HostFiles.removeWhenLeftEmpty(fixture, "/run/netns")
    const started = yield* Effect.forEach(subnets.slice(0, count), (subnet, index) =>
      startNode(`${id}${index}`, subnet)
    )
    const manager = started[0]!
    // Between nodes, a link of their own: the host never routes swarm traffic.
    const swarmSubnet = subnets[count]
    if (swarmSubnet !== undefined) {
      yield* link([`asw${id}m`, `asw${id}w`], manager.namespace, started[1]!.namespace, swarmSubnet)
    }
    const advertise = swarmSubnet === undefined ? manager.address : `${swarmSubnet}.1`
    yield* manager.docker([
      "swarm",
      "init",
      "--advertise-addr",
      advertise,
      "--listen-addr",
      `${advertise}:2377`
    ])
    const token = (yield* manager.docker(["swarm", "join-token", "-q", "worker"])).trim()
    for (const worker of started.slice(1)) {
      yield* worker.docker([
        "swarm",
        "join",
        "--token",
        token,
        "--advertise-addr",
        `${swarmSubnet}.2`,
        `${advertise}:2377`
      ])
    }
    const nodes: Array<Node> = []
    for (const node of started) {
      const nodeId = (yield* node.docker(["info", "--format", "{{.Swarm.NodeID}}"])).trim()
      nodes.push({
        host: node.host,
        pid: node.pid,
        nodeId,
        address: node.address,
        namespace: node.namespace,
        docker: node.docker
      })
      const images = options.images ?? []
      if (images.length > 0) {
        const archive = path.join(node.dir, "images.tar")
        yield* run(fixture, "save the images from the machine's engine", "docker", [
          "save",
          "-o",
          archive,
          ...images
        ])
        yield* node.docker(["load", "-i", archive])
        fs.rmSync(archive)
      }
    }
    const [first, ...workers] = nodes
    return {
      ...first!,
      workers,
      // The manager's engine is the manager's address; a worker's must be given.
      nodesJson: JSON.stringify(
        Object.fromEntries(
          nodes.map((node, index) => [
            node.nodeId,
            index === 0 ? { publish: node.address } : { engine: node.host, publish: node.address }
          ])
        )
      )
    }
  })
