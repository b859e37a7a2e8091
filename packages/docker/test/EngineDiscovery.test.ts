import { createHmac } from "node:crypto"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { EngineDiscovery, EngineDiscoveryError } from "@armada/docker"
import { ContainerEngineError } from "@armada/engine"
import { DockerContext } from "@armada/testkit"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import * as KnownHosts from "../src/internal/knownHosts.js"

const base: EngineDiscovery.Settings = {
  configDir: "/nonexistent/armada-test/.docker",
  tlsVerify: false,
  tls: false,
  certPath: "/nonexistent/armada-test/.docker",
  home: "/nonexistent/armada-test"
}

const endpointOf = (candidate: EngineDiscovery.Candidate | undefined) => {
  assert.isDefined(candidate)
  return candidate!.endpoint
}

const sourcesOf = (candidates: ReadonlyArray<EngineDiscovery.Candidate>) =>
  candidates.map((candidate) => `${candidate.source} ${candidate.address}`)

describe("EngineDiscovery.candidates", () => {
  it.effect(
    "with nothing named: the default socket, rootless Docker, rootful and rootless Podman, in that order",
    () =>
      Effect.gen(function* () {
        assert.deepStrictEqual(
          sourcesOf(yield* EngineDiscovery.candidates({ ...base, runtimeDir: "/run/user/1000" })),
          [
            "default socket unix:///var/run/docker.sock",
            "rootless Docker socket unix:///run/user/1000/docker.sock",
            "Podman rootful socket unix:///run/podman/podman.sock",
            "Podman rootless socket unix:///run/user/1000/podman/podman.sock"
          ]
        )
        // Without XDG_RUNTIME_DIR there is no rootless socket to look at.
        assert.deepStrictEqual(sourcesOf(yield* EngineDiscovery.candidates(base)), [
          "default socket unix:///var/run/docker.sock",
          "Podman rootful socket unix:///run/podman/podman.sock"
        ])
      })
  )

  it.effect("--host wins over DOCKER_HOST, which wins over DOCKER_CONTEXT; each is the only candidate", () =>
    Effect.gen(function* () {
      const named = { ...base, dockerHost: "tcp://127.0.0.1:2375", context: "remote" }
      const [flag, ...restFlag] = yield* EngineDiscovery.candidates({ ...named, host: "unix:///tmp/x.sock" })
      assert.deepInclude(flag, { source: "--host", address: "unix:///tmp/x.sock", explicit: true })
      assert.lengthOf(restFlag, 0)
      const [env, ...restEnv] = yield* EngineDiscovery.candidates(named)
      assert.deepInclude(env, { source: "DOCKER_HOST", address: "tcp://127.0.0.1:2375", explicit: true })
      assert.include(env!.why, "wins over DOCKER_CONTEXT=remote")
      assert.lengthOf(restEnv, 0)
    })
  )

  it.effect(
    "tcp:// TLS as the Docker CLI decides it: DOCKER_TLS_VERIFY, DOCKER_TLS, port 2376; default ports",
    () =>
      Effect.gen(function* () {
        const certPath = fs.mkdtempSync(path.join(tmpdir(), "armada-certs-"))
        for (const file of ["ca.pem", "cert.pem", "key.pem"]) fs.writeFileSync(path.join(certPath, file), "")
        const first = (settings: EngineDiscovery.Settings) =>
          Effect.map(EngineDiscovery.candidates(settings), (all) => endpointOf(all[0]))
        assert.deepStrictEqual(yield* first({ ...base, dockerHost: "tcp://127.0.0.1" }), {
          _tag: "Tcp",
          host: "127.0.0.1",
          port: 2375,
          tls: undefined
        })
        assert.deepStrictEqual(
          yield* first({ ...base, certPath, tlsVerify: true, dockerHost: "tcp://engine.example" }),
          {
            _tag: "Tcp",
            host: "engine.example",
            port: 2376,
            tls: {
              verify: true,
              ca: path.join(certPath, "ca.pem"),
              cert: path.join(certPath, "cert.pem"),
              key: path.join(certPath, "key.pem"),
              source: `DOCKER_CERT_PATH ${certPath}`
            }
          }
        )
        const unverified = yield* first({ ...base, certPath, tls: true, dockerHost: "tcp://[::1]:9999" })
        assert.deepInclude(unverified, { host: "::1", port: 9999 })
        assert.isFalse(unverified._tag === "Tcp" && unverified.tls?.verify)
        const byPort = yield* first({ ...base, dockerHost: "tcp://10.0.0.1:2376" })
        assert.isTrue(byPort._tag === "Tcp" && byPort.tls !== undefined && !byPort.tls.verify)
        fs.rmSync(certPath, { recursive: true })
      })
  )

  it.effect(
    "ssh:// with and without user and port; addresses it cannot use are typed errors naming the setting",
    () =>
      Effect.gen(function* () {
        const first = (dockerHost: string) =>
          Effect.map(EngineDiscovery.candidates({ ...base, dockerHost }), (all) => endpointOf(all[0]))
        assert.deepStrictEqual(yield* first("ssh://deploy@build.example:2222"), {
          _tag: "Ssh",
          user: "deploy",
          host: "build.example",
          port: 2222
        })
        const plain = yield* first("ssh://build.example")
        assert.deepInclude(plain, { _tag: "Ssh", host: "build.example", port: 22 })
        for (const bad of [
          "ssh://host/var/run/docker.sock",
          "npipe:////./pipe/docker_engine",
          "http://x",
          "unix://relative"
        ]) {
          const error = yield* first(bad)
          assert.strictEqual(error._tag, "InputError", bad)
          assert.include((error as { message: string }).message, "DOCKER_HOST")
        }
      })
  )

  it.scoped(
    "DOCKER_CONTEXT, else the current context: the store's endpoint and TLS material; `default` means none",
    () =>
      Effect.gen(function* () {
        const pem = fs.mkdtempSync(path.join(tmpdir(), "armada-pem-"))
        for (const file of ["ca.pem", "cert.pem", "key.pem"]) fs.writeFileSync(path.join(pem, file), "")
        const configDir = yield* DockerContext.make(
          [
            {
              name: "secure",
              host: "tcp://127.0.0.1:2376",
              tls: {
                ca: path.join(pem, "ca.pem"),
                cert: path.join(pem, "cert.pem"),
                key: path.join(pem, "key.pem")
              }
            },
            { name: "lax", host: "tcp://127.0.0.1:2376", skipTlsVerify: true },
            { name: "plain", host: "tcp://127.0.0.1:2375" },
            { name: "over-ssh", host: "ssh://me@127.0.0.1:2200" }
          ],
          "over-ssh"
        )
        fs.rmSync(pem, { recursive: true })
        const settings = { ...base, configDir }
        const store = (name: string) =>
          path.join(configDir, "contexts", "tls", DockerContext.storeId(name), "docker")

        const [current] = yield* EngineDiscovery.candidates(settings)
        assert.deepInclude(current, {
          source: "currentContext",
          address: "ssh://me@127.0.0.1:2200",
          explicit: true
        })
        const [secure] = yield* EngineDiscovery.candidates({ ...settings, context: "secure" })
        assert.strictEqual(secure!.source, "DOCKER_CONTEXT")
        assert.deepInclude(endpointOf(secure), {
          _tag: "Tcp",
          tls: {
            verify: true,
            ca: path.join(store("secure"), "ca.pem"),
            cert: path.join(store("secure"), "cert.pem"),
            key: path.join(store("secure"), "key.pem"),
            source: `the TLS material of context secure (${store("secure")})`
          }
        })
        const [lax] = yield* EngineDiscovery.candidates({ ...settings, context: "lax" })
        assert.deepInclude((endpointOf(lax) as { tls: unknown }).tls, { verify: false, ca: undefined })
        const [plain] = yield* EngineDiscovery.candidates({ ...settings, context: "plain" })
        assert.isUndefined((endpointOf(plain) as { tls: unknown }).tls)
        const implicit = yield* EngineDiscovery.candidates({ ...settings, context: "default" })
        assert.strictEqual(implicit[0]!.source, "default socket")

        const [missing] = yield* EngineDiscovery.candidates({ ...settings, context: "gone" })
        assert.deepInclude(endpointOf(missing), {
          _tag: "DockerContextError",
          context: "gone",
          reason: "NotFound"
        })
        fs.writeFileSync(
          path.join(configDir, "contexts", "meta", DockerContext.storeId("plain"), "meta.json"),
          JSON.stringify({ Name: "plain", Endpoints: { docker: { Host: 42 } } })
        )
        const [broken] = yield* EngineDiscovery.candidates({ ...settings, context: "plain" })
        assert.deepInclude(endpointOf(broken), { _tag: "DockerContextError", reason: "Invalid" })
        assert.include((endpointOf(broken) as { message: string }).message, "Endpoints.docker.Host")
      })
  )

  it.effect("the settings come from the environment, an empty variable counting as unset", () =>
    Effect.gen(function* () {
      const settings = yield* EngineDiscovery.settings.pipe(
        Effect.withConfigProvider(
          ConfigProvider.fromMap(
            new Map([
              ["DOCKER_HOST", ""],
              ["DOCKER_CONTEXT", "ci"],
              ["HOME", "/home/ci"],
              ["DOCKER_TLS_VERIFY", "1"],
              ["XDG_RUNTIME_DIR", "/run/user/7"]
            ])
          )
        )
      )
      assert.deepInclude(settings, {
        dockerHost: undefined,
        context: "ci",
        configDir: "/home/ci/.docker",
        certPath: "/home/ci/.docker",
        tlsVerify: true,
        tls: false,
        runtimeDir: "/run/user/7",
        home: "/home/ci"
      })
    })
  )
})

