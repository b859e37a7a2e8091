/**
 * Durations and memory sizes as people write them in a spec: a bare number, or a number with a
 * unit (`"30s"`, `"2 minutes"`, `"256m"`).
 *
 * @internal
 */
import { Duration, ParseResult, Schema } from "effect"

/** A number, then an optional unit of letters, with spaces allowed around either. */
const quantity = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i

const millisPerUnit: Record<string, number> = {
  ms: 1,
  millis: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000
}

const durationMessage =
  'expected a duration: milliseconds, or a number with a unit such as "30s", "2m", "500ms"'

/** @internal */
export const DurationInput = Schema.transformOrFail(
  Schema.Union(Schema.Number, Schema.String),
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (input, _, ast) => {
      const millis = typeof input === "number" ? input : parseDuration(input)
      return millis !== undefined && Number.isFinite(millis) && millis > 0
        ? ParseResult.succeed(Duration.millis(millis))
        : ParseResult.fail(
            new ParseResult.Type(ast, input, `${durationMessage}, got ${JSON.stringify(input)}`)
          )
    },
    encode: (duration) => ParseResult.succeed(Duration.toMillis(duration))
  }
).annotations({ identifier: "DurationInput", description: "a duration" })

const parseDuration = (text: string): number | undefined => {
  const match = quantity.exec(text)
  if (match === null) return undefined
  const unit = match[2]!.toLowerCase()
  const factor = unit === "" ? 1 : millisPerUnit[unit]
  return factor === undefined ? undefined : Number(match[1]) * factor
}

const bytesPerUnit: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3
}

/** @internal */
export const MemorySize = Schema.transformOrFail(Schema.Union(Schema.Number, Schema.String), Schema.Number, {
  strict: true,
  decode: (input, _, ast) => {
    const match = typeof input === "string" ? quantity.exec(input) : null
    const factor = match === null ? undefined : bytesPerUnit[match[2]!.toLowerCase()]
    const bytes =
      typeof input === "number" ? input : factor === undefined ? undefined : Number(match![1]) * factor
    return bytes !== undefined && Number.isSafeInteger(Math.floor(bytes)) && bytes >= 6 * 1024 ** 2
      ? ParseResult.succeed(Math.floor(bytes))
      : ParseResult.fail(
          new ParseResult.Type(
            ast,
            input,
            `expected a memory size of at least 6m, such as 268435456 or "256m", got ${JSON.stringify(input)}`
          )
        )
  },
  encode: ParseResult.succeed
}).annotations({ identifier: "MemorySize", description: "a memory size" })
