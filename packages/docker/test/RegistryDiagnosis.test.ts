import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { ImageRef } from "@armada/core"
import { DockerEngineLive } from "@armada/docker"
import { ContainerEngineError } from "@armada/engine"
import { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option, Redacted, Stream, TestClock } from "effect"
import type { RegistryAuth } from "../src/Credentials.js"
import * as RegistryDiagnosis from "../src/internal/registryDiagnosis.js"
import { fakeEngine } from "./fakeEngine.js"

const ref = ImageRef.ImageRef.make

interface Seen {
  readonly url: string
  readonly authorization: string | undefined
}

/** A fake registry on 127.0.0.1 (and only there), answering as `handler` decides; `seen` records each request. */
const fakeRegistry = (handler: (request: http.IncomingMessage, response: http.ServerResponse) => void) =>
  Effect.map(
    Effect.acquireRelease(
      Effect.promise(async () => {
        const seen: Array<Seen> = []
        const server = http.createServer((request, response) => {
          seen.push({ url: request.url ?? "", authorization: request.headers.authorization })
          handler(request, response)
        })
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
        return { server, seen }
      }),
      ({ server }) =>
        Effect.promise(async () => {
          server.closeAllConnections()
          await new Promise((resolve) => server.close(resolve))
        })
    ),
    ({ server, seen }) => ({ host: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen })
  )

const json = (
  response: http.ServerResponse,
  status: number,
  body: unknown,
  headers: http.OutgoingHttpHeaders = {}
) => {
  response.writeHead(status, { "content-type": "application/json", ...headers })
  response.end(JSON.stringify(body))
}

const nameUnknown = { errors: [{ code: "NAME_UNKNOWN", message: "repository name not known to registry" }] }

const engineSaid = "manifest for the image not found: manifest unknown: manifest unknown"
const notFound = (image: string) =>
  new ContainerEngineError.PullFailed({ image, reason: "NotFound", detail: engineSaid })

const auth = (username: string, password: string): Option.Option<RegistryAuth> =>
  Option.some({
    serverAddress: "registry",
    username,
    password: Redacted.make(password),
    identityToken: undefined
  })

const diagnose = (image: string, credentials: Option.Option<RegistryAuth> = Option.none()) =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    RegistryDiagnosis.diagnose(client, ref(image), credentials, notFound(image))
  ).pipe(Effect.provide(NodeHttpClient.layerUndici))

const basic = (username: string, password: string) =>
  `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`

