import * as fs from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Inspectable, Layer, Option, Redacted } from "effect"
import * as Credentials from "../src/Credentials.js"

const secret = "s3cret-Pa55word"
const base64 = (s: string) => Buffer.from(s).toString("base64")

// A credential helper speaking the Docker protocol, answering per server URL read on stdin.
const helperScript = `#!/bin/sh
[ "$1" = get ] || { echo "unexpected action $1"; exit 2; }
url=$(cat)
case "$url" in
  127.0.0.1:5000|https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"user-for-%s","Secret":"${secret}"}' "$url" "$url" ;;
  token.example) printf '{"ServerURL":"%s","Username":"<token>","Secret":"${secret}"}' "$url" ;;
  empty.example) printf '{"ServerURL":"%s","Username":"","Secret":""}' "$url" ;;
  broken.example) echo '{"Username": "u", "Secret": "${secret}"' ;;
  failing.example) echo 'the keychain is locked'; exit 1 ;;
  hanging.example) echo $$ > "$(dirname "$0")/hanging.pid"; exec sleep 600 ;;
  *) echo 'credentials not found in native keychain'; exit 1 ;;
esac
`

let root: string
let previousPath: string | undefined
let next = 0

beforeAll(() => {
  root = fs.mkdtempSync(path.join(tmpdir(), "armada-credentials-"))
  const bin = path.join(root, "bin")
  fs.mkdirSync(bin)
  fs.writeFileSync(path.join(bin, "docker-credential-armada-test"), helperScript, { mode: 0o755 })
  previousPath = process.env.PATH
  process.env.PATH = `${bin}${path.delimiter}${previousPath ?? ""}`
})

afterAll(() => {
  process.env.PATH = previousPath
  fs.rmSync(root, { recursive: true, force: true })
})

/** A fresh DOCKER_CONFIG folder holding `config` (a value to serialise, or the file's text). */
const configDir = (config?: unknown): string => {
  const dir = path.join(root, `config-${next++}`)
  fs.mkdirSync(dir)
  if (config !== undefined) {
    fs.writeFileSync(
      path.join(dir, "config.json"),
      typeof config === "string" ? config : JSON.stringify(config)
    )
  }
  return dir
}

const service = (directory: string, helperTimeout: Credentials.Options["helperTimeout"] = "20 seconds") =>
  Credentials.make({ directory, helperTimeout }).pipe(Effect.provide(NodeContext.layer))

const lookup = (directory: string, registry: string) =>
  Effect.flatMap(service(directory), (credentials) => credentials.lookup(registry))

const source = (directory: string, registry: string) =>
  Effect.flatMap(service(directory), (credentials) => credentials.source(registry))

const failure = (directory: string, registry: string, helperTimeout?: Credentials.Options["helperTimeout"]) =>
  Effect.flip(
    Effect.flatMap(service(directory, helperTimeout), (credentials) => credentials.lookup(registry))
  )

/** Every way a value is shown: none of them may reveal the secret. */
const assertNoSecret = (value: unknown) => {
  for (const shown of [String(value), Inspectable.format(value), JSON.stringify(value)]) {
    assert.notInclude(shown, secret)
  }
  if (value instanceof Error) assert.notInclude(value.message, secret)
}

