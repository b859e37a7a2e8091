/**
 * The error for input that armada refuses before doing any work: a bad flag, name, id, image
 * reference or option. It names the field and the value so the user can fix it.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { describe } from "./internal/describe.js"

/**
 * The message is `<field>: <reason>, got <value>`. A reason that already says what it got, as
 * schema messages do (`expected an image reference, got "x"`), is printed as it is, so a value
 * decoded through `Names.decodeAs` is not named twice.
 *
 * @since 0.1.0
 * @category errors
 */
export class InputError extends Schema.TaggedError<InputError>("@armada/core/InputError")("InputError", {
  field: Schema.String,
  value: Schema.Unknown,
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason.includes(", got ")
      ? `${this.field}: ${this.reason}`
      : `${this.field}: ${this.reason}, got ${describe(this.value)}`
  }
}
