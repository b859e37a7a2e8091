/**
 * Where the CLI writes: stdout (results, progress) and stderr (errors outside a run), with what
 * it needs to know about the terminal. `layer` is the process's own streams, with the terminal's
 * facts from the platform `Terminal`; `layerTest` captures everything so commands can be tested
 * in-process.
 *
 * @since 0.1.0
 */
import * as Terminal from "@effect/platform/Terminal"
import { Config, Context, Effect, Layer, Ref } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace Output {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** True when stdout is a terminal (and `NO_COLOR`/`TERM=dumb` do not say otherwise). */
    readonly isTTY: boolean
    /** The terminal's size now (it changes when the window is resized). */
    readonly size: Effect.Effect<{ readonly columns: number; readonly rows: number }>
    readonly stdout: (text: string) => Effect.Effect<void>
    readonly stderr: (text: string) => Effect.Effect<void>
  }
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Output extends Context.Tag("@armada/cli/Output")<Output, Output.Service>() {}

/**
 * Writes to `stream`, each write waited for: that keeps output ordered and lets the process exit
 * only once it is flushed. Once the reader has gone (`EPIPE`, as in `armada run | head -5`) or the
 * stream fails, later writes are dropped instead of crashing the process: a run goes on to its end
 * and its cleanup, and its exit code still says how it went.
 */
const writer = (stream: NodeJS.WriteStream) => {
  let open = true
  stream.on("error", () => {
    open = false
  })
  return (text: string) =>
    Effect.async<void>((resume) => {
      if (!open) return resume(Effect.void)
      stream.write(text, () => resume(Effect.void))
    })
}

/**
 * Whether the user lets the CLI draw with escape codes: a non-empty `NO_COLOR` or `TERM=dumb`
 * says no. The platform `Terminal` knows whether stdout is a terminal, not these conventions.
 */
const escapesAllowed: Config.Config<boolean> = Config.all({
  noColor: Config.withDefault(Config.string("NO_COLOR"), ""),
  term: Config.withDefault(Config.string("TERM"), "")
}).pipe(Config.map(({ noColor, term }) => noColor === "" && term !== "dumb"))

/**
 * The process's stdout and stderr; whether stdout is a terminal and its size come from the
 * platform `Terminal` (an unknown size counts as 80×24).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Output, never, Terminal.Terminal> = Layer.effect(
  Output,
  Effect.gen(function* () {
    const terminal = yield* Terminal.Terminal
    // Both variables have defaults, so reading them cannot fail.
    const allowed = yield* Effect.orDie(escapesAllowed)
    return {
      isTTY: allowed && (yield* terminal.isTTY),
      size: Effect.map(Effect.all([terminal.columns, terminal.rows]), ([columns, rows]) => ({
        columns: columns > 0 ? columns : 80,
        rows: rows > 0 ? rows : 24
      })),
      stdout: writer(process.stdout),
      stderr: writer(process.stderr)
    }
  })
)

/**
 * What a test layer captured.
 *
 * @since 0.1.0
 * @category models
 */
export interface Captured {
  readonly stdout: Ref.Ref<string>
  readonly stderr: Ref.Ref<string>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class CapturedOutput extends Context.Tag("@armada/cli/CapturedOutput")<CapturedOutput, Captured>() {}

/**
 * Captures stdout and stderr (read them through `CapturedOutput`); `isTTY` and the size are fixed.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest = (
  options: { readonly isTTY?: boolean; readonly columns?: number; readonly rows?: number } = {}
): Layer.Layer<Output | CapturedOutput> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const stdout = yield* Ref.make("")
      const stderr = yield* Ref.make("")
      const size = { columns: options.columns ?? 100, rows: options.rows ?? 40 }
      return Context.make(Output, {
        isTTY: options.isTTY ?? false,
        size: Effect.succeed(size),
        stdout: (text) => Ref.update(stdout, (all) => all + text),
        stderr: (text) => Ref.update(stderr, (all) => all + text)
      }).pipe(Context.add(CapturedOutput, { stdout, stderr }))
    })
  )