describe("Credentials", () => {
  it.effect("with no config file, every registry is anonymous", () =>
    Effect.gen(function* () {
      const dir = configDir()
      assert.deepStrictEqual(yield* source(dir, "127.0.0.1:5000"), { _tag: "Anonymous" })
      assert.isTrue(Option.isNone(yield* lookup(dir, "127.0.0.1:5000")))
    })
  )

  it.effect("auths: a base64 auth gives the user name and a redacted password", () =>
    Effect.gen(function* () {
      const dir = configDir({ auths: { "127.0.0.1:5000": { auth: base64(`alice:${secret}`) } } })
      const auth = Option.getOrThrow(yield* lookup(dir, "127.0.0.1:5000"))
      assert.strictEqual(auth.serverAddress, "127.0.0.1:5000")
      assert.strictEqual(auth.username, "alice")
      assert.strictEqual(Redacted.value(auth.password!), secret)
      assert.isUndefined(auth.identityToken)
      assertNoSecret(auth)
      assert.deepStrictEqual(yield* source(dir, "127.0.0.1:5000"), {
        _tag: "ConfigFile",
        path: path.join(dir, "config.json"),
        key: "127.0.0.1:5000"
      })
      // A password may hold a colon; only the first one separates.
      const colon = configDir({ auths: { "127.0.0.1:5000": { auth: base64("bob:a:b") } } })
      assert.strictEqual(
        Redacted.value(Option.getOrThrow(yield* lookup(colon, "127.0.0.1:5000")).password!),
        "a:b"
      )
    })
  )

  it.effect("auths: username/password fields, and an identity token", () =>
    Effect.gen(function* () {
      const dir = configDir({
        auths: {
          "127.0.0.1:5000": { username: "alice", password: secret },
          "127.0.0.1:6000": { identitytoken: secret }
        }
      })
      const plain = Option.getOrThrow(yield* lookup(dir, "127.0.0.1:5000"))
      assert.strictEqual(plain.username, "alice")
      assert.strictEqual(Redacted.value(plain.password!), secret)
      const token = Option.getOrThrow(yield* lookup(dir, "127.0.0.1:6000"))
      assert.strictEqual(Redacted.value(token.identityToken!), secret)
      assertNoSecret(token)
    })
  )

  it.effect("an entry without credentials (docker login with a store leaves one) is anonymous", () =>
    Effect.gen(function* () {
      const dir = configDir({ auths: { "127.0.0.1:5000": {}, "127.0.0.1:6000": { auth: "" } } })
      assert.deepStrictEqual(yield* source(dir, "127.0.0.1:5000"), { _tag: "Anonymous" })
      assert.isTrue(Option.isNone(yield* lookup(dir, "127.0.0.1:6000")))
    })
  )

  it.effect("registry keys are normalised as the CLI does: Docker Hub's names, schemes and paths", () =>
    Effect.gen(function* () {
      const dir = configDir({
        auths: {
          "https://index.docker.io/v1/": { auth: base64(`hub:${secret}`) },
          "http://127.0.0.1:5000/v2/": { auth: base64(`local:${secret}`) },
          "localhost:5001": { auth: base64(`other:${secret}`) }
        }
      })
      for (const hub of ["docker.io", "index.docker.io", "registry-1.docker.io"]) {
        const auth = Option.getOrThrow(yield* lookup(dir, hub))
        assert.strictEqual(auth.username, "hub")
        assert.strictEqual(auth.serverAddress, "https://index.docker.io/v1/")
      }
      const local = Option.getOrThrow(yield* lookup(dir, "127.0.0.1:5000"))
      assert.strictEqual(local.username, "local")
      assert.deepStrictEqual(yield* source(dir, "127.0.0.1:5000"), {
        _tag: "ConfigFile",
        path: path.join(dir, "config.json"),
        key: "http://127.0.0.1:5000/v2/"
      })
      // The port is part of the registry.
      assert.isTrue(Option.isNone(yield* lookup(dir, "127.0.0.1")))
      assert.isTrue(Option.isNone(yield* lookup(dir, "localhost:5002")))
    })
  )

  it.effect(
    "credHelpers: the registry's helper is run with its key on stdin, before credsStore and auths",
    () =>
      Effect.gen(function* () {
        const dir = configDir({
          auths: { "127.0.0.1:5000": { auth: base64("from-file:x") } },
          credsStore: "not-installed",
          credHelpers: { "127.0.0.1:5000": "armada-test", "docker.io": "armada-test" }
        })
        const auth = Option.getOrThrow(yield* lookup(dir, "127.0.0.1:5000"))
        assert.strictEqual(auth.username, "user-for-127.0.0.1:5000")
        assert.strictEqual(Redacted.value(auth.password!), secret)
        assertNoSecret(auth)
        assert.deepStrictEqual(yield* source(dir, "127.0.0.1:5000"), {
          _tag: "CredentialHelper",
          helper: "armada-test",
          key: "127.0.0.1:5000"
        })
        // Docker Hub's helper is asked for the CLI's key for it.
        assert.strictEqual(
          Option.getOrThrow(yield* lookup(dir, "docker.io")).username,
          "user-for-https://index.docker.io/v1/"
        )
        // Other registries go to the store.
        assert.deepStrictEqual(yield* source(dir, "127.0.0.1:6000"), {
          _tag: "CredentialStore",
          helper: "not-installed"
        })
      })
  )

  it.effect("credsStore serves every registry; <token> means an identity token; not found is anonymous", () =>
    Effect.gen(function* () {
      const dir = configDir({
        credsStore: "armada-test",
        auths: { "127.0.0.1:7000": { auth: base64("u:p") } }
      })
      assert.strictEqual(
        Option.getOrThrow(yield* lookup(dir, "127.0.0.1:5000")).username,
        "user-for-127.0.0.1:5000"
      )
      const token = Option.getOrThrow(yield* lookup(dir, "token.example"))
      assert.isUndefined(token.username)
      assert.strictEqual(Redacted.value(token.identityToken!), secret)
      assert.isTrue(Option.isNone(yield* lookup(dir, "empty.example")))
      // With a store, the file's own entries are not used (as in the CLI).
      assert.isTrue(Option.isNone(yield* lookup(dir, "127.0.0.1:7000")))
    })
  )

  it.effect(
    "a helper that is not installed, fails, or answers nonsense is a typed error that says what to do",
    () =>
      Effect.gen(function* () {
        const missing = yield* failure(configDir({ credsStore: "not-installed" }), "127.0.0.1:5000")
        assert.strictEqual(missing._tag, "CredentialHelperFailed")
        assert.strictEqual(missing._tag === "CredentialHelperFailed" && missing.reason, "NotInstalled")
        assert.include(missing.message, "docker-credential-not-installed")
        assert.include(missing.message, "not on PATH")

        const store = configDir({ credsStore: "armada-test" })
        const failing = yield* failure(store, "failing.example")
        assert.strictEqual(failing._tag === "CredentialHelperFailed" && failing.reason, "Failed")
        assert.include(failing.message, "the keychain is locked")
        assert.include(failing.message, "docker login failing.example")

        const broken = yield* failure(store, "broken.example")
        assert.strictEqual(broken._tag === "CredentialHelperFailed" && broken.reason, "BadAnswer")
        assertNoSecret(broken)
      })
  )

  // Live: the helper is a real process, so its deadline is on the real clock; long enough for a
  // busy machine to start the helper, which writes its pid before it hangs.
  it.live("a helper that does not answer in time is stopped and reported", () =>
    Effect.gen(function* () {
      const error = yield* failure(configDir({ credsStore: "armada-test" }), "hanging.example", "3 seconds")
      assert.strictEqual(error._tag === "CredentialHelperFailed" && error.reason, "TimedOut")
      assert.include(error.message, "3s")
      const pid = Number(fs.readFileSync(path.join(root, "bin", "hanging.pid"), "utf8"))
      assert.throws(() => process.kill(pid, 0), /ESRCH/)
    })
  )

  it.effect("a config file that is not JSON, or not the CLI's shape, is reported without quoting it", () =>
    Effect.gen(function* () {
      const notJson = configDir(`{"auths": {"127.0.0.1:5000": {"auth": "${secret}" }`)
      const syntax = yield* failure(notJson, "127.0.0.1:5000")
      assert.strictEqual(syntax._tag, "ConfigFileInvalid")
      assert.include(syntax.message, path.join(notJson, "config.json"))
      assert.include(syntax.message, "is not valid JSON")
      assertNoSecret(syntax)

      const shape = yield* failure(
        configDir({ auths: { "127.0.0.1:5000": { password: [secret] } } }),
        "x.example"
      )
      assert.strictEqual(shape._tag, "ConfigFileInvalid")
      assert.include(shape.message, '["auths"]["127.0.0.1:5000"]["password"]')
      assertNoSecret(shape)

      const badAuth = yield* failure(
        configDir({ auths: { "127.0.0.1:5000": { auth: secret } } }),
        "127.0.0.1:5000"
      )
      assert.strictEqual(badAuth._tag, "ConfigFileInvalid")
      assert.include(badAuth.message, "not base64 of username:password")
      assertNoSecret(badAuth)
    })
  )

  it.effect("layerConfig reads DOCKER_CONFIG", () =>
    Effect.gen(function* () {
      const dir = configDir({ auths: { "127.0.0.1:5000": { auth: base64(`alice:${secret}`) } } })
      const auth = yield* Effect.flatMap(Credentials.Credentials, (credentials) =>
        credentials.lookup("127.0.0.1:5000")
      ).pipe(
        Effect.provide(
          Credentials.layerConfig().pipe(
            Layer.provide(NodeContext.layer),
            Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["DOCKER_CONFIG", dir]]))))
          )
        )
      )
      assert.strictEqual(Option.getOrThrow(auth).username, "alice")
    })
  )

  it("describeSource names the source and never a secret", () => {
    assert.strictEqual(Credentials.describeSource({ _tag: "Anonymous" }), "none (anonymous)")
    assert.strictEqual(
      Credentials.describeSource({ _tag: "ConfigFile", path: "/h/.docker/config.json", key: "r:5000" }),
      'auths["r:5000"] in /h/.docker/config.json'
    )
    assert.strictEqual(
      Credentials.describeSource({ _tag: "CredentialHelper", helper: "pass", key: "r:5000" }),
      'docker-credential-pass (credHelpers["r:5000"])'
    )
    assert.strictEqual(
      Credentials.describeSource({ _tag: "CredentialStore", helper: "desktop" }),
      "docker-credential-desktop (credsStore)"
    )
  })
})
