/**
 * The test app's settings, read from the environment (and `--role`). The `ARMADA_FAULT_*`
 * variables make it misbehave on purpose, for tests and benchmarks; other packages rely on their
 * exact names.
 *
 * @since 0.1.0
 */
import { Protocol } from "@armada/http"
import { Either } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export type Role = "processor" | "plugin" | "merger"

/**
 * @since 0.1.0
 * @category models
 */
export interface Faults {
  /** `ARMADA_FAULT_START_DELAY_MS`: listen only after this many ms. */
  readonly startDelayMillis: number
  /** `ARMADA_FAULT_EXIT`: print a line and exit with this code at start. */
  readonly exitCode: number | undefined
  /** `ARMADA_FAULT_STATUS`: work calls answer this status with a short body. */
  readonly status: number | undefined
  /** `ARMADA_FAULT_HANG=1`: work calls never answer. */
  readonly hang: boolean
  /** `ARMADA_FAULT_MALFORMED=1`: work calls answer 200 with malformed JSON. */
  readonly malformed: boolean
  /** `ARMADA_FAULT_OUTSIDE_AREA=1`: the processor answers `outputDir: "/etc"`. */
  readonly outsideArea: boolean
  /** `ARMADA_FAULT_WRITE_TEMPLATE=1`: the processor tries to write into its `readDir` first. */
  readonly writeTemplate: boolean
  /** `ARMADA_FAULT_BIG_RESPONSE=bytes`: the answer is padded to this many bytes. */
  readonly bigResponseBytes: number | undefined
  /** `ARMADA_FAULT_STREAM_FOREVER=1`: work calls answer 200 and send a byte every 100 ms, forever. */
  readonly streamForever: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Settings {
  readonly role: Role
  readonly host: string
  readonly port: number
  /** `ARMADA_WORKSPACE_ROOT`: resolve `/workspace/...` below this directory. */
  readonly workspaceRoot: string | undefined
  readonly faults: Faults
}

/**
 * No faults at all.
 *
 * @since 0.1.0
 * @category constructors
 */
export const noFaults: Faults = {
  startDelayMillis: 0,
  exitCode: undefined,
  status: undefined,
  hang: false,
  malformed: false,
  outsideArea: false,
  writeTemplate: false,
  bigResponseBytes: undefined,
  streamForever: false
}

const roles: ReadonlyArray<Role> = ["processor", "plugin", "merger"]

type Env = Readonly<Record<string, string | undefined>>

const set = (value: string | undefined): value is string => value !== undefined && value !== ""

const integer = (
  env: Env,
  name: string,
  min: number,
  max: number
): Either.Either<number | undefined, string> => {
  const raw = env[name]
  if (!set(raw)) return Either.right(undefined)
  const value = Number(raw)
  return Number.isSafeInteger(value) && value >= min && value <= max
    ? Either.right(value)
    : Either.left(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`)
}

const flag = (env: Env, name: string): Either.Either<boolean, string> => {
  const raw = env[name]
  if (!set(raw) || raw === "0" || raw === "false") return Either.right(false)
  if (raw === "1" || raw === "true") return Either.right(true)
  return Either.left(`${name} must be 1 or 0, got ${JSON.stringify(raw)}`)
}

const roleFrom = (env: Env, argv: ReadonlyArray<string>): Either.Either<Role, string> => {
  let raw = env.ARMADA_ROLE
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--role") raw = argv[++i]
    else if (arg.startsWith("--role=")) raw = arg.slice("--role=".length)
    else
      return Either.left(
        `unknown argument ${JSON.stringify(arg)}; usage: test-app [--role processor|plugin|merger]`
      )
  }
  if (!set(raw)) return Either.right("processor")
  return roles.includes(raw as Role)
    ? Either.right(raw as Role)
    : Either.left(`the role must be one of ${roles.join(", ")}, got ${JSON.stringify(raw)}`)
}

/**
 * Reads the settings; `--role` wins over `ARMADA_ROLE`. A bad value is a message for the user.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromEnv = (env: Env, argv: ReadonlyArray<string> = []): Either.Either<Settings, string> =>
  Either.gen(function* () {
    const role = yield* roleFrom(env, argv)
    const port = yield* integer(env, "ARMADA_LISTEN_PORT", 0, 65535)
    return {
      role,
      host: set(env.ARMADA_LISTEN_HOST) ? env.ARMADA_LISTEN_HOST : "0.0.0.0",
      port: port ?? Protocol.ports[role],
      workspaceRoot: set(env.ARMADA_WORKSPACE_ROOT) ? env.ARMADA_WORKSPACE_ROOT : undefined,
      faults: {
        startDelayMillis: (yield* integer(env, "ARMADA_FAULT_START_DELAY_MS", 0, 3_600_000)) ?? 0,
        exitCode: yield* integer(env, "ARMADA_FAULT_EXIT", 0, 255),
        status: yield* integer(env, "ARMADA_FAULT_STATUS", 100, 599),
        hang: yield* flag(env, "ARMADA_FAULT_HANG"),
        malformed: yield* flag(env, "ARMADA_FAULT_MALFORMED"),
        outsideArea: yield* flag(env, "ARMADA_FAULT_OUTSIDE_AREA"),
        writeTemplate: yield* flag(env, "ARMADA_FAULT_WRITE_TEMPLATE"),
        bigResponseBytes: yield* integer(env, "ARMADA_FAULT_BIG_RESPONSE", 0, 1024 * 1024 * 1024),
        streamForever: yield* flag(env, "ARMADA_FAULT_STREAM_FOREVER")
      }
    }
  })
