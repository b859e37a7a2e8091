import { ImageRef } from "@armada/core"
import { SecurityProfile } from "@armada/engine"
import { assert, describe, it } from "@effect/vitest"
import { toSwarmError } from "../src/internal/error.js"
import { sessionOf } from "../src/internal/nodes.js"
import * as Spec from "../src/internal/spec.js"

const spec = {
  name: "armada-processor-docs-s1",
  image: ImageRef.ImageRef.make("armada/test-app:dev"),
  cmd: ["--role", "processor"],
  env: { ARMADA_ROLE: "processor" },
  labels: { "armada.managed": "true", "armada.session": "s1" },
  mounts: [{ volume: "armada-t-s1", target: "/workspace/area", readOnly: false }],
  publish: 5551,
  limits: { memoryBytes: 256 * 1024 * 1024, nanoCpus: 500_000_000, pids: 64 },
  security: "strict" as const,
  capAdd: ["NET_BIND_SERVICE"]
}

const task = (state: string, extra: Partial<Spec.Task["Status"]> = {}): Spec.Task => ({
  ID: "t1",
  ServiceID: "svc1",
  NodeID: "node1",
  CreatedAt: "2026-01-01T00:00:00Z",
  Version: { Index: 7 },
  Status: { State: state, ...extra }
})

describe("the service spec and back", () => {
  it("a container spec becomes a pinned service of no replica that never restarts, its port in host mode", () => {
    const service = Spec.serviceSpec(spec, "node1", "net1")
    assert.strictEqual(service.Name, spec.name)
    assert.deepStrictEqual(service.Mode, { Replicated: { Replicas: 0 } })
    assert.deepStrictEqual(service.TaskTemplate.RestartPolicy, { Condition: "none", MaxAttempts: 0 })
    assert.deepStrictEqual(service.TaskTemplate.Placement, { Constraints: ["node.id==node1"] })
    assert.deepStrictEqual(service.TaskTemplate.Networks, [{ Target: "net1" }])
    assert.deepStrictEqual(service.EndpointSpec, {
      Mode: "dnsrr",
      Ports: [{ Protocol: "tcp", TargetPort: 5551, PublishMode: "host" }]
    })
    const container = service.TaskTemplate.ContainerSpec
    assert.deepStrictEqual(container.Args, spec.cmd)
    assert.deepStrictEqual(container.Env, ["ARMADA_ROLE=processor"])
    assert.deepStrictEqual(container.Labels, spec.labels)
    assert.deepStrictEqual(container.CapabilityDrop, ["ALL"])
    assert.deepStrictEqual(container.CapabilityAdd, ["CAP_NET_BIND_SERVICE"])
    assert.strictEqual(container.StopSignal, "SIGKILL")
    assert.deepStrictEqual(service.TaskTemplate.Resources.Limits, {
      MemoryBytes: spec.limits.memoryBytes,
      NanoCPUs: spec.limits.nanoCpus,
      Pids: spec.limits.pids
    })
  })

  it("a service and its task read back as the container: state, exit code, mounts, security", () => {
    const sent = Spec.serviceSpec({ ...spec, security: "default", capAdd: [] }, "node1", undefined)
    const service: Spec.Service = {
      ID: "svc1",
      CreatedAt: "2026-01-01T00:00:00Z",
      Version: { Index: 3 },
      Spec: sent
    }
    assert.strictEqual(Spec.nodeOf(service), "node1")
    const created = Spec.toContainerInfo(service, undefined, [], undefined)
    assert.strictEqual(created.state, "created")
    assert.strictEqual(created.exitCode, undefined)
    assert.deepStrictEqual(created.mounts, spec.mounts)
    assert.deepStrictEqual(created.security.capAdd, [...SecurityProfile.defaultCapabilities])
    assert.deepStrictEqual(
      created.security.securityOpt,
      [],
      "a service spec cannot ask for no-new-privileges"
    )
    assert.strictEqual(created.security.networkMode, "default")
    assert.strictEqual(Spec.toContainerInfo(service, task("running"), [], "armada").state, "running")
    const exited = Spec.toContainerInfo(
      service,
      task("complete", { ContainerStatus: { ContainerID: "c1", ExitCode: 3 } }),
      [],
      undefined
    )
    assert.strictEqual(exited.state, "exited")
    assert.strictEqual(exited.exitCode, 3)
    const rejected = task("rejected", { Err: "No such image: x" })
    assert.isTrue(Spec.isTerminal(rejected))
    assert.strictEqual(Spec.exitCodeOf(rejected), -1, "no container ever ran")
    assert.strictEqual(
      Spec.newest([task("shutdown"), { ...task("running"), Version: { Index: 9 } }])?.Status.State,
      "running"
    )
  })
})

describe("sessions and errors", () => {
  it("a resource's session is its <prefix>.session label, prefix included", () => {
    assert.strictEqual(sessionOf({ "armada.session": "s1", "armada.role": "merger" }), "armada.session=s1")
    assert.strictEqual(sessionOf({ "other.session": "s1" }), "other.session=s1")
    assert.strictEqual(sessionOf({ "armada.managed": "true" }), undefined)
  })

  it("the manager's answers become typed errors", () => {
    const ctx = (kind: "container" | "network" | "engine") => ({
      address: "unix:///m.sock",
      operation: "op",
      kind,
      name: "x"
    })
    const failure = (statusCode: number, message: string) => ({ statusCode, json: { message } })
    assert.strictEqual(
      toSwarmError(ctx("container"))(failure(404, "service x not found"))._tag,
      "ContainerNotFound"
    )
    assert.strictEqual(toSwarmError(ctx("container"))(failure(409, "name conflicts"))._tag, "NameConflict")
    assert.strictEqual(
      toSwarmError(ctx("network"))(failure(500, "network x not found"))._tag,
      "NetworkNotFound"
    )
    const inUse = toSwarmError(ctx("network"))(failure(400, "network x is in use by service y"))
    assert.strictEqual(inUse._tag === "EngineError" ? inUse.status : undefined, 403)
    const notManager = toSwarmError(ctx("engine"))(failure(503, "This node is not a swarm manager."))
    assert.include(notManager.message, "docker swarm init")
    assert.strictEqual(toSwarmError(ctx("engine"))({ code: "ECONNREFUSED" })._tag, "EngineUnreachable")
  })
})
