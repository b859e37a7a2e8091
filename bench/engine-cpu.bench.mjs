// `pnpm bench engine-cpu`: what a cold container's Docker requests cost armada's client in CPU,
// without a Docker engine, against the floor of the same requests through bare node:http. A child
// process plays the Docker API on a unix socket and answers at once, with bodies shaped like the
// engine's (a container inspect of ~4 KB, a list of `--containers` summaries, a volume):
//   (a) ours: the live engine's operations (`DockerEngineLive.make`, as the CLI builds it: the
//       service's validation and span, dockerode, the request's deadline and abort signal);
//   (b) floor: the same HTTP requests, keep-alive, the response body read and parsed as JSON.
// A cold container of `pnpm bench cold-probes` makes these 8 requests: its create (one list of its
// two volumes, then the create; the id of its network is remembered from the session's ensure),
// start, inspect, wait and remove, and its share of the cleanup's list (one list of the session's
// containers, then one inspect per container listed).
// Each operation runs `--requests` times (default 400) at concurrency 8, as a stage does; CPU is this
// process's own (user + sys, `process.cpuUsage`), per operation. One warm-up round, then `--runs`
// rounds (default 3), contenders alternating.
import { spawn } from "node:child_process"
import { rmSync } from "node:fs"
import * as Http from "node:http"
import { dirname } from "node:path"
import { createInterface } from "node:readline"
import { DockerEngineLive } from "@armada/docker"
import { Effect } from "effect"
import { machine, median, numberFlag, printLine, ratio, rotated, round, runsFlag } from "./lib.mjs"

const runs = runsFlag(3, 1)
const requests = numberFlag("requests", 400)
const containers = numberFlag("containers", 65)
const concurrency = 8

