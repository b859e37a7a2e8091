/**
 * Isolation, as the engine reports it and as the kernel applies it, under both security profiles
 * (docs/protocol.md). A session's containers are inspected while they run: through armada's
 * `ContainerEngine`, through the `docker` CLI's raw JSON (independent of armada's own mapping), and
 * through /proc on the host (the container's main process: no-new-privileges, exactly the
 * profile's capabilities, its own network namespace). Then a processor tries to write into the
 * template and must find it read-only (EROFS).
 */
import { readFileSync, readlinkSync } from "node:fs"
import { join } from "node:path"
import { ContainerEngine, type ContainerInfo, SecurityProfile } from "@armada/engine"
import { Orchestrator } from "@armada/orchestrator"
import { Engine, TestImage } from "@armada/testkit"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as H from "./harness.js"
import * as Report from "./report.js"

const limits = { memory: 64 * 1024 * 1024, pids: 64, cpus: 0.5 }
const rows: Array<ReadonlyArray<string | number>> = []
const figures: Array<string> = []
let work = ""

/** The fields of `docker inspect` this test reads. */
interface RawInspect {
  readonly State: { readonly Pid: number }
  readonly HostConfig: {
    readonly Privileged: boolean
    readonly NetworkMode: string
    readonly CapDrop: ReadonlyArray<string> | null
    readonly CapAdd: ReadonlyArray<string> | null
    readonly SecurityOpt: ReadonlyArray<string> | null
    readonly Memory: number
    readonly PidsLimit: number | null
    readonly NanoCpus: number
    readonly PortBindings: Record<string, ReadonlyArray<{ readonly HostIp: string }> | null> | null
  }
  readonly NetworkSettings: {
    readonly Ports: Record<string, ReadonlyArray<{ readonly HostIp: string }> | null>
  }
  readonly Mounts: ReadonlyArray<{ readonly Destination: string; readonly RW: boolean }>
}

/** `/proc/<pid>/status` fields of the container's main process. */
const procStatus = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const field = (name: string) => new RegExp(`^${name}:\\s+(\\S+)`, "m").exec(status)?.[1]
  return {
    noNewPrivs: field("NoNewPrivs"),
    capEff: field("CapEff"),
    capPrm: field("CapPrm"),
    capBnd: field("CapBnd")
  }
}

/** The kernel's numbers of the capabilities a profile keeps (linux/capability.h). */
const capabilityBits: Readonly<Record<string, number>> = {
  CHOWN: 0,
  DAC_OVERRIDE: 1,
  FOWNER: 3,
  FSETID: 4,
  KILL: 5,
  SETGID: 6,
  SETUID: 7
}

/** The /proc capability mask of `profile`, as /proc prints it (16 hex digits). */
const maskOf = (profile: SecurityProfile.SecurityProfile): string =>
  SecurityProfile.capabilities(profile)
    .reduce((mask, name) => mask | (1n << BigInt(capabilityBits[name]!)), 0n)
    .toString(16)
    .padStart(16, "0")

/** Every check on one container, as [what, holds]. */
const checks = (
  info: ContainerInfo,
  raw: RawInspect,
  profile: SecurityProfile.SecurityProfile
): ReadonlyArray<readonly [string, boolean]> => {
  const proc = procStatus(raw.State.Pid)
  const kept = SecurityProfile.capabilities(profile)
  const added = (raw.HostConfig.CapAdd ?? []).map((c) => c.replace(/^CAP_/, "")).sort()
  const template = raw.Mounts.find((m) => m.Destination === "/workspace/cyanprint")
  const area = raw.Mounts.find((m) => m.Destination === "/workspace/area")
  const bindings = [
    ...Object.values(raw.HostConfig.PortBindings ?? {}).flatMap((b) => b ?? []),
    ...Object.values(raw.NetworkSettings.Ports).flatMap((b) => b ?? [])
  ]
  return [
    ["never privileged", !info.security.privileged && !raw.HostConfig.Privileged],
    [
      "not on the host network",
      info.security.networkMode !== "host" && raw.HostConfig.NetworkMode !== "host"
    ],
    [
      "its own network namespace",
      readlinkSync(`/proc/${raw.State.Pid}/ns/net`) !== readlinkSync("/proc/self/ns/net")
    ],
    [
      "every capability dropped",
      info.security.capDrop.includes("ALL") && (raw.HostConfig.CapDrop ?? []).includes("ALL")
    ],
    [
      `${profile}: ${kept.length === 0 ? "none" : kept.join(" ")} added back`,
      JSON.stringify(info.security.capAdd) === JSON.stringify(kept) &&
        JSON.stringify(added) === JSON.stringify(kept)
    ],
    [
      `${profile}: exactly those in effect (/proc CapEff, CapPrm = ${maskOf(profile)})`,
      proc.capEff === maskOf(profile) && proc.capPrm === maskOf(profile)
    ],
    [
      "no-new-privileges (inspect and /proc NoNewPrivs)",
      (raw.HostConfig.SecurityOpt ?? []).some((o) => o.startsWith("no-new-privileges")) &&
        proc.noNewPrivs === "1"
    ],
    [
      `memory limit ${limits.memory} bytes`,
      info.security.memoryBytes === limits.memory && raw.HostConfig.Memory === limits.memory
    ],
    [
      `pids limit ${limits.pids}`,
      info.security.pidsLimit === limits.pids && raw.HostConfig.PidsLimit === limits.pids
    ],
    [
      `cpus ${limits.cpus}`,
      info.security.nanoCpus === limits.cpus * 1e9 && raw.HostConfig.NanoCpus === limits.cpus * 1e9
    ],
    [
      "published on 127.0.0.1 only",
      bindings.length > 0 &&
        bindings.every((b) => b.HostIp === "127.0.0.1") &&
        info.ports.every((p) => p.hostIp === "127.0.0.1")
    ],
    ["template mounted read-only", template !== undefined && !template.RW],
    ["session area mounted read-write", area?.RW === true]
  ]
}

