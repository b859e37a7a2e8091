/**
 * The error for input that armada refuses before doing any work: a bad flag, name, id, image
 * reference or option. It names the field and the value so the user can fix it.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * @since 0.1.0
 * @category errors
 */
export class InputError extends Schema.TaggedError<InputError>("@armada/core/InputError")("InputError", {
  field: Schema.String,
  value: Schema.Unknown,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.field}: ${this.reason}, got ${describe(this.value)}`
  }
}

const describe = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value)
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) {
    return String(value)
  }
  return typeof value
}
