/**
 * What a pull the engine found nothing for is missing. Docker's registry API answers a missing
 * repository and a missing tag with one `manifest unknown`, so after the engine says not found,
 * armada asks the registry's v2 API itself (`GET /v2/<repository>/tags/list`) and refines the
 * reason: `RepositoryNotFound` when the registry does not know the repository, `TagNotFound` when
 * it does but not the tag (or digest). This is only a refinement, best effort: the engine's view
 * of the registry may differ from armada's (a remote engine, a mirror), so whenever the registry
 * cannot be asked, or its answer decides nothing, the failure stays `NotFound` and its detail says
 * why armada could not tell which.
 *
 * @internal
 */
import { ImageRef } from "@armada/core"
import { ContainerEngineError } from "@armada/engine"
import { HttpClient, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { Duration, Effect, Option, Redacted, Schema } from "effect"
import type { RegistryAuth } from "../Credentials.js"

/**
 * How long asking the registry may take, token and every page of tags included.
 *
 * @internal
 */
export const deadline = Duration.seconds(3)

/** The most tags a message names. */
const tagsNamed = 5
/** The most pages of tags followed (`Link: <…>; rel="next"`). */
const maxPages = 20

/**
 * Where the registry's API is: Docker Hub's at `registry-1.docker.io`; over http for loopback
 * registries (the engine allows them insecure by default), over https otherwise.
 *
 * @internal
 */
export const apiBase = (registry: string): string => {
  if (registry === ImageRef.dockerHub) return "https://registry-1.docker.io"
  const host = registry.replace(/:\d+$/, "")
  const loopback = host === "localhost" || host === "[::1]" || /^127(?:\.\d{1,3}){3}$/.test(host)
  return `${loopback ? "http" : "https"}://${registry}`
}

/** Why the registry could not tell which part is missing. */
class Undecided extends Schema.TaggedError<Undecided>()("Undecided", { why: Schema.String }) {}

const Tags = Schema.Struct({ tags: Schema.NullishOr(Schema.Array(Schema.String)) })
const Token = Schema.Struct({
  token: Schema.optional(Schema.String),
  access_token: Schema.optional(Schema.String)
})
const Errors = Schema.Struct({
  errors: Schema.Array(Schema.Struct({ code: Schema.String, message: Schema.optional(Schema.String) }))
})

/** The `key="value"` parameters of a `WWW-Authenticate: Bearer …` challenge. */
const bearerChallenge = (header: string | undefined): Option.Option<Record<string, string>> => {
  if (header === undefined || !/^Bearer\s/i.test(header)) return Option.none()
  const params: Record<string, string> = {}
  for (const [, key, value] of header.matchAll(/(\w+)="([^"]*)"/g)) params[key!.toLowerCase()] = value!
  return params.realm === undefined ? Option.none() : Option.some(params)
}

/** The registry's own words for an error answer (`NAME_UNKNOWN: repository name not known to registry`). */
const registryWords = (response: HttpClientResponse.HttpClientResponse) =>
  response.json.pipe(
    Effect.flatMap(Schema.decodeUnknown(Errors)),
    Effect.map((body) =>
      body.errors.map((error) =>
        error.message === undefined ? error.code : `${error.code}: ${error.message}`
      )
    ),
    Effect.orElseSucceed((): ReadonlyArray<string> => [])
  )

/** The next page of a paginated tags list, from its `Link` header. */
const nextPage = (response: HttpClientResponse.HttpClientResponse, url: string): Option.Option<string> => {
  const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(response.headers.link ?? "")
  return link === null ? Option.none() : Option.some(new URL(link[1]!, url).href)
}

type Answer =
  | { readonly _tag: "NoRepository"; readonly words: ReadonlyArray<string> }
  | { readonly _tag: "Tags"; readonly tags: ReadonlyArray<string> }

/**
 * The repository's tags, or that the registry does not know it. Credentials go only as the
 * registry asks for them: basic auth on a `Basic` challenge, or to the token service of a
 * `Bearer` challenge, whose token then goes with the request.
 */
const ask = (
  client: HttpClient.HttpClient,
  base: string,
  repository: string,
  auth: Option.Option<RegistryAuth>
) =>
  Effect.gen(function* () {
    const basic = Option.flatMap(auth, (auth) =>
      auth.username === undefined || auth.password === undefined
        ? Option.none()
        : Option.some({ username: auth.username, password: auth.password })
    )
    const withBasic = (request: HttpClientRequest.HttpClientRequest) =>
      Option.match(basic, {
        onNone: () => request,
        onSome: ({ password, username }) => HttpClientRequest.basicAuth(request, username, password)
      })
    const failedWith = (status: number, words: ReadonlyArray<string>) =>
      new Undecided({
        why: `the registry answered ${status}${words.length === 0 ? "" : ` (${words.join("; ")})`}`
      })

    const token = (challenge: Record<string, string>) =>
      Effect.gen(function* () {
        const realm = challenge.realm!
        if (!/^https?:\/\//.test(realm))
          return yield* new Undecided({
            why: `the registry named a token service that is not http(s): ${realm}`
          })
        const response = yield* client.execute(
          withBasic(
            HttpClientRequest.get(realm).pipe(
              HttpClientRequest.setUrlParams({
                ...(challenge.service === undefined ? {} : { service: challenge.service }),
                scope: challenge.scope ?? `repository:${repository}:pull`
              })
            )
          )
        )
        if (response.status !== 200)
          return yield* new Undecided({
            why: `its token service refused armada a token (${response.status}${Option.isNone(basic) ? ", asked without credentials" : ""})`
          })
        const body = yield* Effect.flatMap(response.json, Schema.decodeUnknown(Token))
        const value = body.token ?? body.access_token
        if (value === undefined)
          return yield* new Undecided({ why: "its token service answered without a token" })
        return Redacted.make(value)
      })

    const page = (url: string) =>
      Effect.gen(function* () {
        const first = yield* client.execute(HttpClientRequest.get(url))
        if (first.status !== 401) return first
        const challenge = bearerChallenge(first.headers["www-authenticate"])
        if (Option.isSome(challenge)) {
          const bearer = yield* token(challenge.value)
          return yield* client.execute(HttpClientRequest.bearerToken(HttpClientRequest.get(url), bearer))
        }
        if (Option.isNone(basic))
          return yield* new Undecided({ why: "the registry wants credentials, and armada has none for it" })
        return yield* client.execute(withBasic(HttpClientRequest.get(url)))
      })

    const tags: Array<string> = []
    let url = `${base}/v2/${repository}/tags/list`
    for (let pages = 0; pages < maxPages; pages++) {
      const response = yield* page(url)
      if (response.status === 404)
        return { _tag: "NoRepository", words: yield* registryWords(response) } as Answer
      if (response.status === 401 || response.status === 403)
        return yield* new Undecided({
          why: `the registry refused armada's request (${response.status}${Option.isNone(auth) ? ", sent without credentials" : ""})`
        })
      if (response.status !== 200) return yield* failedWith(response.status, yield* registryWords(response))
      const body = yield* Effect.flatMap(response.json, Schema.decodeUnknown(Tags))
      tags.push(...(body.tags ?? []))
      const next = nextPage(response, url)
      if (Option.isNone(next)) return { _tag: "Tags", tags } as Answer
      url = next.value
    }
    return yield* new Undecided({
      why: `the registry lists the repository's tags in more than ${maxPages} pages`
    })
  })

const listed = (tags: ReadonlyArray<string>): string =>
  tags.length === 0
    ? "it has no tags"
    : `its tags: ${tags.slice(0, tagsNamed).join(", ")}${tags.length > tagsNamed ? ` and ${tags.length - tagsNamed} more` : ""}`

/**
 * The reason a not-found pull of `image` gets once its registry is asked: `failure` (a `NotFound`)
 * refined to `RepositoryNotFound` or `TagNotFound`, else kept `NotFound` with why the registry
 * could not tell. Never fails; takes at most `deadline`. Secrets stay `Redacted` until a request
 * is built, and no error holds them.
 *
 * @internal
 */
export const diagnose = (
  client: HttpClient.HttpClient,
  image: ImageRef.ImageRef,
  auth: Option.Option<RegistryAuth>,
  failure: ContainerEngineError.PullFailed
): Effect.Effect<ContainerEngineError.PullFailed> => {
  const registry = ImageRef.registryOf(image)
  const base = apiBase(registry)
  // The repository as the engine asks for it (`library/` before a single Docker Hub name).
  const canonical = ImageRef.parts(ImageRef.ImageRef.make(ImageRef.canonical(image)))
  const { repository } = canonical
  const refined = (reason: ContainerEngineError.PullFailureReason, detail: string) =>
    new ContainerEngineError.PullFailed({ image, reason, detail })
  return ask(client.pipe(HttpClient.withTracerPropagation(false)), base, repository, auth).pipe(
    Effect.timeoutFail({
      duration: deadline,
      onTimeout: () =>
        new Undecided({ why: `the registry did not answer within ${Duration.format(deadline)}` })
    }),
    Effect.map((answer) => {
      if (answer._tag === "NoRepository")
        return refined(
          "RepositoryNotFound",
          `${registry} does not know ${repository}${answer.words.length === 0 ? "" : `: ${answer.words.join("; ")}`}`
        )
      return Option.match(canonical.digest, {
        onSome: (digest) =>
          refined("TagNotFound", `${repository} has no manifest ${digest}; ${listed(answer.tags)}`),
        onNone: () => {
          const tag = Option.getOrElse(canonical.tag, () => "latest")
          return answer.tags.includes(tag)
            ? refined(
                "NotFound",
                `${failure.detail}; the registry lists the tag ${tag}, so armada cannot tell what the engine did not find (a platform, a mirror?)`
              )
            : refined("TagNotFound", `${repository} has no tag ${tag}; ${listed(answer.tags)}`)
        }
      })
    }),
    Effect.catchAll((error) => {
      const why =
        error._tag === "Undecided"
          ? error.why
          : error._tag === "RequestError"
            ? `armada cannot reach ${base} from its host (${error.cause instanceof Error ? error.cause.message : error.reason})`
            : error._tag === "ParseError"
              ? "the registry's answer is not what its API describes"
              : `the registry's answer could not be read (${error.reason})`
      return Effect.succeed(
        refined("NotFound", `${failure.detail}; armada could not ask the registry which is missing: ${why}`)
      )
    }),
    Effect.withSpan("DockerEngine.diagnoseNotFound", { attributes: { image, registry } })
  )
}
