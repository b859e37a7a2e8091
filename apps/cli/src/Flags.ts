/**
 * The flags several commands share, parsed and validated by @effect/cli: a bad value is a
 * validation error (exit code 2) before anything runs.
 *
 * @since 0.1.0
 */
import { Names } from "@armada/core"
import { Bulk } from "@armada/engine"
import { Args, HelpDoc, Options, ValidationError } from "@effect/cli"
import { Effect, Option, Schema } from "effect"
import * as Engine from "./Engine.js"

/**
 * @since 0.1.0
 * @category args
 */
export const spec = Args.file({ name: "spec", exists: "yes" }).pipe(
  Args.withDescription("The pipeline spec, YAML or JSON (see docs/cli.md for its shape).")
)

/**
 * @since 0.1.0
 * @category args
 */
export const optionalSpec = Args.file({ name: "spec", exists: "yes" }).pipe(
  Args.withDescription("A pipeline spec whose images to look for."),
  Args.optional
)

/**
 * @since 0.1.0
 * @category options
 */
export const engine = Options.all({
  choice: Options.choice("engine", Engine.choices).pipe(
    Options.withDefault<Engine.Choice>("auto"),
    Options.withDescription(
      "Which engine runs the containers: docker (found as the Docker CLI finds it: --host, DOCKER_HOST, the Docker context, then the usual sockets; see `armada doctor`), local (processes and folders, no Docker), swarm (Docker Swarm services through the manager at --host or DOCKER_HOST, node engines from ARMADA_SWARM_NODES; see docs/scale-out.md), or auto: docker when it answers within 1.5 s, else local."
    )
  ),
  host: Options.text("host").pipe(
    Options.withPseudoName("ADDRESS"),
    Options.withDescription(
      "The Docker engine's address, over DOCKER_HOST and the Docker context: unix:///path, tcp://host[:port] (TLS with DOCKER_TLS_VERIFY / DOCKER_CERT_PATH) or ssh://[user@]host[:port]."
    ),
    Options.optional
  )
}).pipe(Options.map(({ choice, host }): Engine.Selection => ({ choice, host: Option.getOrUndefined(host) })))

const invalid = (message: string) => ValidationError.invalidValue(HelpDoc.p(message))

/**
 * `N` (a positive integer) or `cpus`.
 *
 * @since 0.1.0
 * @category options
 */
export const concurrency = Options.text("concurrency").pipe(
  Options.withPseudoName("N|cpus"),
  Options.mapEffect((text): Effect.Effect<number | "cpus", ValidationError.ValidationError> => {
    if (text === "cpus") return Effect.succeed("cpus" as const)
    const n = Number(text)
    return Number.isSafeInteger(n) && n >= 1 && /^\d+$/.test(text)
      ? Effect.succeed(n)
      : Effect.fail(
          invalid(`--concurrency: expected a positive integer or "cpus", got ${JSON.stringify(text)}`)
        )
  }),
  Options.optional,
  Options.withDescription(
    "At most this many containers started and processors called at once (default: the spec's, else cpus)."
  )
)

/**
 * When images are pulled (over the spec's `options.pull`).
 *
 * @since 0.2.0
 * @category options
 */
export const pull = Options.choice("pull", Bulk.PullPolicy.literals).pipe(
  Options.optional,
  Options.withDescription(
    "When to pull images: missing (only those not present; the default unless the spec says otherwise), always (every image, so a moved tag is fetched again), never (fail on any image that is not present)."
  )
)

/**
 * The name prefix: an id.
 *
 * @since 0.1.0
 * @category options
 */
export const prefix = Options.text("prefix").pipe(
  Options.withPseudoName("ID"),
  Options.mapEffect((text) =>
    Schema.decodeUnknown(Names.Prefix)(text).pipe(
      Effect.mapError(() =>
        invalid(
          `--prefix: expected 2-63 characters [a-z0-9_.-] starting with a letter or digit, got ${JSON.stringify(text)}`
        )
      )
    )
  ),
  Options.optional,
  Options.withDescription(
    "The prefix of every container, volume, network and label armada creates (default: the spec's, else armada)."
  )
)

/**
 * @since 0.1.0
 * @category options
 */
export const json = Options.boolean("json").pipe(
  Options.withDescription("Print NDJSON: one event per line while running, then one final result document.")
)

/**
 * @since 0.1.0
 * @category options
 */
export const quiet = Options.boolean("quiet").pipe(
  Options.withAlias("q"),
  Options.withDescription("Print only failures and the result.")
)

/**
 * @since 0.1.0
 * @category options
 */
export const verbose = Options.boolean("verbose").pipe(
  Options.withAlias("v"),
  Options.withDescription("Print every event, each layer of a pull with its bytes, and debug logs.")
)

/**
 * @since 0.1.0
 * @category options
 */
export const session = Options.text("session").pipe(
  Options.withPseudoName("ID"),
  Options.mapEffect((text) =>
    Schema.decodeUnknown(Names.Id)(text).pipe(
      Effect.mapError(() => invalid(`--session: expected a session id, got ${JSON.stringify(text)}`))
    )
  ),
  Options.optional,
  Options.withDescription("One session's resources.")
)

/**
 * The prefix given, or the default one.
 *
 * @since 0.1.0
 * @category getters
 */
export const prefixOrDefault = (value: Option.Option<Names.Id>): Names.Id =>
  Option.getOrElse(value, () => Names.defaultPrefix)

/**
 * `--prefix` for the commands that have no spec to take one from: the default when not given.
 *
 * @since 0.1.0
 * @category options
 */
export const prefixWithDefault: Options.Options<Names.Id> = Options.map(prefix, prefixOrDefault)
