/**
 * The error for input that armada refuses before doing any work: a bad flag, name, id, image
 * reference or option. It names the field, and its reason says what was expected and what came.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { describe } from "./internal/describe.js"

/**
 * `reason` says what was expected and names the value received (`expected ..., got "x"`), as the
 * messages of armada's schemas do; `InputError.expected` builds such a reason. The message is
 * `<field>: <reason>`.
 *
 * @since 0.1.0
 * @category errors
 */
export class InputError extends Schema.TaggedError<InputError>("@armada/core/InputError")("InputError", {
  field: Schema.String,
  value: Schema.Unknown,
  reason: Schema.String
}) {
  /**
   * An `InputError` whose reason is `<expectation>, got <value>`.
   *
   * @since 0.1.0
   */
  static expected(field: string, value: unknown, expectation: string): InputError {
    return new InputError({ field, value, reason: `${expectation}, got ${describe(value)}` })
  }

  override get message(): string {
    return `${this.field}: ${this.reason}`
  }
}
