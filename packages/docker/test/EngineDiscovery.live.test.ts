import * as fs from "node:fs"
import * as path from "node:path"
import { DockerEngineLive, EngineDiscovery } from "@armada/docker"
import { ContainerEngine } from "@armada/engine"
import { DockerContext, Engine, Sshd, TlsEndpoint } from "@armada/testkit"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Exit, Layer, Option, Scope } from "effect"

const skip =
  Engine.skipWithoutEngine("engine discovery (live)") ||
  TlsEndpoint.skipWithoutTools("engine discovery (live)") ||
  Sshd.skipWithoutSshd("engine discovery (live)")

const base: EngineDiscovery.Settings = {
  configDir: "/nonexistent/armada-test/.docker",
  tlsVerify: false,
  tls: false,
  certPath: "/nonexistent/armada-test/.docker",
  home: "/nonexistent/armada-test",
  pingTimeout: "20 seconds"
}

const failureOf = (settings: EngineDiscovery.Settings) => Effect.flip(EngineDiscovery.discover(settings))

describe.skipIf(skip)("engine discovery (live)", () => {
  it.live("tcp:// with TLS: client certificate and CA from DOCKER_CERT_PATH; a wrong CA is a TLS error", () =>
    Effect.gen(function* () {
      const endpoint = yield* TlsEndpoint.start()
      const tls = { ...base, dockerHost: endpoint.host, tlsVerify: true }
      const found = yield* EngineDiscovery.discover({ ...tls, certPath: endpoint.certPath.dir })
      assert.deepInclude(found, { source: "DOCKER_HOST", address: endpoint.host })

      const untrusted = yield* failureOf({ ...tls, certPath: endpoint.wrongCaPath.dir })
      assert.deepInclude(untrusted, {
        _tag: "EngineTlsError",
        address: endpoint.host,
        reason: "UntrustedServer"
      })
      assert.include(untrusted.message, endpoint.wrongCaPath.ca)

      // No client certificate: the endpoint asks for one.
      const caOnly = path.join(endpoint.certPath.dir, "..", "ca-only")
      fs.mkdirSync(caOnly)
      fs.copyFileSync(endpoint.certPath.ca, path.join(caOnly, "ca.pem"))
      const refused = yield* failureOf({ ...tls, certPath: caOnly })
      assert.strictEqual(refused._tag, "EngineTlsError")
      assert.strictEqual((refused as { reason?: string }).reason, "ClientCertificateRejected")

      const missing = yield* failureOf({ ...tls, certPath: path.join(caOnly, "nothing") })
      assert.deepInclude(missing, { _tag: "EngineTlsError", reason: "Material" })
    }).pipe(Effect.scoped)
  )

  it.live("a context chosen only by DOCKER_CONTEXT, its TLS material from the store", () =>
    Effect.gen(function* () {
      const endpoint = yield* TlsEndpoint.start()
      const configDir = yield* DockerContext.make([
        {
          name: "tls-engine",
          host: endpoint.host,
          tls: { ca: endpoint.certPath.ca, cert: endpoint.certPath.cert, key: endpoint.certPath.key }
        }
      ])
      const report = yield* EngineDiscovery.report({ ...base, configDir, context: "tls-engine" })
      const found = Option.getOrThrow(report.discovered)
      assert.deepInclude(found, {
        source: "DOCKER_CONTEXT",
        address: endpoint.host,
        reason: "DOCKER_CONTEXT=tls-engine"
      })
      assert.lengthOf(report.attempts, 0)
    }).pipe(Effect.scoped)
  )

  it.live("ssh:// to 127.0.0.1: the key from ~/.ssh, the host key checked against known_hosts", () =>
    Effect.gen(function* () {
      const sshd = yield* Sshd.start
      const ssh = { ...base, dockerHost: sshd.host, home: sshd.home }
      const found = yield* EngineDiscovery.discover(ssh)
      assert.deepInclude(found, { source: "DOCKER_HOST", address: sshd.host.replace(/:22$/, "") })

      const knownHosts = path.join(sshd.home, ".ssh", "known_hosts")
      fs.writeFileSync(knownHosts, `${sshd.wrongKnownHostsLine}\n`)
      assert.deepInclude(yield* failureOf(ssh), { _tag: "EngineSshError", reason: "HostKeyMismatch" })
      fs.writeFileSync(knownHosts, "")
      const unknown = yield* failureOf(ssh)
      assert.deepInclude(unknown, { _tag: "EngineSshError", reason: "UnknownHost" })
      assert.include(unknown.message, knownHosts)
      fs.writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`)

      const otherUser = yield* failureOf({
        ...ssh,
        dockerHost: sshd.host.replace(/ssh:\/\/\w+@/, "ssh://nobody@")
      })
      assert.deepInclude(otherUser, { _tag: "EngineSshError", reason: "Authentication" })
      assert.deepInclude(yield* failureOf({ ...ssh, home: path.join(sshd.home, "empty") }), {
        _tag: "EngineSshError",
        reason: "NoKey"
      })
    }).pipe(Effect.scoped)
  )

  /** What a run asks of the engine, over the transport: its version, a volume made, found, removed. */
  const exercise = (engine: ContainerEngine.Service, name: string) =>
    Effect.gen(function* () {
      assert.strictEqual((yield* engine.version).engine, "docker")
      const labels = { "armada-discovery-test": name }
      yield* engine.createVolume({ name, labels })
      yield* Effect.gen(function* () {
        // Twelve requests at once, each on a connection of its own: over ssh, more channels than one
        // SSH connection carries (OpenSSH allows ten).
        const listed = yield* Effect.all(
          Array.from({ length: 12 }, () => engine.listVolumes(labels)),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(
          listed.map((volumes) => volumes.map((volume) => volume.name)),
          Array.from({ length: 12 }, () => [name])
        )
      }).pipe(Effect.ensuring(Effect.ignore(engine.removeVolume(name))))
      assert.deepStrictEqual(yield* engine.listVolumes(labels), [])
    })

  it.live("the live engine over TLS and over ssh: version, volumes, twelve requests at once", () =>
    Effect.gen(function* () {
      const endpoint = yield* TlsEndpoint.start()
      const tls = yield* EngineDiscovery.discover({
        ...base,
        dockerHost: endpoint.host,
        tlsVerify: true,
        certPath: endpoint.certPath.dir
      })
      const overTls = yield* DockerEngineLive.makeAt(tls.endpoint)
      assert.strictEqual(overTls.address, endpoint.host)
      yield* exercise(overTls, `armada-discovery-tls-${process.pid}`)

      const sshd = yield* Sshd.start
      const ssh = yield* EngineDiscovery.discover({ ...base, dockerHost: sshd.host, home: sshd.home })
      const overSsh = yield* DockerEngineLive.makeAt(ssh.endpoint, { home: sshd.home })
      assert.strictEqual(overSsh.address, ssh.address)
      yield* exercise(overSsh, `armada-discovery-ssh-${process.pid}`)
    }).pipe(Effect.scoped)
  )

  it.live(
    "layerDiscovery: a library's engine found from the environment, here a TLS one by DOCKER_HOST",
    () =>
      Effect.gen(function* () {
        const endpoint = yield* TlsEndpoint.start()
        const environment = ConfigProvider.fromMap(
          new Map([
            ["DOCKER_HOST", endpoint.host],
            ["DOCKER_TLS_VERIFY", "1"],
            ["DOCKER_CERT_PATH", endpoint.certPath.dir],
            ["HOME", "/nonexistent/armada-test"]
          ])
        )
        const built = yield* Layer.build(
          DockerEngineLive.layerDiscovery().pipe(Layer.provide(Layer.setConfigProvider(environment)))
        )
        const engine = Context.get(built, ContainerEngine)
        assert.strictEqual(engine.address, endpoint.host)
        assert.strictEqual((yield* engine.version).engine, "docker")

        const untrusted = ConfigProvider.fromMap(
          new Map([
            ["DOCKER_HOST", endpoint.host],
            ["DOCKER_TLS_VERIFY", "1"],
            ["DOCKER_CERT_PATH", endpoint.wrongCaPath.dir],
            ["HOME", "/nonexistent/armada-test"]
          ])
        )
        const failed = yield* Effect.flip(
          Layer.build(
            DockerEngineLive.layerDiscovery().pipe(Layer.provide(Layer.setConfigProvider(untrusted)))
          )
        )
        assert.deepInclude(failed, { _tag: "EngineTlsError", reason: "UntrustedServer" })
      }).pipe(Effect.scoped)
  )

  it.live("a TLS engine that goes away later is EngineUnreachable at its own address", () =>
    Effect.gen(function* () {
      const endpointScope = yield* Scope.make()
      const endpoint = yield* TlsEndpoint.start().pipe(Scope.extend(endpointScope))
      const found = yield* EngineDiscovery.discover({
        ...base,
        dockerHost: endpoint.host,
        tlsVerify: true,
        certPath: endpoint.certPath.dir
      })
      const engine = yield* DockerEngineLive.makeAt(found.endpoint)
      yield* engine.version
      yield* Scope.close(endpointScope, Exit.void)
      const gone = yield* Effect.flip(engine.version)
      assert.strictEqual(gone._tag, "EngineUnreachable")
      assert.include(gone.message, `cannot reach the Docker engine at ${endpoint.host} (`)
    }).pipe(Effect.scoped)
  )
})
