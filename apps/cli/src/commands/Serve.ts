/**
 * `armada serve`: a long-lived server that runs pipelines on a warm `Pool` (docs/serve.md). It
 * listens on 127.0.0.1 unless told otherwise; any other address needs a bearer token, read from a
 * file (`--token-file`) or `ARMADA_SERVE_TOKEN`, never from a flag's value. On SIGTERM or SIGINT it
 * takes no new run, lets the running ones finish for up to `--grace`, interrupts the rest, and
 * removes every pooled set.
 *
 * @since 0.3.0
 */
import { Options } from "@effect/cli"
import { Effect, type Option } from "effect"
import type * as Engine from "../Engine.js"

/**
 * @since 0.3.0
 * @category models
 */
export interface Flags {
  readonly engine: Parameters<typeof Engine.select>[0]
  readonly listen: string
  readonly port: number
  readonly tokenFile: Option.Option<string>
  readonly allowTemplateDir: ReadonlyArray<string>
  readonly maxSets: number
  readonly idleTtl: string
  readonly grace: string
  readonly json: boolean
}

/**
 * `--server URL` of `armada run`: run on that `armada serve` instead of here.
 *
 * @since 0.3.0
 * @category options
 */
export const server = Options.text("server").pipe(
  Options.withPseudoName("URL"),
  Options.optional,
  Options.withDescription(
    "Run on this `armada serve` (http://host:port) instead of here: the same view, result and exit codes, the output written where --output says. Its token, when it asks for one: ARMADA_SERVE_TOKEN."
  )
)

/**
 * `--template-on-server` of `armada run --server`: send the template's path, not the template.
 *
 * @since 0.3.0
 * @category options
 */
export const templateOnServer = Options.boolean("template-on-server").pipe(
  Options.withDescription(
    "With --server: send the spec's template as its absolute path, for the server to read on its own machine (it must allow the folder: armada serve --allow-template-dir), instead of uploading it."
  )
)

/**
 * The options of `armada serve`.
 *
 * @since 0.3.0
 * @category options
 */
export const options = {
  listen: Options.text("listen").pipe(
    Options.withPseudoName("ADDRESS"),
    Options.withDefault("127.0.0.1"),
    Options.withDescription("The address to listen on. Anything but loopback needs a token.")
  ),
  port: Options.integer("port").pipe(
    Options.withDefault(7077),
    Options.withDescription("The port to listen on (0: any free one; the address is printed).")
  ),
  tokenFile: Options.file("token-file", { exists: "yes" }).pipe(
    Options.optional,
    Options.withDescription(
      "A file whose first line is the bearer token clients must send (else ARMADA_SERVE_TOKEN; never a flag's value, which `ps` shows)."
    )
  ),
  allowTemplateDir: Options.directory("allow-template-dir").pipe(
    Options.withPseudoName("DIR"),
    Options.repeated,
    Options.withDescription(
      "Take a run's template as a path on this machine (POST /runs with templatePath, armada run --server --template-on-server) when it lies inside DIR, also once its links are resolved. Repeatable. Without it, templates are only uploaded."
    )
  ),
  maxSets: Options.integer("max-sets").pipe(
    Options.withDefault(4),
    Options.withDescription("At most this many container sets at once, idle or busy.")
  ),
  idleTtl: Options.text("idle-ttl").pipe(
    Options.withDefault("10m"),
    Options.withDescription("An idle set unused this long is removed.")
  ),
  grace: Options.text("grace").pipe(
    Options.withDefault("30s"),
    Options.withDescription(
      "On SIGTERM/SIGINT, how long running runs may take to finish before they are interrupted."
    )
  )
}

/**
 * Serves until interrupted. The server (its HTTP stack, the pool, the API) is loaded only here, so
 * the other commands start without reading it.
 *
 * @since 0.3.0
 * @category handlers
 */
export const handler = (flags: Flags) =>
  Effect.flatMap(
    Effect.promise(() => import("../serve/Listen.js")),
    (Listen) => Listen.listen(flags)
  )