describe.skipIf(Engine.skipWithoutEngine("reliability: isolation"))("reliability: isolation", () => {
  beforeAll(() => {
    TestImage.ensureTestAppImage()
    work = H.scratch("isolation")
  }, 300_000)

  afterAll(() => {
    const atEnd = H.finishFile(work)
    Report.save("isolation", {
      title: "Isolation",
      how: `Real Docker engine; one session per security profile (default, strict: two processors, one plugin, the merger) with limits memory 64 MiB, pids ${limits.pids}, cpus ${limits.cpus}, inspected while its containers run: through armada's \`ContainerEngine.inspectContainer\`, through \`docker inspect\`'s raw JSON, and through /proc on the host for each container's main process.`,
      figures: [...figures, `labelled resources at the end of the file: ${atEnd}`],
      tables: [
        {
          columns: ["check", "holds for"],
          rows: [...new Set(rows.map(([, what]) => what))].map((what) => {
            const of = rows.filter((row) => row[1] === what)
            const holding = of.filter((row) => row[2] === "yes").map((row) => String(row[0]))
            return [what, `${holding.length} of ${of.length}: ${holding.join(", ")}`]
          })
        }
      ]
    })
  }, 60_000)

  for (const profile of SecurityProfile.SecurityProfile.literals) {
    it.live(
      `${profile} profile: containers are confined as the spec says, published on 127.0.0.1, and cannot write the template`,
      () =>
        Effect.gen(function* () {
          const template = H.writeTree(join(work, `template-${profile}`), { "README.md": "# {{name}}\n" })
          const spec = yield* H.specOf({
            template,
            processors: [
              {
                id: "writer",
                image: H.image,
                env: { ARMADA_FAULT_WRITE_TEMPLATE: "1" },
                globs: [{ glob: "**", type: "copy" }]
              },
              {
                id: "reader",
                image: H.image,
                globs: [{ glob: "**", type: "template" }],
                config: { vars: { name: "x" } }
              }
            ],
            plugins: [
              { id: "stamp", image: H.image, config: { writeFile: { path: "stamp.txt", content: "s\n" } } }
            ],
            options: { limits: { memory: "64m", pids: limits.pids, cpus: limits.cpus }, security: profile }
          })
          const exported = yield* Effect.scoped(
            Effect.gen(function* () {
              const engine = yield* ContainerEngine
              const started = yield* Orchestrator.start(yield* Orchestrator.warm(spec))
              const containers = [...started.processors, ...started.plugins, started.merger]
              const failing: Array<string> = []
              for (const container of containers) {
                const info = yield* engine.inspectContainer(container.containerId)
                const [raw] = JSON.parse(
                  H.docker(["inspect", container.containerId]).join("\n")
                ) as Array<RawInspect>
                for (const [what, holds] of checks(info, raw!, profile)) {
                  rows.push([`${profile} ${container.role}/${container.id}`, what, holds ? "yes" : "NO"])
                  if (!holds) failing.push(`${container.name}: ${what}`)
                }
              }
              assert.deepStrictEqual(failing, [])
              figures.push(
                `${profile}: containers inspected: ${containers.length}, checks so far: ${rows.length}, failing: ${failing.length}`
              )
              const result = yield* Orchestrator.run(started)
              return yield* Orchestrator.exportTo(started, result, { output: join(work, `out-${profile}`) })
            })
          ).pipe(Effect.provide(H.live()))
          const probe = readFileSync(join(exported.output, ".armada-write-probe"), "utf8").trim()
          assert.strictEqual(probe, "EROFS")
          figures.push(
            `${profile}: the processor's write into the template: ${probe} (read-only file system)`
          )
          assert.deepStrictEqual(H.labelled(H.sessionLabel(spec.session)), H.nothing)
        }),
      300_000
    )
  }

  it(`leaves nothing labelled ${H.managedLabel}`, () => {
    H.assertNothingLeft()
  })
})
