import * as Terminal from "@effect/platform/Terminal"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import * as Output from "../src/Output.js"

/** A terminal that answers only the facts Output asks for. */
const terminal = (facts: { readonly isTTY: boolean; readonly columns: number; readonly rows: number }) =>
  Layer.succeed(
    Terminal.Terminal,
    Terminal.Terminal.of({
      isTTY: Effect.succeed(facts.isTTY),
      columns: Effect.succeed(facts.columns),
      rows: Effect.succeed(facts.rows),
      readInput: Effect.dieMessage("not read in these tests"),
      readLine: Effect.dieMessage("not read in these tests"),
      display: () => Effect.dieMessage("not written in these tests")
    })
  )

const read = (
  facts: { readonly isTTY: boolean; readonly columns: number; readonly rows: number },
  env: Record<string, string> = {}
) =>
  Effect.gen(function* () {
    const output = yield* Output.Output
    return { isTTY: output.isTTY, size: yield* output.size }
  }).pipe(
    Effect.provide(Output.layer.pipe(Layer.provide(terminal(facts)))),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
  )

describe("Output.layer", () => {
  it.effect("takes whether stdout is a terminal, and its size, from the platform Terminal", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* read({ isTTY: true, columns: 132, rows: 50 }), {
        isTTY: true,
        size: { columns: 132, rows: 50 }
      })
      assert.isFalse((yield* read({ isTTY: false, columns: 0, rows: 0 })).isTTY)
    })
  )

  it.effect("an unknown size (a pipe) counts as 80×24", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual((yield* read({ isTTY: false, columns: 0, rows: 0 })).size, {
        columns: 80,
        rows: 24
      })
    })
  )

  it.effect("NO_COLOR (set and not empty) and TERM=dumb turn the terminal's escape codes off", () =>
    Effect.gen(function* () {
      const tty = { isTTY: true, columns: 100, rows: 40 }
      assert.isFalse((yield* read(tty, { NO_COLOR: "1" })).isTTY)
      assert.isFalse((yield* read(tty, { TERM: "dumb" })).isTTY)
      assert.isTrue((yield* read(tty, { NO_COLOR: "", TERM: "xterm-256color" })).isTTY)
    })
  )
})