/** The emulator's code, run with `node -e`: the Docker API endpoints a cold container uses. */
const emulator = `
const http = require("node:http")
const fs = require("node:fs")
const os = require("node:os")
const path = require("node:path")
const containers = Number(process.argv[1])
const socket = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "armada-engine-cpu-")), "docker.sock")
const id = "a".repeat(64)
const labels = { "armada.session": "s1", "armada.role": "processor", "armada.item": "p01" }
const network = { NetworkID: "f".repeat(64), EndpointID: "e".repeat(64), Gateway: "172.17.0.1", IPAddress: "172.17.0.2", IPPrefixLen: 16, MacAddress: "02:42:ac:11:00:02" }
const inspect = JSON.stringify({
  Id: id, Created: "2026-12-02T22:00:00.000000000Z", Path: "/node", Args: ["/app/main.js"], Name: "/armada-s1-p01",
  State: { Status: "running", Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 1234, ExitCode: 0, Error: "", StartedAt: "2026-12-02T22:00:00.1Z", FinishedAt: "0001-01-01T00:00:00Z" },
  Image: "sha256:" + "b".repeat(64), ResolvConfPath: "/var/lib/docker/containers/" + id + "/resolv.conf", LogPath: "/var/lib/docker/containers/" + id + "/" + id + "-json.log", RestartCount: 0, Driver: "overlay2", Platform: "linux",
  HostConfig: { NetworkMode: "bridge", PortBindings: { "5550/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] }, RestartPolicy: { Name: "no", MaximumRetryCount: 0 }, CapAdd: ["CAP_CHOWN"], CapDrop: ["ALL"], SecurityOpt: ["no-new-privileges"], Privileged: false, IpcMode: "private", ShmSize: 67108864, Runtime: "runc", Memory: 0, NanoCpus: 0, PidsLimit: null, Mounts: [{ Type: "volume", Source: "armada-s1-area", Target: "/area" }, { Type: "volume", Source: "armada-s1-template", Target: "/template", ReadOnly: true }] },
  GraphDriver: { Name: "overlay2", Data: { LowerDir: "/var/lib/docker/overlay2/" + "c".repeat(64) + "-init/diff", MergedDir: "/var/lib/docker/overlay2/" + "c".repeat(64) + "/merged", UpperDir: "/var/lib/docker/overlay2/" + "c".repeat(64) + "/diff", WorkDir: "/var/lib/docker/overlay2/" + "c".repeat(64) + "/work" } },
  Mounts: [{ Type: "volume", Name: "armada-s1-area", Source: "/var/lib/docker/volumes/armada-s1-area/_data", Destination: "/area", Driver: "local", Mode: "z", RW: true, Propagation: "" }, { Type: "volume", Name: "armada-s1-template", Source: "/var/lib/docker/volumes/armada-s1-template/_data", Destination: "/template", Driver: "local", Mode: "z", RW: false, Propagation: "" }],
  Config: { Hostname: "aaaaaaaaaaaa", ExposedPorts: { "5550/tcp": {} }, Tty: false, Env: ["PATH=/usr/bin", "ARMADA_ROLE=processor", "ARMADA_ID=p01"], Cmd: ["/app/main.js"], Image: "armada/test-app:dev", WorkingDir: "/", Entrypoint: ["/node"], Labels: labels },
  NetworkSettings: { SandboxID: "d".repeat(64), SandboxKey: "/var/run/docker/netns/dddddddddddd", Ports: { "5550/tcp": [{ HostIp: "127.0.0.1", HostPort: "40001" }] }, Networks: { bridge: network } }
})
const summary = { Id: id, Names: ["/armada-s1-p01"], Image: "armada/test-app:dev", ImageID: "sha256:" + "b".repeat(64), Command: "/node /app/main.js", Created: 1764712800, Ports: [{ IP: "127.0.0.1", PrivatePort: 5550, PublicPort: 40001, Type: "tcp" }], Labels: labels, State: "running", Status: "Up 1 second", HostConfig: { NetworkMode: "bridge" }, NetworkSettings: { Networks: { bridge: network } }, Mounts: [] }
const list = JSON.stringify(Array.from({ length: containers }, () => summary))
const networks = JSON.stringify([{ Name: "armada-s1-net", Id: "f".repeat(64), Created: "2026-12-02T22:00:00.000000000Z", Scope: "local", Driver: "bridge", EnableIPv6: false, IPAM: { Driver: "default", Options: null, Config: [{ Subnet: "172.18.0.0/16", Gateway: "172.18.0.1" }] }, Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: "" }, ConfigOnly: false, Containers: {}, Options: {}, Labels: { "armada.session": "s1" } }])
const volume = (name) => ({ CreatedAt: "2026-12-02T22:00:00Z", Driver: "local", Labels: { "armada.session": "s1" }, Mountpoint: "/var/lib/docker/volumes/" + name + "/_data", Name: name, Options: null, Scope: "local" })
const volumes = JSON.stringify({ Volumes: [volume("armada-s1-area"), volume("armada-s1-template")], Warnings: null })
const routes = [
  ["GET", /^\\/containers\\/json$/, 200, list],
  ["GET", /^\\/containers\\/[^/]+\\/json$/, 200, inspect],
  ["POST", /^\\/containers\\/create$/, 201, JSON.stringify({ Id: id, Warnings: [] })],
  ["POST", /^\\/containers\\/[^/]+\\/start$/, 204, ""],
  ["POST", /^\\/containers\\/[^/]+\\/wait$/, 200, JSON.stringify({ StatusCode: 0 })],
  ["DELETE", /^\\/containers\\/[^/]+$/, 204, ""],
  ["GET", /^\\/volumes$/, 200, volumes],
  ["GET", /^\\/networks$/, 200, networks]
]
http.createServer((req, res) => {
  req.resume()
  req.on("end", () => {
    const url = req.url.split("?")[0].replace(/^\\/v[\\d.]+/, "")
    const route = routes.find(([method, pattern]) => method === req.method && pattern.test(url))
    const [status, body] = route === undefined ? [404, JSON.stringify({ message: "no route " + req.method + " " + url })] : route.slice(2)
    res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) })
    res.end(body)
  })
}).listen(socket, () => console.log(socket))
`

const child = spawn(process.execPath, ["-e", emulator, String(containers)], {
  stdio: ["ignore", "pipe", "inherit"]
})
const socketPath = await new Promise((resolve, reject) => {
  createInterface({ input: child.stdout }).once("line", resolve)
  child.once("exit", (code) => reject(new Error(`the emulator exited (${code}) before listening`)))
})

const spec = {
  name: "armada-s1-p01",
  image: "armada/test-app:dev",
  labels: { "armada.session": "s1" },
  mounts: [
    { volume: "armada-s1-area", target: "/area", readOnly: false },
    { volume: "armada-s1-template", target: "/template", readOnly: true }
  ],
  network: "armada-s1-net",
  publish: 5550
}

