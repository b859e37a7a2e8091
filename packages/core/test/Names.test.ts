import { InputError, Names } from "@armada/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Schema } from "effect"

/** PROTOCOL.md ("Naming"): ids after lower-casing. */
const protocolId = /^[a-z0-9][a-z0-9_.-]{0,62}$/
/** What the Docker engine accepts as a container or volume name. */
const dockerName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/

const id = (s: string) => Schema.decodeSync(Names.Id)(s)

describe("Names.Id", () => {
  it.effect.each([
    ["p1", "p1"],
    ["Processor-1", "processor-1"],
    ["TEMPLATE_v2.1", "template_v2.1"],
    ["0", "0"],
    ["a".repeat(63), "a".repeat(63)]
  ])("%s decodes to %s", ([raw, expected]) =>
    Effect.gen(function* () {
      assert.strictEqual(yield* Names.decodeId("id", raw), expected)
    })
  )

  const hostile: ReadonlyArray<readonly [string, unknown]> = [
    ["empty", ""],
    ["slash", "a/b"],
    ["path traversal", "../etc"],
    ["leading dash", "-a"],
    ["leading dot", ".a"],
    ["leading underscore", "_a"],
    ["space", "a b"],
    ["colon", "a:b"],
    ["64 characters", "a".repeat(64)],
    ["300 characters", "x".repeat(300)],
    ["accented letter", "café"],
    ["emoji", "app-🚀"],
    ["Kelvin sign, which Unicode lower-cases to k", "\u212Aube"],
    ["dotted capital I, which Unicode lower-cases to i and a combining dot", "\u0130d"],
    ["newline", "a\nb"],
    ["NUL", "a\u0000"],
    ["a number", 42],
    ["null", null]
  ]
  it.effect.each(hostile)("rejects %s with an InputError naming the field", ([, raw]) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Names.decodeId("processors[2].id", raw))
      assert.instanceOf(error, InputError)
      assert.strictEqual(error.field, "processors[2].id")
      assert.strictEqual(error.value, raw)
      assert.match(
        error.message,
        /^processors\[2\]\.id: expected an id of 1-63 characters \[a-z0-9_.-\] starting with a letter or digit, got /
      )
    })
  )

  it.effect("a long value is cut in the message, and named once", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Names.decodeId("session", "x".repeat(300)))
      assert.isBelow(error.message.length, 200)
      assert.include(error.message, `got "${"x".repeat(77)}..."`)
      assert.strictEqual(error.message.split("got").length, 2)
    })
  )

  it.prop(
    "decodes exactly the strings that match the protocol's rule after lower-casing A-Z",
    [fc.oneof(fc.string({ maxLength: 70 }), fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/))],
    ([raw]) => {
      const decoded = Schema.decodeUnknownEither(Names.Id)(raw)
      const lowered = raw.replace(/[A-Z]/g, (c) => c.toLowerCase())
      assert.strictEqual(Either.isRight(decoded), protocolId.test(lowered))
      if (Either.isRight(decoded)) assert.strictEqual(decoded.right, lowered)
    },
    { fastCheck: { numRuns: 500 } }
  )
})

describe("Names.sanitizeId", () => {
  it("makes a valid id of anything that has a letter or digit left", () => {
    assert.strictEqual(Names.sanitizeId("My Template!"), "my-template-")
    assert.strictEqual(Names.sanitizeId("../../etc/passwd"), "etc-passwd")
    assert.strictEqual(Names.sanitizeId("x".repeat(100)), "x".repeat(63))
    assert.strictEqual(Names.sanitizeId("///"), undefined)
    assert.strictEqual(Names.sanitizeId("ééé"), undefined)
  })

  it.prop("its result, when there is one, is a valid id", [fc.string({ maxLength: 100 })], ([raw]) => {
    const sanitized = Names.sanitizeId(raw)
    if (sanitized !== undefined) assert.match(sanitized, protocolId)
  })
})

describe("Names: resources", () => {
  const prefix = Names.defaultPrefix
  const session = id("S1")

  it("names containers, volumes and the network as PROTOCOL.md says", () => {
    assert.strictEqual(prefix, "armada")
    assert.strictEqual(
      Names.containerName(prefix, "processor", id("Render"), session),
      "armada-processor-render-s1"
    )
    assert.strictEqual(Names.containerName(id("acme"), "merger", id("m"), session), "acme-merger-m-s1")
    assert.strictEqual(Names.templateVolumeName(prefix, id("tpl"), session), "armada-tpl-s1-template")
    assert.strictEqual(Names.sessionVolumeName(prefix, id("tpl"), session), "armada-tpl-s1")
    assert.strictEqual(Names.networkName(prefix), "armada")
  })

  it("labels: managed on all, session and role when given; the filter finds a prefix or one session", () => {
    assert.deepStrictEqual(Names.labels(prefix, { session, role: "plugin" }), {
      "armada.managed": "true",
      "armada.session": "s1",
      "armada.role": "plugin"
    })
    assert.deepStrictEqual(Names.labels(id("acme")), { "acme.managed": "true" })
    assert.deepStrictEqual(Names.labelFilter(prefix), { "armada.managed": "true" })
    assert.deepStrictEqual(Names.labelFilter(prefix, session), {
      "armada.managed": "true",
      "armada.session": "s1"
    })
    assert.deepStrictEqual(Names.labelKeys(prefix), {
      managed: "armada.managed",
      session: "armada.session",
      role: "armada.role"
    })
  })

  const validId = fc.stringMatching(protocolId).map(id)
  it.prop(
    "every name made of valid ids is a name the engine accepts",
    [validId, fc.constantFrom(...Names.Role.literals), validId, validId, validId],
    ([p, role, item, templateId, s]) => {
      for (const name of [
        Names.containerName(p, role, item, s),
        Names.templateVolumeName(p, templateId, s),
        Names.sessionVolumeName(p, templateId, s),
        Names.networkName(p)
      ]) {
        assert.match(name, /^[a-z0-9]/)
        if (name.length > 1) assert.match(name, dockerName)
      }
    }
  )

  it("Role is processor, plugin, merger or resolver", () => {
    assert.deepStrictEqual(Names.Role.literals, ["processor", "plugin", "merger", "resolver"])
    assert.isTrue(Either.isLeft(Schema.decodeUnknownEither(Names.Role)("worker")))
  })
})

describe("Names.decodeAs", () => {
  it.effect("decodes any schema into an InputError naming the field, its reason naming the value", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Names.decodeAs(Names.Role, "role", "worker"))
      assert.strictEqual(error.field, "role")
      assert.strictEqual(error.value, "worker")
      assert.strictEqual(
        error.message,
        'role: expected "processor", "plugin", "merger" or "resolver", got "worker"'
      )
      assert.strictEqual(yield* Names.decodeAs(Names.Role, "role", "plugin"), "plugin")
    })
  )

  it.effect("names every issue inside the value with its path", () =>
    Effect.gen(function* () {
      const Processor = Schema.Struct({ id: Names.Id, role: Names.Role })
      const error = yield* Effect.flip(Names.decodeAs(Processor, "processors[0]", { id: "a/b", role: "x" }))
      assert.strictEqual(
        error.message,
        'processors[0]: id: expected an id of 1-63 characters [a-z0-9_.-] starting with a letter or digit, got "a/b"; ' +
          'role: expected "processor", "plugin", "merger" or "resolver", got "x"'
      )
    })
  )
})
