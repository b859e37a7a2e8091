import { Poll } from "@armada/testkit"
import { afterEach, assert, beforeEach, describe, it, vi } from "vitest"

describe("Poll.until", () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it("resolves once the condition holds, asking it every `every` ms", async () => {
    let asked = 0
    const waiting = Poll.until(() => ++asked === 3, "the third question", 1000, 100)
    await vi.advanceTimersByTimeAsync(200)
    await waiting
    assert.strictEqual(asked, 3)
  })

  it("waits for a condition that answers with a promise", async () => {
    let ready = false
    const waiting = Poll.until(async () => ready, "ready", 1000, 10)
    await vi.advanceTimersByTimeAsync(50)
    ready = true
    await vi.advanceTimersByTimeAsync(10)
    await waiting
  })

  it("fails after the deadline, naming what it waited for", async () => {
    const waiting = Poll.until(() => false, "the moon", 500, 100)
    const failed = waiting.then(
      () => assert.fail("it resolved"),
      (error: Error) => error.message
    )
    await vi.advanceTimersByTimeAsync(700)
    assert.strictEqual(await failed, "timed out after 500 ms waiting for the moon")
  })

  it("passes on an error the condition throws", async () => {
    const failed = await Poll.until(() => {
      throw new Error("broken probe")
    }, "anything").then(
      () => "it resolved",
      (error: Error) => error.message
    )
    assert.strictEqual(failed, "broken probe")
  })
})
