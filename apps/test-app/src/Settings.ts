/**
 * The test app's settings, read from the environment (and `--role`) through Effect's `Config`.
 * The `ARMADA_FAULT_*` variables make it misbehave on purpose, for tests and benchmarks; other
 * packages rely on their exact names.
 *
 * @since 0.1.0
 */
import { Protocol } from "@armada/http"
import { Config, ConfigError, ConfigProvider, Effect, Either, Option } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export type Role = "processor" | "plugin" | "merger" | "resolver"

/**
 * @since 0.1.0
 * @category models
 */
export interface Faults {
  /** `ARMADA_FAULT_START_DELAY_MS`: listen only after this many ms. */
  readonly startDelayMillis: number
  /** `ARMADA_FAULT_EXIT`: print a line and exit with this code at start. */
  readonly exitCode: number | undefined
  /** `ARMADA_FAULT_EXIT_DURING_CALL`: a work call reads its request, prints a line and exits with this code. */
  readonly exitDuringCall: number | undefined
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
  /**
   * `ARMADA_FAULT_COPY_THEN_RENDER=1`: the processor renders a `template` file as CyanPrint's Node
   * SDK does, copying it (with its mode) and then writing the rendered text over the copy; on a
   * 0444 file that takes root's `CAP_DAC_OVERRIDE`.
   */
  readonly copyThenRender: boolean
  /** `ARMADA_FAULT_WRONG_PATH=1`: the resolver answers for another path than it was sent. */
  readonly wrongPath: boolean
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
  /**
   * `ARMADA_MERGER_MAX_BYTES`: the most bytes the merger's file endpoints take in one `PUT` body
   * or give in one `GET` answer; default `Protocol.defaultMaxFileBytes` (512 MiB).
   */
  readonly maxFileBytes: number
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
  exitDuringCall: undefined,
  status: undefined,
  hang: false,
  malformed: false,
  outsideArea: false,
  writeTemplate: false,
  bigResponseBytes: undefined,
  streamForever: false,
  copyThenRender: false,
  wrongPath: false
}

const roles = ["processor", "plugin", "merger", "resolver"] as const satisfies ReadonlyArray<Role>

type Env = Readonly<Record<string, string | undefined>>

const integer = (name: string, min: number, max: number): Config.Config<number> =>
  Config.integer().pipe(
    Config.mapOrFail((value) =>
      value >= min && value <= max
        ? Either.right(value)
        : Either.left(ConfigError.InvalidData([], `must be an integer from ${min} to ${max}, got ${value}`))
    ),
    Config.nested(name)
  )

const optionalInteger = (name: string, min: number, max: number): Config.Config<number | undefined> =>
  Config.map(Config.option(integer(name, min, max)), Option.getOrUndefined)

/** `1`, `true`, `yes` or `on`; `0`, `false`, `no` or `off`; unset is off. */
const flag = (name: string): Config.Config<boolean> => Config.withDefault(Config.boolean(name), false)

/**
 * The settings the `ARMADA_*` variables give (the role from `ARMADA_ROLE`); every bad value is
 * reported, each under its variable's name.
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Settings> = Config.all({
  role: Config.withDefault(Config.literal(...roles)("ARMADA_ROLE"), "processor"),
  host: Config.withDefault(Config.string("ARMADA_LISTEN_HOST"), "0.0.0.0"),
  port: Config.option(integer("ARMADA_LISTEN_PORT", 0, 65535)),
  workspaceRoot: Config.map(Config.option(Config.string("ARMADA_WORKSPACE_ROOT")), Option.getOrUndefined),
  maxFileBytes: Config.withDefault(
    integer("ARMADA_MERGER_MAX_BYTES", 1, Number.MAX_SAFE_INTEGER),
    Protocol.defaultMaxFileBytes
  ),
  faults: Config.all({
    startDelayMillis: Config.withDefault(integer("ARMADA_FAULT_START_DELAY_MS", 0, 3_600_000), 0),
    exitCode: optionalInteger("ARMADA_FAULT_EXIT", 0, 255),
    exitDuringCall: optionalInteger("ARMADA_FAULT_EXIT_DURING_CALL", 0, 255),
    status: optionalInteger("ARMADA_FAULT_STATUS", 100, 599),
    hang: flag("ARMADA_FAULT_HANG"),
    malformed: flag("ARMADA_FAULT_MALFORMED"),
    outsideArea: flag("ARMADA_FAULT_OUTSIDE_AREA"),
    writeTemplate: flag("ARMADA_FAULT_WRITE_TEMPLATE"),
    bigResponseBytes: optionalInteger("ARMADA_FAULT_BIG_RESPONSE", 0, 1024 * 1024 * 1024),
    streamForever: flag("ARMADA_FAULT_STREAM_FOREVER"),
    copyThenRender: flag("ARMADA_FAULT_COPY_THEN_RENDER"),
    wrongPath: flag("ARMADA_FAULT_WRONG_PATH")
  })
}).pipe(
  Config.map(({ port, ...settings }) => ({
    ...settings,
    port: Option.getOrElse(port, () => Protocol.ports[settings.role])
  }))
)

const usage = "usage: test-app [--role processor|plugin|merger|resolver]"

/** The value of `--role`, if given. */
const roleArgument = (argv: ReadonlyArray<string>): Either.Either<string | undefined, string> => {
  let role: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--role") role = argv[++i]
    else if (arg.startsWith("--role=")) role = arg.slice("--role=".length)
    else return Either.left(`unknown argument ${JSON.stringify(arg)}; ${usage}`)
  }
  return role === undefined || roles.some((known) => known === role)
    ? Either.right(role)
    : Either.left(`--role must be one of ${roles.join(", ")}, got ${JSON.stringify(role)}`)
}

const line = (_: unknown, path: Array<string>, message: string) => [`${path.join(".")}: ${message}`]
const both = (_: unknown, left: Array<string>, right: Array<string>) => [...left, ...right]

/** Every bad setting as `NAME: problem`, separated by `; `. */
const describe = (error: ConfigError.ConfigError): string =>
  ConfigError.reduceWithContext(error, undefined, {
    andCase: both,
    orCase: both,
    invalidDataCase: line,
    missingDataCase: line,
    sourceUnavailableCase: line,
    unsupportedCase: line
  }).join("; ")

/**
 * Reads the settings from `env` (a variable set to `""` counts as unset, as `-e NAME=` means "no
 * value") and `argv`; `--role` wins over `ARMADA_ROLE`. A bad value is a message for the user.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromEnv = (env: Env, argv: ReadonlyArray<string> = []): Either.Either<Settings, string> =>
  Either.flatMap(roleArgument(argv), (role) => {
    const values = new Map<string, string>()
    for (const [name, value] of Object.entries(env))
      if (value !== undefined && value !== "") values.set(name, value)
    if (role !== undefined) values.set("ARMADA_ROLE", role)
    return ConfigProvider.fromMap(values)
      .load(config)
      .pipe(Effect.mapError(describe), Effect.either, Effect.runSync)
  })