describe("EngineDiscovery.discover", () => {
  it.effect("an engine the user named is the only one tried, and its own error is the error", () =>
    Effect.gen(function* () {
      const socket = path.join(tmpdir(), "armada-no-such-engine.sock")
      const error = yield* Effect.flip(EngineDiscovery.discover({ ...base, dockerHost: `unix://${socket}` }))
      assert.instanceOf(error, ContainerEngineError.EngineUnreachable)
      const report = yield* EngineDiscovery.report({ ...base, dockerHost: `unix://${socket}` })
      assert.isTrue(report.explicit)
      assert.deepStrictEqual(
        report.attempts.map((attempt) => [attempt.source, attempt.address, attempt.error._tag]),
        [["DOCKER_HOST", `unix://${socket}`, "EngineUnreachable"]]
      )
    })
  )

  it("NoEngineFound lists every candidate with its error", () => {
    const error = new EngineDiscoveryError.NoEngineFound({
      attempts: [
        {
          source: "default socket",
          address: "unix:///var/run/docker.sock",
          error: new ContainerEngineError.EngineUnreachable({
            address: "unix:///var/run/docker.sock",
            detail: "the socket does not exist"
          })
        },
        {
          source: "Podman rootful socket",
          address: "unix:///run/podman/podman.sock",
          error: new ContainerEngineError.EngineUnreachable({
            address: "unix:///run/podman/podman.sock",
            detail: "permission denied on the socket"
          })
        }
      ]
    })
    assert.include(error.message, "default socket unix:///var/run/docker.sock")
    assert.include(error.message, "Podman rootful socket unix:///run/podman/podman.sock")
    assert.include(error.message, "permission denied")
  })
})

