import { type EngineDiscovery, EngineDiscoveryError } from "@armada/docker"
import { ContainerEngineError } from "@armada/engine"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import { ExitCode } from "../src/ExitCode.js"
import { memoryEngine, removeSpecFiles, run, specFile } from "./harness.js"

afterAll(removeSpecFiles)

const goodSpec = () =>
  specFile(`
template: .
processors:
  - { id: docs, image: armada/test-app:dev, globs: [{ glob: "*.md", type: template }] }
`)

const missing = (source: string, address: string): EngineDiscovery.Report["attempts"][number] => ({
  source,
  address,
  error: new ContainerEngineError.EngineUnreachable({
    address,
    detail: `connect ENOENT ${address.slice("unix://".length)}`
  })
})

const defaultSocket = missing("default socket", "unix:///var/run/docker.sock")
const rootful = missing("Podman rootful socket", "unix:///run/podman/podman.sock")

/** Nothing named; the default socket is missing and rootless Docker answers. */
const rootless = (): EngineDiscovery.Report => ({
  discovered: Option.some({
    source: "rootless Docker socket",
    address: "unix:///run/user/1000/docker.sock",
    endpoint: { _tag: "Unix", path: "/run/user/1000/docker.sock" },
    reason:
      "no engine named by --host, DOCKER_HOST, DOCKER_CONTEXT or a current context; rootless Docker's socket answered (after default socket did not)",
    millis: 2
  }),
  attempts: [defaultSocket],
  explicit: false
})

const nothing = (): EngineDiscovery.Report => ({
  discovered: Option.none(),
  attempts: [defaultSocket, rootful],
  explicit: false
})

interface DoctorJson {
  readonly docker: {
    readonly reachable: boolean
    readonly source?: string
    readonly why?: string
    readonly reason?: string
    readonly attempts: ReadonlyArray<{
      readonly source: string
      readonly address: string
      readonly reason: string
      readonly error: { readonly _tag: string }
    }>
  }
  readonly engine: { readonly kind: string; readonly reason: string }
}

const doctorJson = (stdout: string) => JSON.parse(stdout.trimEnd().split("\n").at(-1)!) as DoctorJson

describe("engine discovery in the CLI", () => {
  it("doctor names the engine taken and why, and each candidate tried before it with its error", async () => {
    const text = await run(["doctor", "--engine", "docker"], { discovery: rootless })
    expect(text.code).toBe(ExitCode.success)
    expect(text.stdout).toContain("picked: no engine named by --host, DOCKER_HOST, DOCKER_CONTEXT")
    expect(text.stdout).toContain("rootless Docker's socket answered (after default socket did not)")
    expect(text.stdout).toContain(
      "✖ default socket unix:///var/run/docker.sock: cannot reach the Docker engine at unix:///var/run/docker.sock"
    )
    const json = doctorJson((await run(["doctor", "--json"], { discovery: rootless })).stdout)
    expect(json.docker).toMatchObject({ reachable: true, source: "rootless Docker socket" })
    expect(json.docker.attempts.map((attempt) => [attempt.source, attempt.error._tag])).toEqual([
      ["default socket", "EngineUnreachable"]
    ])
    expect(json.engine.reason).toContain("rootless Docker's socket answered")
  })

  it("no engine anywhere: NoEngineFound naming every candidate, exit code 3", async () => {
    const result = await run(["run", goodSpec(), "--engine", "docker"], { discovery: nothing })
    expect(result.code).toBe(ExitCode.engineUnreachable)
    expect(result.stderr).toContain(
      "no Docker engine answered; tried default socket unix:///var/run/docker.sock"
    )
    expect(result.stderr).toContain("Podman rootful socket unix:///run/podman/podman.sock")

    const doctor = await run(["doctor", "--json", "--engine", "docker"], { discovery: nothing })
    expect(doctor.code).toBe(ExitCode.engineUnreachable)
    const json = doctorJson(doctor.stdout)
    expect(json.docker).toMatchObject({ reachable: false, reason: "no Docker engine answered" })
    expect(json.docker.attempts.map((attempt) => attempt.source)).toEqual([
      "default socket",
      "Podman rootful socket"
    ])
    const text = await run(["doctor", "--engine", "docker"], { discovery: nothing })
    expect(text.stdout).toContain("✖ Podman rootful socket unix:///run/podman/podman.sock: cannot reach")
  })

  it("an engine the user named fails with its own error, --engine auto too: a TLS failure is exit code 3", async () => {
    const tls = new EngineDiscoveryError.EngineTlsError({
      address: "tcp://127.0.0.1:2376",
      reason: "UntrustedServer",
      ca: "/certs/ca.pem",
      detail: "SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate in certificate chain"
    })
    const named = (): EngineDiscovery.Report => ({
      discovered: Option.none(),
      attempts: [{ source: "DOCKER_HOST", address: "tcp://127.0.0.1:2376", error: tls }],
      explicit: true
    })
    for (const args of [["run", goodSpec()], ["ps"], ["clean", "--all"], ["doctor"]]) {
      const result = await run([...args, "--engine", "docker"], { discovery: named })
      expect(result.code, args.join(" ")).toBe(ExitCode.engineUnreachable)
      expect(result.stdout + result.stderr).toContain(
        "TLS with the Docker engine at tcp://127.0.0.1:2376 failed: its certificate is not signed by the CA in /certs/ca.pem"
      )
    }
    // auto does not swap an engine the user named for the local one.
    const auto = await run(["run", goodSpec()], { discovery: named, local: memoryEngine() })
    expect(auto.code).toBe(ExitCode.engineUnreachable)
    expect(auto.stderr).toContain("TLS with the Docker engine at tcp://127.0.0.1:2376 failed")
  })

  it("--host goes to discovery and wins; auto with no engine found takes the local one", async () => {
    const json = doctorJson((await run(["doctor", "--json", "--host", "tcp://10.0.0.9:2375"])).stdout)
    expect(json.docker).toMatchObject({ reachable: true, source: "--host", why: "--host was given" })
    expect(json.engine.reason).toMatch(/^auto: the Docker engine answered in \d+ ms: --host was given$/)

    const local = await run(["warm", goodSpec(), "--json"], { discovery: nothing, local: memoryEngine() })
    expect(local.code).toBe(ExitCode.success)
    const started = JSON.parse(local.stdout.split("\n")[0]!) as { engine: { kind: string; reason: string } }
    expect(started.engine.kind).toBe("local")
    expect(started.engine.reason).toMatch(
      /^auto: no Docker engine answered \(no Docker engine answered; tried/
    )
  })
})
