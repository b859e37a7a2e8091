/**
 * The exit codes of `armada`, one per kind of ending, so scripts can tell them apart.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * @since 0.1.0
 * @category constants
 */
export const ExitCode = {
  /** Everything succeeded. */
  success: 0,
  /** The run happened, but some items failed (each one is reported). */
  itemsFailed: 1,
  /** Bad input: the spec or a flag; nothing was started. */
  badInput: 2,
  /** The engine did not answer. */
  engineUnreachable: 3,
  /** Interrupted (Ctrl-C or SIGTERM); what the run created was removed. */
  interrupted: 130
} as const

/**
 * @since 0.1.0
 * @category models
 */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/**
 * The table printed by `--help` and docs/cli.md.
 *
 * @since 0.1.0
 * @category constants
 */
export const descriptions: ReadonlyArray<readonly [ExitCode, string]> = [
  [ExitCode.success, "success"],
  [ExitCode.itemsFailed, "some items failed (each is reported with its stage, item and reason)"],
  [ExitCode.badInput, "bad input: the spec or a flag (nothing was started)"],
  [ExitCode.engineUnreachable, "the engine is unreachable"],
  [ExitCode.interrupted, "interrupted (Ctrl-C); what the run created was removed"]
]

/**
 * A command ended with `code` after it printed why: nothing more to say, only to exit.
 *
 * @since 0.1.0
 * @category errors
 */
export class Reported extends Data.TaggedError("Reported")<{ readonly code: number }> {}
