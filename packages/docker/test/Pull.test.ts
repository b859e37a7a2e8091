import type * as http from "node:http"
import { ImageRef } from "@armada/core"
import { Credentials, CredentialsError, DockerEngineLive } from "@armada/docker"
import type { ContainerEngineError, PullProgress } from "@armada/engine"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Redacted, Stream } from "effect"
import { fakeEngine } from "./fakeEngine.js"

const ref = ImageRef.ImageRef.make

interface Seen {
  readonly url: string
  readonly auth: string | undefined
}

/**
 * The live engine on a fake whose `POST /images/create` answers with `status` and `lines`, and
 * whose image inspect says whether the image is `present` afterwards. `seen` records each pull
 * request.
 */
const engineAnswering = (
  answer: { readonly status?: number; readonly lines?: ReadonlyArray<unknown>; readonly present?: boolean },
  credentials: Credentials.Credentials.Service = Credentials.anonymous
) =>
  Effect.gen(function* () {
    const seen: Array<Seen> = []
    const fake = yield* fakeEngine((request: http.IncomingMessage, response: http.ServerResponse) => {
      const url = request.url ?? ""
      if (request.method === "POST" && url.includes("/images/create?")) {
        seen.push({ url, auth: request.headers["x-registry-auth"] as string | undefined })
        const status = answer.status ?? 200
        response.writeHead(status, { "content-type": "application/json" })
        if (status !== 200) return response.end(JSON.stringify(answer.lines?.[0] ?? {}))
        return response.end((answer.lines ?? []).map((line) => `${JSON.stringify(line)}\n`).join(""))
      }
      if (request.method === "GET" && /\/images\/.+\/json/.test(url)) {
        response.writeHead(answer.present === true ? 200 : 404, { "content-type": "application/json" })
        return response.end(
          JSON.stringify(
            answer.present === true
              ? { Id: "sha256:1", RepoTags: [], Size: 1, Config: { Labels: {} } }
              : { message: "No such image" }
          )
        )
      }
      response.writeHead(500)
      response.end(JSON.stringify({ message: `unexpected ${request.method} ${url}` }))
    })
    const engine = yield* DockerEngineLive.make({ host: `unix://${fake.socket}` }).pipe(
      Effect.provideService(Credentials.Credentials, credentials)
    )
    return { engine, seen }
  })

const pullFailure = (
  engine: { readonly pull: (image: ImageRef.ImageRef) => Stream.Stream<PullProgress, unknown> },
  image: ImageRef.ImageRef
) =>
  Effect.map(
    Effect.flip(Stream.runDrain(engine.pull(image))),
    (error) => error as ContainerEngineError.PullFailed
  )

const queryOf = (url: string) => Object.fromEntries(new URL(url, "http://engine").searchParams)

const final = { status: "Status: Downloaded newer image for 127.0.0.1:5000/team/app:v1" }

