import { ImageRef } from "@armada/core"
import { SecurityProfile, Validation } from "@armada/engine"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

describe("SecurityProfile", () => {
  it("default is Docker's default set without what the protocol never needs", () => {
    const kept = new Set(SecurityProfile.defaultCapabilities)
    const dropped = Object.keys(SecurityProfile.dropped)
    assert.deepStrictEqual(
      [...kept, ...dropped].sort(),
      [...SecurityProfile.dockerDefault].sort(),
      "every capability of Docker's set is either kept or dropped with a reason"
    )
    assert.isTrue(dropped.every((capability) => !kept.has(capability)))
    for (const needed of ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"]) assert.isTrue(kept.has(needed))
    assert.deepStrictEqual(SecurityProfile.capabilities("strict"), [])
  })

  it("a container gets its profile's set and capAdd, once each, without CAP_, sorted; absent is default", () => {
    assert.deepStrictEqual(SecurityProfile.effective({}), SecurityProfile.defaultCapabilities)
    assert.deepStrictEqual(
      SecurityProfile.effective({ security: "strict", capAdd: ["CAP_NET_RAW", "NET_RAW"] }),
      ["NET_RAW"]
    )
    assert.deepStrictEqual(
      SecurityProfile.effective({ security: "default", capAdd: ["CAP_CHOWN", "MKNOD"] }),
      ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "SETGID", "SETUID"]
    )
  })

  it.effect("an unknown profile is an InputError naming the field", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Validation.containerSpec({
          name: "c1",
          image: ImageRef.ImageRef.make("acme/a:1"),
          labels: {},
          security: "loose" as SecurityProfile.SecurityProfile
        })
      )
      assert.strictEqual(error.field, "spec.security")
      assert.include(error.message, '"default" or "strict"')
    })
  )
})
