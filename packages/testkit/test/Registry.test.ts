import { execFile, execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, Scope } from "effect"
import { skipWithoutEngine } from "../src/Engine.js"
import * as Registry from "../src/Registry.js"
import * as RegistryProxy from "../src/RegistryProxy.js"
import { isRunning } from "./process.js"

const skip = skipWithoutEngine("testkit Registry") || Registry.skipWithoutRegistry("testkit Registry")

const status = (url: string, headers: Record<string, string> = {}) =>
  Effect.promise(() => fetch(url, { headers }).then((response) => response.status))

const imageExists = (ref: string): boolean => {
  try {
    execFileSync("docker", ["image", "inspect", ref], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

describe.skipIf(skip)("Registry", () => {
  it.live(
    "an open and an htpasswd registry on 127.0.0.1: push, remove the local copy, pull over the wire, stop by PID",
    () =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const auth = { username: "armada", password: randomBytes(12).toString("hex") }
        const [open, closed] = yield* Effect.all([Registry.start(), Registry.start({ auth })], {
          concurrency: 2
        }).pipe(Scope.extend(scope))
        assert.match(open.address, /^127\.0\.0\.1:\d+$/)
        assert.notStrictEqual(open.address, closed.address)
        assert.strictEqual(yield* status(`http://${open.address}/v2/`), 200)
        assert.strictEqual(yield* status(`http://${closed.address}/v2/`), 401)
        const basic = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`
        assert.strictEqual(yield* status(`http://${closed.address}/v2/`, { Authorization: basic }), 200)

        const local = `armada-testkit/registry-${randomBytes(4).toString("hex")}:v1`
        yield* Registry.buildImage({ tag: local, bytes: 64 * 1024 })
        const [onOpen] = yield* Registry.push(open, [{ image: local, name: "team/nested/app:v1" }])
        const [onClosed] = yield* Registry.push(closed, [{ image: local, name: "private/app:v1" }])
        assert.strictEqual(onOpen!.tag, `${open.address}/team/nested/app:v1`)
        assert.match(onOpen!.digest, new RegExp(`^${open.address}/team/nested/app@sha256:[a-f0-9]{64}$`))
        assert.match(onClosed!.digest, /^127\.0\.0\.1:\d+\/private\/app@sha256:/)
        // The push's own tags are gone; only the caller's image remains, until it removes it.
        assert.isFalse(imageExists(onOpen!.tag))
        yield* Registry.removeLocal([local, "armada-testkit/absent:never"])
        assert.isFalse(imageExists(local))

        // The image now comes from the registry, by digest.
        execFileSync("docker", ["pull", "--quiet", onOpen!.digest], { stdio: "ignore" })
        assert.isTrue(imageExists(onOpen!.digest))
        yield* Registry.removeLocal([onOpen!.digest])
        // Without credentials the private one is refused.
        assert.throws(
          () => execFileSync("docker", ["pull", onClosed!.tag], { stdio: "pipe", encoding: "utf8" }),
          /no basic auth credentials|unauthorized/
        )

        yield* Scope.close(scope, Exit.void)
        assert.isFalse(isRunning(open.pid))
        assert.isFalse(isRunning(closed.pid))
        assert.isTrue(Option.isSome(closed.auth))
      }),
    120_000
  )

  it.live(
    "a proxy holds a layer download halfway until released, or corrupts it",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const registry = yield* Registry.start()
          const local = `armada-testkit/proxy-${randomBytes(4).toString("hex")}:v1`
          yield* Registry.buildImage({ tag: local, bytes: 512 * 1024 })
          const [pushed] = yield* Registry.push(registry, [{ image: local, name: "team/held:v1" }])
          yield* Registry.removeLocal([local])
          const pull = (ref: string) =>
            Effect.async<string>((resume) => {
              const child = execFile("docker", ["pull", ref], (error, stdout, stderr) =>
                resume(Effect.succeed(error === null ? "pulled" : `${stdout}${stderr}`))
              )
              return Effect.sync(() => child.kill())
            })

          const held = yield* RegistryProxy.start(registry, "hold")
          const ref = held.ref("team/held:v1")
          const pulling = yield* Effect.fork(pull(ref))
          yield* held.holding
          assert.isFalse(imageExists(ref))
          yield* held.release
          assert.strictEqual(yield* Fiber.join(pulling), "pulled")
          yield* Registry.removeLocal([ref])

          const corrupt = yield* RegistryProxy.start(registry, "corrupt")
          assert.match(yield* pull(corrupt.ref("team/held:v1")), /verification failed/)
          assert.isFalse(imageExists(corrupt.ref("team/held:v1")))
          assert.isString(pushed!.digest)
        })
      ),
    120_000
  )
})