describe("known_hosts", () => {
  const key = (type: string, body: string) => {
    const name = Buffer.from(type)
    const length = Buffer.alloc(4)
    length.writeUInt32BE(name.length)
    return Buffer.concat([length, name, Buffer.from(body)])
  }
  const ed = key("ssh-ed25519", "one")
  const edOther = key("ssh-ed25519", "two")
  const rsa = key("ssh-rsa", "three")
  const line = (hosts: string, blob: Buffer) =>
    `${hosts} ${blob.subarray(4, 4 + blob.readUInt32BE(0))} ${blob.toString("base64")}`

  it("plain, [host]:port, patterns, negations and hashed names; a different key is a mismatch, another type unknown", () => {
    const salt = Buffer.from("0123456789abcdef0123")
    const hashed = `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update("[10.0.0.5]:2222").digest("base64")}`
    const entries = KnownHosts.parse(
      [
        "# comment",
        line("build.example,10.0.0.4", ed),
        line("[127.0.0.1]:2200", ed),
        line("*.lab.example,!secret.lab.example", ed),
        line(hashed, ed),
        line("rsa-only.example", rsa),
        `@cert-authority *.example ${ed.toString("base64")}`
      ].join("\n")
    )
    const verdict = (host: string, port: number, presented: Buffer) =>
      KnownHosts.check(entries, KnownHosts.hostName(host, port), presented)._tag
    assert.strictEqual(verdict("build.example", 22, ed), "Known")
    assert.strictEqual(verdict("10.0.0.4", 22, ed), "Known")
    assert.strictEqual(verdict("127.0.0.1", 2200, ed), "Known")
    assert.strictEqual(verdict("127.0.0.1", 22, ed), "Unknown")
    assert.strictEqual(verdict("a.lab.example", 22, ed), "Known")
    assert.strictEqual(verdict("secret.lab.example", 22, ed), "Unknown")
    assert.strictEqual(verdict("10.0.0.5", 2222, ed), "Known")
    assert.strictEqual(verdict("build.example", 22, edOther), "Mismatch")
    assert.deepStrictEqual(KnownHosts.check(entries, "rsa-only.example", ed), {
      _tag: "Unknown",
      otherTypes: ["ssh-rsa"]
    })
    assert.deepStrictEqual(KnownHosts.knownTypes(entries, "rsa-only.example"), ["ssh-rsa"])
  })

  it("a revoked key is refused whatever host lists it", () => {
    const entries = KnownHosts.parse(
      [line("build.example", ed), `@revoked * ${line("", ed).trim()}`].join("\n")
    )
    assert.strictEqual(KnownHosts.check(entries, "build.example", ed)._tag, "Revoked")
  })
})