describe("asking the registry what a not-found pull is missing", () => {
  it("the registry's API: Docker Hub's host, http for loopback registries, https otherwise", () => {
    assert.strictEqual(RegistryDiagnosis.apiBase("docker.io"), "https://registry-1.docker.io")
    assert.strictEqual(RegistryDiagnosis.apiBase("127.0.0.1:5000"), "http://127.0.0.1:5000")
    assert.strictEqual(RegistryDiagnosis.apiBase("127.8.9.10"), "http://127.8.9.10")
    assert.strictEqual(RegistryDiagnosis.apiBase("localhost:5000"), "http://localhost:5000")
    assert.strictEqual(RegistryDiagnosis.apiBase("registry.example:5000"), "https://registry.example:5000")
    assert.strictEqual(RegistryDiagnosis.apiBase("127.0.0.1.example"), "https://127.0.0.1.example")
  })

  it.scopedLive("404 NAME_UNKNOWN: RepositoryNotFound, in the registry's words", () =>
    Effect.gen(function* () {
      const registry = yield* fakeRegistry((_, response) => json(response, 404, nameUnknown))
      const failure = yield* diagnose(`${registry.host}/team/nowhere:v1`)
      assert.strictEqual(failure.reason, "RepositoryNotFound")
      assert.include(
        failure.detail,
        "does not know team/nowhere: NAME_UNKNOWN: repository name not known to registry"
      )
      assert.include(failure.message, `repository not found: ${registry.host} has no such repository`)
      assert.deepStrictEqual(
        registry.seen.map((seen) => seen.url),
        ["/v2/team/nowhere/tags/list"]
      )
    })
  )

  it.scopedLive(
    "a repository without the tag: TagNotFound, naming five of the tags it has and how many more",
    () =>
      Effect.gen(function* () {
        const tags = ["v1", "v2", "v3", "v4", "v5", "v6", "v7"]
        const registry = yield* fakeRegistry((_, response) => json(response, 200, { name: "team/app", tags }))
        const failure = yield* diagnose(`${registry.host}/team/app:nope`)
        assert.strictEqual(failure.reason, "TagNotFound")
        assert.strictEqual(
          failure.detail,
          "team/app has no tag nope; its tags: v1, v2, v3, v4, v5 and 2 more"
        )
        assert.include(failure.message, "tag not found: the repository exists on")
      })
  )

  it.scopedLive("the tags of every page are read (Link: rel=next)", () =>
    Effect.gen(function* () {
      const registry = yield* fakeRegistry((request, response) =>
        request.url?.includes("last=") === true
          ? json(response, 200, { name: "team/app", tags: ["v3"] })
          : json(
              response,
              200,
              { name: "team/app", tags: ["v1", "v2"] },
              { link: '</v2/team/app/tags/list?last=v2&n=2>; rel="next"' }
            )
      )
      const onSecondPage = yield* diagnose(`${registry.host}/team/app:v3`)
      assert.strictEqual(onSecondPage.reason, "NotFound")
      assert.include(onSecondPage.detail, "the registry lists the tag v3")
      const missing = yield* diagnose(`${registry.host}/team/app:v4`)
      assert.strictEqual(missing.detail, "team/app has no tag v4; its tags: v1, v2, v3")
    })
  )

  it.scopedLive("a digest the repository has no manifest for: TagNotFound, said of the digest", () =>
    Effect.gen(function* () {
      const registry = yield* fakeRegistry((_, response) =>
        json(response, 200, { name: "team/app", tags: ["v1"] })
      )
      const digest = `sha256:${"a".repeat(64)}`
      const failure = yield* diagnose(`${registry.host}/team/app@${digest}`)
      assert.strictEqual(failure.reason, "TagNotFound")
      assert.strictEqual(failure.detail, `team/app has no manifest ${digest}; its tags: v1`)
      assert.include(failure.message, "digest not found")
      assert.include(failure.message, "has no manifest with this digest")
    })
  )

  // The token flow as Docker Hub runs it: a 401 with a Bearer challenge, a token from the realm
  // (with basic credentials when there are some), the request again with the token.
  const tokenRegistry = (options: { readonly password?: string }) =>
    Effect.gen(function* () {
      const registry = yield* fakeRegistry((request, response) => {
        const url = new URL(request.url ?? "/", "http://registry")
        if (url.pathname === "/token") {
          if (
            options.password !== undefined &&
            request.headers.authorization !== basic("me", options.password)
          )
            return json(response, 401, { details: "incorrect username or password" })
          const scope = url.searchParams.get("scope")
          const service = url.searchParams.get("service")
          return json(response, 200, { token: `token for ${service} ${scope}` })
        }
        if (request.headers.authorization === "Bearer token for fake-registry repository:team/app:pull")
          return json(response, 200, { name: "team/app", tags: ["v1"] })
        if (request.headers.authorization === "Bearer token for fake-registry repository:team/nowhere:pull")
          return json(response, 404, nameUnknown)
        return json(
          response,
          401,
          { errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] },
          {
            "www-authenticate": `Bearer realm="http://${request.headers.host}/token",service="fake-registry",scope="repository:${url.pathname.split("/").slice(2, -2).join("/")}:pull"`
          }
        )
      })
      return registry
    })

  it.scopedLive("401 with a Bearer challenge: the token flow, anonymously", () =>
    Effect.gen(function* () {
      const registry = yield* tokenRegistry({})
      assert.strictEqual((yield* diagnose(`${registry.host}/team/app:nope`)).reason, "TagNotFound")
      assert.strictEqual((yield* diagnose(`${registry.host}/team/nowhere:v1`)).reason, "RepositoryNotFound")
      assert.deepStrictEqual(
        registry.seen.slice(0, 3).map((seen) => [seen.url, seen.authorization]),
        [
          ["/v2/team/app/tags/list", undefined],
          ["/token?service=fake-registry&scope=repository%3Ateam%2Fapp%3Apull", undefined],
          ["/v2/team/app/tags/list", "Bearer token for fake-registry repository:team/app:pull"]
        ]
      )
    })
  )

  it.scopedLive(
    "401 with a Bearer challenge: the credentials go to the token service only, and never into the failure",
    () =>
      Effect.gen(function* () {
        const secret = "s3cret-pw"
        const registry = yield* tokenRegistry({ password: secret })
        const found = yield* diagnose(`${registry.host}/team/app:nope`, auth("me", secret))
        assert.strictEqual(found.reason, "TagNotFound")
        assert.deepStrictEqual(
          registry.seen.map((seen) => seen.authorization),
          [undefined, basic("me", secret), "Bearer token for fake-registry repository:team/app:pull"]
        )
        const refused = yield* diagnose(`${registry.host}/team/app:nope`, auth("me", "wrong-pw"))
        assert.strictEqual(refused.reason, "NotFound")
        assert.include(refused.detail, engineSaid)
        assert.include(
          refused.detail,
          "could not ask the registry which is missing: its token service refused armada a token (401)"
        )
        for (const failure of [found, refused]) {
          const printed = JSON.stringify(failure) + failure.message
          assert.notInclude(printed, secret)
          assert.notInclude(printed, "wrong-pw")
        }
      })
  )

  it.scopedLive("401 with a Basic challenge: the credentials, else NotFound saying armada has none", () =>
    Effect.gen(function* () {
      const registry = yield* fakeRegistry((request, response) =>
        request.headers.authorization === basic("me", "pw")
          ? json(response, 200, { name: "team/app", tags: ["v1"] })
          : json(response, 401, {}, { "www-authenticate": 'Basic realm="registry"' })
      )
      assert.strictEqual(
        (yield* diagnose(`${registry.host}/team/app:nope`, auth("me", "pw"))).reason,
        "TagNotFound"
      )
      const anonymous = yield* diagnose(`${registry.host}/team/app:nope`)
      assert.strictEqual(anonymous.reason, "NotFound")
      assert.include(anonymous.detail, "the registry wants credentials, and armada has none for it")
      const wrong = yield* diagnose(`${registry.host}/team/app:nope`, auth("me", "nope"))
      assert.strictEqual(wrong.reason, "NotFound")
      assert.include(wrong.detail, "the registry refused armada's request (401)")
    })
  )

  it.scopedLive("nothing listens: NotFound, saying armada cannot reach the registry from its host", () =>
    Effect.gen(function* () {
      // A port on 127.0.0.1 that was listening a moment ago, closed before the question.
      const { host } = yield* Effect.scoped(fakeRegistry(() => undefined))
      const failure = yield* diagnose(`${host}/team/app:v1`)
      assert.strictEqual(failure.reason, "NotFound")
      assert.include(failure.detail, engineSaid)
      assert.include(failure.detail, `armada cannot reach http://${host} from its host`)
    })
  )

  it.scoped("a registry that does not answer: NotFound once the deadline passes", () =>
    Effect.gen(function* () {
      const asked = yield* Deferred.make<void>()
      const registry = yield* fakeRegistry(() => Deferred.unsafeDone(asked, Effect.void))
      const fiber = yield* Effect.fork(diagnose(`${registry.host}/team/app:v1`))
      yield* Deferred.await(asked)
      yield* TestClock.adjust(RegistryDiagnosis.deadline)
      const failure = yield* Fiber.join(fiber)
      assert.strictEqual(failure.reason, "NotFound")
      assert.include(failure.detail, "the registry did not answer within 3s")
    })
  )

  it.scopedLive(
    "the live engine asks the registry after a not-found pull when an HttpClient is provided for its life",
    () =>
      Effect.gen(function* () {
        const registry = yield* fakeRegistry((_, response) => json(response, 404, nameUnknown))
        const fake = yield* fakeEngine((_, response) => {
          response.writeHead(404, { "content-type": "application/json" })
          response.end(JSON.stringify({ message: engineSaid }))
        })
        const engine = yield* DockerEngineLive.make({ host: `unix://${fake.socket}` })
        const failure = yield* Effect.flip(
          Stream.runDrain(engine.pull(ref(`${registry.host}/team/nowhere:v1`)))
        )
        assert.strictEqual(failure._tag, "PullFailed")
        assert.strictEqual((failure as ContainerEngineError.PullFailed).reason, "RepositoryNotFound")
        assert.strictEqual(registry.seen.length, 1)
      }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )
})