describe("pull on the Docker engine", () => {
  it.scopedLive("asks for the exact reference: one tag, or the digest, never every tag", () =>
    Effect.gen(function* () {
      const { engine, seen } = yield* engineAnswering({ lines: [final] })
      const digest = `sha256:${"a".repeat(64)}`
      for (const image of [
        "127.0.0.1:5000/team/nested/app:v1",
        `127.0.0.1:5000/team/app@${digest}`,
        `127.0.0.1:5000/team/app:v1@${digest}`,
        "alpine"
      ]) {
        yield* Stream.runDrain(engine.pull(ref(image)))
      }
      assert.deepStrictEqual(
        seen.map((request) => queryOf(request.url)),
        [
          { fromImage: "127.0.0.1:5000/team/nested/app", tag: "v1" },
          { fromImage: "127.0.0.1:5000/team/app", tag: digest },
          { fromImage: "127.0.0.1:5000/team/app", tag: digest },
          { fromImage: "alpine", tag: "latest" }
        ]
      )
      assert.isTrue(
        seen.every((request) => request.auth === undefined),
        "anonymous: no X-Registry-Auth"
      )
    })
  )

  it.scopedLive("sends the registry's credentials as X-Registry-Auth, and only to the engine", () =>
    Effect.gen(function* () {
      const secret = "s3cret-Pa55word"
      const asked: Array<string> = []
      const { engine, seen } = yield* engineAnswering(
        { lines: [final] },
        {
          source: () => Effect.succeed({ _tag: "Anonymous" }),
          lookup: (registry) =>
            Effect.sync(() => {
              asked.push(registry)
              return Option.some({
                serverAddress: registry,
                username: "armada",
                password: Redacted.make(secret),
                identityToken: undefined
              })
            })
        }
      )
      const progress = yield* Stream.runCollect(engine.pull(ref("127.0.0.1:5000/private/app:v1")))
      assert.deepStrictEqual(asked, ["127.0.0.1:5000"])
      const header = seen[0]?.auth
      assert.isString(header)
      assert.deepStrictEqual(JSON.parse(Buffer.from(header!, "base64url").toString("utf8")), {
        serveraddress: "127.0.0.1:5000",
        username: "armada",
        password: secret
      })
      assert.notInclude(JSON.stringify([...progress]), secret)
    })
  )

  it.scopedLive(
    "a credential source that fails is a Credentials failure, and the engine is never asked",
    () =>
      Effect.gen(function* () {
        const { engine, seen } = yield* engineAnswering(
          { lines: [final] },
          {
            source: () => Effect.succeed({ _tag: "Anonymous" }),
            lookup: (registry) =>
              Effect.fail(
                new CredentialsError.CredentialHelperFailed({
                  helper: "pass",
                  registry,
                  reason: "NotInstalled"
                })
              )
          }
        )
        const error = yield* pullFailure(engine, ref("127.0.0.1:5000/private/app:v1"))
        assert.strictEqual(error._tag, "PullFailed")
        assert.strictEqual(error.reason, "Credentials")
        assert.include(error.message, "docker-credential-pass")
        assert.strictEqual(seen.length, 0)
      })
  )

  // What Docker 20.10 answers, as seen against Debian's registry 2.8 on 127.0.0.1.
  const answers: ReadonlyArray<
    readonly [
      string,
      { readonly status: number; readonly message: string },
      ContainerEngineError.PullFailureReason
    ]
  > = [
    [
      "a missing tag or repository (one answer for both)",
      {
        status: 404,
        message: "manifest for 127.0.0.1:5000/team/app:v1 not found: manifest unknown: manifest unknown"
      },
      "NotFound"
    ],
    [
      "a registry where nothing listens",
      {
        status: 500,
        message: 'Get "http://127.0.0.1:5000/v2/": dial tcp 127.0.0.1:5000: connect: connection refused'
      },
      "RegistryUnreachable"
    ],
    [
      "no credentials",
      {
        status: 500,
        message: 'Head "http://127.0.0.1:5000/v2/team/app/manifests/v1": no basic auth credentials'
      },
      "Unauthorized"
    ],
    [
      "wrong credentials",
      {
        status: 500,
        message: 'Get "http://127.0.0.1:5000/v2/": unauthorized: authentication required'
      },
      "Unauthorized"
    ],
    ["anything else", { status: 500, message: "toomanyrequests: slow down" }, "Failed"]
  ]
  for (const [name, answer, reason] of answers) {
    it.scopedLive(`the engine's answer to ${name} is the reason ${reason}`, () =>
      Effect.gen(function* () {
        const { engine } = yield* engineAnswering({
          status: answer.status,
          lines: [{ message: answer.message }]
        })
        const error = yield* pullFailure(engine, ref("127.0.0.1:5000/team/app:v1"))
        assert.strictEqual(error._tag, "PullFailed")
        assert.strictEqual(error.reason, reason)
        assert.strictEqual(error.detail, answer.message)
      })
    )
  }

  it.scopedLive("words of the reference or a URL never decide the reason", () =>
    Effect.gen(function* () {
      const message =
        'Get "http://127.0.0.1:5000/v2/denied/notfound/manifests/v1": dial tcp 127.0.0.1:5000: connect: connection refused'
      const { engine } = yield* engineAnswering({ status: 500, lines: [{ message }] })
      const error = yield* pullFailure(engine, ref("127.0.0.1:5000/denied/notfound:v1"))
      assert.strictEqual(error.reason, "RegistryUnreachable")
    })
  )

  it.scopedLive("an error inside the progress stream is InStream, after the progress before it", () =>
    Effect.gen(function* () {
      const { engine } = yield* engineAnswering({
        lines: [
          { status: "Pulling from team/app", id: "v1" },
          { status: "Downloading", id: "abc", progressDetail: { current: 5, total: 10 } },
          {
            errorDetail: { message: "filesystem layer verification failed for digest sha256:abc" },
            error: "filesystem layer verification failed for digest sha256:abc"
          }
        ]
      })
      const seen: Array<PullProgress> = []
      const error = yield* Effect.flip(
        Stream.runForEach(engine.pull(ref("127.0.0.1:5000/team/app:v1")), (p) =>
          Effect.sync(() => seen.push(p))
        )
      )
      assert.strictEqual((error as ContainerEngineError.PullFailed).reason, "InStream")
      assert.deepStrictEqual(
        seen.map((p) => [p.layer, p.status, p.current, p.total]),
        [
          ["v1", "Pulling from team/app", undefined, undefined],
          ["abc", "Downloading", 5, 10]
        ]
      )
    })
  )

  it.scopedLive("a stream that ends without the image is Interrupted", () =>
    Effect.gen(function* () {
      const { engine } = yield* engineAnswering({
        lines: [{ status: "Downloading", id: "abc", progressDetail: { current: 5, total: 10 } }],
        present: false
      })
      const error = yield* pullFailure(engine, ref("127.0.0.1:5000/team/app:v1"))
      assert.strictEqual(error.reason, "Interrupted")
      assert.include(error.message, "stopped before the image was complete")
    })
  )

  it.scopedLive("a stream that ends without Docker's last status, but with the image there, succeeded", () =>
    Effect.gen(function* () {
      const { engine } = yield* engineAnswering({
        lines: [{ status: "Download complete", id: "abc" }],
        present: true
      })
      const progress = yield* Stream.runCollect(engine.pull(ref("127.0.0.1:5000/team/app:v1")))
      assert.strictEqual([...progress].length, 1)
    })
  )
})