/** The floor's request: keep-alive, the body read and parsed as the SDK would. */
const agent = new Http.Agent({ keepAlive: true })
const bare = (method, path) =>
  new Promise((resolve, reject) => {
    const request = Http.request({ socketPath, method, path: `/v1.45${path}`, agent }, (response) => {
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (chunk) => {
        body += chunk
      })
      response.on("end", () => resolve(body === "" ? undefined : JSON.parse(body)))
    })
    request.on("error", reject)
    request.end(method === "POST" ? JSON.stringify(spec) : undefined)
  })

/** Each operation a cold container costs: ours through the engine, the floor as its HTTP requests. */
const operations = (engine) => [
  {
    name: "create (a list of its 2 volumes, the create)",
    ours: engine.createContainer(spec),
    floor: () =>
      bare(
        "GET",
        `/volumes?filters=${encodeURIComponent('{"name":["armada-s1-area","armada-s1-template"]}')}`
      ).then(() => bare("POST", "/containers/create?name=armada-s1-p01"))
  },
  { name: "start", ours: engine.startContainer(spec.name), floor: () => bare("POST", "/containers/x/start") },
  {
    name: "inspect",
    ours: engine.inspectContainer(spec.name),
    floor: () => bare("GET", "/containers/x/json")
  },
  { name: "wait", ours: engine.waitContainer(spec.name), floor: () => bare("POST", "/containers/x/wait") },
  { name: "remove", ours: engine.removeContainer(spec.name), floor: () => bare("DELETE", "/containers/x") },
  {
    // Per container listed: the list's share, and the inspect `listContainers` makes of each.
    name: `list (per container of ${containers})`,
    share: containers,
    ours: engine.listContainers({ "armada.session": "s1" }),
    floor: async () => {
      const listed = await bare("GET", "/containers/json?all=true")
      for (let i = 0; i < listed.length; i += concurrency) {
        await Promise.all(listed.slice(i, i + concurrency).map(() => bare("GET", "/containers/x/json")))
      }
    }
  }
]

/** CPU in ms while `run` resolves. */
const cpuOf = async (run) => {
  const before = process.cpuUsage()
  await run()
  const used = process.cpuUsage(before)
  return (used.user + used.system) / 1000
}

/** `times` calls of `call`, `concurrency` at a time, as promises. */
const floorRun = (times, call) => async () => {
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < times) await call()
    })
  )
}

const results = await Effect.runPromise(
  Effect.scoped(
    Effect.gen(function* () {
      const engine = yield* DockerEngineLive.make({ host: `unix://${socketPath}` })
      const all = operations(engine)
      const perOperation = Object.fromEntries(all.map((op) => [op.name, { ours: [], floor: [] }]))
      const contenders = [
        [
          "ours",
          (op, times) => () =>
            Effect.runPromise(
              Effect.forEach(Array.from({ length: times }), () => op.ours, { concurrency, discard: true })
            )
        ],
        ["floor", (op, times) => floorRun(times, op.floor)]
      ]
      // Round -1 warms both up and is not counted.
      for (let run = -1; run < runs; run++) {
        for (const op of all) {
          // The list already serves `share` containers per call.
          const times = Math.max(1, Math.round(requests / (op.share ?? 1)))
          for (const [name, call] of rotated(contenders, run)) {
            const cpuMillis = yield* Effect.promise(() => cpuOf(call(op, times)))
            if (run >= 0) perOperation[op.name][name].push(cpuMillis / (times * (op.share ?? 1)))
          }
        }
      }
      return perOperation
    })
  )
)
child.kill()
rmSync(dirname(socketPath), { recursive: true, force: true })

const rows = Object.entries(results).map(([name, { ours, floor }]) => ({
  operation: name,
  oursMillis: round(median(ours), 3),
  floorMillis: round(median(floor), 3)
}))
for (const row of rows) printLine(row)
const total = (key) => rows.reduce((sum, row) => sum + row[key], 0)
printLine({
  bench: "engine-cpu",
  machine: machine(),
  runs,
  requests,
  containers,
  perColdContainer: {
    requests: 8,
    oursMillis: round(total("oursMillis"), 2),
    floorMillis: round(total("floorMillis"), 2),
    ratio: ratio(total("oursMillis"), total("floorMillis"))
  }
})
