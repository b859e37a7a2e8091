import { ImageRef, Names } from "@armada/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Option, ParseResult, Schema } from "effect"

const digest = `sha256:${"0123456789abcdef".repeat(4)}`
const decode = Schema.decodeUnknownEither(ImageRef.ImageRef)
const messageOf = (input: unknown): string => {
  const result = decode(input)
  assert.isTrue(Either.isLeft(result), `${JSON.stringify(input)} should be rejected`)
  return ParseResult.TreeFormatter.formatErrorSync(
    (result as Either.Left<ParseResult.ParseError, never>).left
  )
}

describe("ImageRef", () => {
  const valid: ReadonlyArray<
    readonly [string, string | undefined, string, string | undefined, string | undefined]
  > = [
    ["alpine", undefined, "alpine", undefined, undefined],
    ["alpine:3.19", undefined, "alpine", "3.19", undefined],
    ["library/alpine", undefined, "library/alpine", undefined, undefined],
    ["armada/test-app:dev", undefined, "armada/test-app", "dev", undefined],
    ["docker.io/library/alpine:latest", "docker.io", "library/alpine", "latest", undefined],
    ["localhost/app", "localhost", "app", undefined, undefined],
    ["localhost:5000/team/app:1.0", "localhost:5000", "team/app", "1.0", undefined],
    ["registry.example.com:443/a/b/c:v1_2-3", "registry.example.com:443", "a/b/c", "v1_2-3", undefined],
    ["[::1]:5000/app", "[::1]:5000", "app", undefined, undefined],
    // Docker reads a first component with an upper-case letter as a registry host.
    ["Host/app", "Host", "app", undefined, undefined],
    [`app@${digest}`, undefined, "app", undefined, digest],
    [`app:1.0@${digest}`, undefined, "app", "1.0", digest],
    [`ghcr.example/o/app:1@${digest}`, "ghcr.example", "o/app", "1", digest],
    ["a__b/c.d/e-f/g--h", undefined, "a__b/c.d/e-f/g--h", undefined, undefined],
    ["app:5000", undefined, "app", "5000", undefined]
  ]
  it.each(valid)("%s is valid and splits into its parts", (raw, registry, repository, tag, digestPart) => {
    const ref = Schema.decodeSync(ImageRef.ImageRef)(raw)
    assert.strictEqual(ref, raw)
    assert.deepStrictEqual(ImageRef.parts(ref), {
      registry: Option.fromNullable(registry),
      repository,
      tag: Option.fromNullable(tag),
      digest: Option.fromNullable(digestPart)
    })
  })

  const junk: ReadonlyArray<string> = [
    "",
    "UPPER",
    "app:",
    "app:a:b",
    ":tag",
    "/app",
    "app/",
    "a//b",
    "-app",
    "app/-x",
    "app..x",
    "app___x",
    "app:-tag",
    `app:${"t".repeat(129)}`,
    "app@sha256:abc",
    `app@md5:${"0".repeat(32)}`,
    `app@${digest}:tag`,
    "http://registry/app",
    "app name",
    "app\n",
    "ünïcode",
    "app:täg",
    "a".repeat(256),
    `${"a".repeat(250)}.com/${"b".repeat(10)}`,
    "x".repeat(300)
  ]
  it.each(junk)("%j is rejected with a clear message", (raw) => {
    const message = messageOf(raw)
    const shown = raw.length > 80 ? `${raw.slice(0, 77)}...` : raw
    assert.strictEqual(message, `expected an image reference, got ${JSON.stringify(shown)}`)
  })

  it("a value that is not a string gets the same message", () => {
    assert.strictEqual(messageOf(42), "expected an image reference, got 42")
    assert.strictEqual(messageOf(null), "expected an image reference, got null")
  })

  it.effect("decodeAs turns it into an InputError naming the field, with the value named once", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Names.decodeAs(ImageRef.ImageRef, "processors[0].image", "Bad Image"))
      assert.strictEqual(error.message, 'processors[0].image: expected an image reference, got "Bad Image"')
    })
  )

  it("a name of 255 characters is the longest, and the tag and digest do not count", () => {
    const name = `${"a".repeat(251)}/bcd`
    assert.strictEqual(name.length, 255)
    assert.isTrue(ImageRef.isImageRef(name))
    assert.isTrue(ImageRef.isImageRef(`${name}:${"t".repeat(128)}@${digest}`))
    assert.isFalse(ImageRef.isImageRef(`${name}e`))
  })

  it("withDefaultTag adds :latest only when there is neither tag nor digest", () => {
    const make = Schema.decodeSync(ImageRef.ImageRef)
    assert.strictEqual(ImageRef.withDefaultTag(make("alpine")), "alpine:latest")
    assert.strictEqual(ImageRef.withDefaultTag(make("localhost:5000/app")), "localhost:5000/app:latest")
    assert.strictEqual(ImageRef.withDefaultTag(make("alpine:3")), "alpine:3")
    assert.strictEqual(ImageRef.withDefaultTag(make(`alpine@${digest}`)), `alpine@${digest}`)
    assert.strictEqual(ImageRef.withDefaultTag(make(`${"a".repeat(255)}`)), `${"a".repeat(255)}:latest`)
  })

  const canonicalForms: ReadonlyArray<readonly [string, string, string]> = [
    ["alpine", "docker.io", "docker.io/library/alpine:latest"],
    ["alpine:3.19", "docker.io", "docker.io/library/alpine:3.19"],
    ["team/app", "docker.io", "docker.io/team/app:latest"],
    ["docker.io/alpine", "docker.io", "docker.io/library/alpine:latest"],
    ["index.docker.io/library/alpine:3", "docker.io", "docker.io/library/alpine:3"],
    ["localhost/app", "localhost", "localhost/app:latest"],
    ["127.0.0.1:5000/team/proc/x", "127.0.0.1:5000", "127.0.0.1:5000/team/proc/x:latest"],
    [`127.0.0.1:5000/proc@${digest}`, "127.0.0.1:5000", `127.0.0.1:5000/proc@${digest}`],
    [`proc:1@${digest}`, "docker.io", `docker.io/library/proc:1@${digest}`]
  ]
  it.each(canonicalForms)("%s is pulled from %s as %s", (raw, registry, canonical) => {
    const ref = Schema.decodeSync(ImageRef.ImageRef)(raw)
    assert.strictEqual(ImageRef.registryOf(ref), registry)
    assert.strictEqual(ImageRef.canonical(ref), canonical)
  })

  const component = fc.stringMatching(/^[a-z0-9]{1,8}(?:[._-][a-z0-9]{1,8}){0,2}$/)
  // Without a registry, a first component with a dot (or `localhost`) would be read as one.
  const first = fc
    .stringMatching(/^[a-z0-9]{1,8}(?:[_-][a-z0-9]{1,8}){0,2}$/)
    .filter((c) => c !== "localhost")
  const reference = fc
    .record({
      registry: fc.option(
        fc.constantFrom("localhost", "localhost:5000", "r.example.com", "r.example.com:8443")
      ),
      path: fc.tuple(first, fc.array(component, { maxLength: 2 })).map(([head, tail]) => [head, ...tail]),
      tag: fc.option(fc.stringMatching(/^\w[\w.-]{0,20}$/)),
      digest: fc.option(fc.constant(digest))
    })
    .map((p) => ({
      ...p,
      raw: `${p.registry === null ? "" : `${p.registry}/`}${p.path.join("/")}${p.tag === null ? "" : `:${p.tag}`}${
        p.digest === null ? "" : `@${p.digest}`
      }`
    }))
  it.prop("every well-formed reference is accepted and split back into what made it", [reference], ([p]) => {
    const ref = Schema.decodeSync(ImageRef.ImageRef)(p.raw)
    assert.deepStrictEqual(ImageRef.parts(ref), {
      registry: Option.fromNullable(p.registry),
      repository: p.path.join("/"),
      tag: Option.fromNullable(p.tag),
      digest: Option.fromNullable(p.digest)
    })
  })

  it.prop("never throws, whatever the input", [fc.string({ maxLength: 600 })], ([raw]) => {
    assert.strictEqual(Either.isRight(decode(raw)), ImageRef.isImageRef(raw))
  })
})
