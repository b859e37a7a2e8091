/**
 * The `armada` command tree (@effect/cli) and `run`, which parses the command line, runs the
 * command and answers its exit code. `bin.ts` only provides the layers and starts it.
 *
 * @since 0.1.0
 */
import { stripVTControlCharacters } from "node:util"
import { Command, HelpDoc, Options, ValidationError } from "@effect/cli"
import * as Span from "@effect/cli/HelpDoc/Span"
import { Clock, Effect, Option } from "effect"
import * as Clean from "./commands/Clean.js"
import * as Doctor from "./commands/Doctor.js"
import * as Pipeline from "./commands/Pipeline.js"
import * as Ps from "./commands/Ps.js"
import * as Serve from "./commands/Serve.js"
import * as ExitCode from "./ExitCode.js"
import * as Flags from "./Flags.js"
import { Output } from "./Output.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const version = "0.1.0"

const exitCodes = HelpDoc.blocks([
  HelpDoc.h1("EXIT CODES"),
  HelpDoc.p(
    ExitCode.descriptions.map(([code, meaning]) => `${String(code).padStart(3)}  ${meaning}`).join("\n")
  )
])

const describe = (summary: string, examples: ReadonlyArray<readonly [string, string]>): HelpDoc.HelpDoc =>
  HelpDoc.blocks([
    HelpDoc.p(summary),
    HelpDoc.h1("EXAMPLES"),
    ...examples.map(([command, what]) =>
      HelpDoc.p(Span.spans([Span.code(`  $ ${command}`), Span.text(`\n      ${what}`)]))
    ),
    exitCodes
  ])

const output = Options.text("output").pipe(
  Options.withAlias("o"),
  Options.withPseudoName("DIR|FILE.tar.gz"),
  Options.optional,
  Options.withDescription(
    "Where the result goes: a directory (created; it must not exist or be empty) or a .tar.gz file. Default: out/<session>"
  )
)

const keep = Options.boolean("keep").pipe(
  Options.withDescription(
    "Leave the containers and volumes in place after the run, to inspect them; `armada clean --session ID` removes them."
  )
)

const pipelineOptions = {
  spec: Flags.spec,
  engine: Flags.engine,
  concurrency: Flags.concurrency,
  prefix: Flags.prefix,
  pull: Flags.pull,
  keep,
  json: Flags.json,
  quiet: Flags.quiet,
  verbose: Flags.verbose
}

/**
 * @since 0.1.0
 * @category commands
 */
export const runCommand = Command.make(
  "run",
  { ...pipelineOptions, output, server: Serve.server, templateOnServer: Serve.templateOnServer },
  ({ server, templateOnServer, ...flags }) =>
    Option.match(server, {
      onNone: () =>
        templateOnServer
          ? Effect.flatMap(Clock.currentTimeMillis, (startedAt) =>
              Pipeline.failEarly(
                flags,
                "run",
                flags.spec,
                startedAt,
                "bad-input",
                "--template-on-server: only with --server URL, whose server reads the template from its own machine"
              )
            )
          : Pipeline.run(flags),
      // The client of `armada serve` (its API's schemas, the upload) is loaded only for --server.
      onSome: (url) =>
        Effect.flatMap(
          Effect.promise(() => import("./commands/Remote.js")),
          (Remote) => Remote.run(flags, url, { templateOnServer })
        )
    })
).pipe(
  Command.withDescription(
    describe(
      "Runs a pipeline: warm (pull missing images, load the template), start every container and wait until it is ready, call the processors in parallel, merge their outputs, call the plugins in order, export the result, and remove everything the run created. Every failure is reported with its stage, item, reason and a hint.",
      [
        [
          "armada run examples/hello/pipeline.yaml --output out/hello",
          "run the example; the result lands in out/hello"
        ],
        [
          "armada run pipeline.yaml -o result.tar.gz --concurrency 4",
          "at most 4 containers at once, result as an archive"
        ],
        [
          "armada run pipeline.yaml --json | jq -c 'select(._tag == \"Result\")'",
          "machine-readable: NDJSON events, then a Result document"
        ],
        ["armada run pipeline.yaml --engine local", "no Docker: run the images as local processes"],
        [
          "armada run pipeline.yaml --server http://127.0.0.1:7077",
          "on an `armada serve`, with its warm pool"
        ]
      ]
    )
  )
)

/**
 * @since 0.1.0
 * @category commands
 */
export const warmCommand = Command.make("warm", pipelineOptions, Pipeline.warm).pipe(
  Command.withDescription(
    describe(
      "Prepares a pipeline without running it: pulls the images that are missing and checks that the template loads, then removes the volumes it made (the images stay), so a later `armada run` starts at once.",
      [["armada warm examples/hello/pipeline.yaml", "pull what the example needs"]]
    )
  )
)

/** What the commands that find armada's resources by label (no spec) take. */
const labelledOptions = { prefix: Flags.prefixWithDefault, engine: Flags.engine, json: Flags.json }

const all = Options.boolean("all").pipe(
  Options.withDescription("Everything armada created under the prefix, every session, and the network.")
)

const pools = Options.boolean("pools").pipe(
  Options.withDescription(
    "Every pooled set (what carries <prefix>.pool): a killed `armada serve`'s containers and volumes. A running server's sets go too; it starts new ones, and a run on a removed set fails. On a running server, `DELETE /pools/:key` removes a pool's sets without failing runs."
  )
)

/**
 * @since 0.1.0
 * @category commands
 */
export const cleanCommand = Command.make(
  "clean",
  { session: Flags.session, pools, all, ...labelledOptions },
  Clean.handler
).pipe(
  Command.withDescription(
    describe(
      "Removes what runs left behind (after --keep, a run that was killed, or the pooled sets of a killed `armada serve`): containers, volumes and the network, found by their labels.",
      [
        ["armada clean --session k3x9ab2q", "one session (`armada ps` lists them)"],
        ["armada clean --pools", "every pooled set `armada serve` left (`armada ps` lists them)"],
        ["armada clean --all", "everything labelled armada.managed=true"]
      ]
    )
  )
)

/**
 * @since 0.1.0
 * @category commands
 */
export const psCommand = Command.make("ps", labelledOptions, Ps.handler).pipe(
  Command.withDescription(
    describe(
      "Lists the sessions armada has on the engine, with their containers (role, state, age) and volumes, found by label; the sets an `armada serve` pools (labelled <prefix>.pool=<key>) apart, per pool key.",
      [
        ["armada ps", "what is left, per session and per pool"],
        ["armada ps --json", "the same as JSON"]
      ]
    )
  )
)

/**
 * @since 0.1.0
 * @category commands
 */
export const doctorCommand = Command.make(
  "doctor",
  { spec: Flags.optionalSpec, engine: Flags.engine, json: Flags.json },
  Doctor.handler
).pipe(
  Command.withDescription(
    describe(
      "Checks the set-up: where the Docker engine is, whether it answers (and why not), its version, which engine --engine would use, and, given a spec, which of its images are present.",
      [
        ["armada doctor", "is there an engine?"],
        ["armada doctor examples/hello/pipeline.yaml", "and are the example's images there?"]
      ]
    )
  )
)

/**
 * @since 0.3.0
 * @category commands
 */
export const serveCommand = Command.make(
  "serve",
  { ...Serve.options, engine: Flags.engine, json: Flags.json },
  Serve.handler
).pipe(
  Command.withDescription(
    describe(
      "Serves an HTTP API (docs/serve.md; OpenAPI at /openapi.json) that runs pipelines on a warm pool of container sets, so a re-run costs what its work costs. Listens on 127.0.0.1 unless --listen says otherwise; any other address needs a token (--token-file, or ARMADA_SERVE_TOKEN). SIGTERM/SIGINT: no new run, running ones get --grace to finish, then everything is removed.",
      [
        ["armada serve", "on http://127.0.0.1:7077"],
        [
          "armada serve --listen 0.0.0.0 --token-file /run/secrets/armada --max-sets 8",
          "reachable by others, with a token"
        ]
      ]
    )
  )
)

/**
 * The whole tree.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("armada").pipe(
  Command.withDescription(
    HelpDoc.blocks([
      HelpDoc.p(
        "Runs containers in parallel under a limit, waits until each is ready, calls their HTTP APIs, and reports every failure with the item that failed. Its first job: a three-stage build pipeline (processors in parallel → merge → plugins in order)."
      ),
      HelpDoc.p("Start with: armada run examples/hello/pipeline.yaml --output out/hello"),
      HelpDoc.p("Help on a command: armada <command> --help"),
      exitCodes
    ])
  ),
  Command.withSubcommands([runCommand, warmCommand, cleanCommand, psCommand, doctorCommand, serveCommand])
)

const cli = Command.run(command, { name: "armada", version })

/**
 * Runs the command line (`process.argv`-shaped: runtime, script, then the arguments) and
 * succeeds with the exit code. A parse error has already been printed by @effect/cli: exit 2.
 * Only an interruption (Ctrl-C) ends it otherwise; `bin.ts` makes that 130.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (argv: ReadonlyArray<string>) =>
  withPlainHelp(cli(argv)).pipe(
    Effect.as(ExitCode.ExitCode.success as number),
    Effect.catchAll((error) => {
      if (error instanceof ExitCode.Reported) return Effect.succeed(error.code)
      if (ValidationError.isValidationError(error))
        return Effect.succeed(ExitCode.ExitCode.badInput as number)
      return Effect.flatMap(Output, (out) =>
        Effect.as(out.stderr(`error: ${messageOf(error)}\n`), ExitCode.ExitCode.itemsFailed as number)
      )
    }),
    // A defect is a bug: say so rather than end silently (interruption still ends with 130).
    Effect.catchAllDefect((defect) =>
      Effect.flatMap(Output, (out) =>
        Effect.as(
          out.stderr(
            `error: unexpected failure (a bug in armada; please report it): ${defect instanceof Error ? (defect.stack ?? defect.message) : String(defect)}\n`
          ),
          ExitCode.ExitCode.itemsFailed as number
        )
      )
    )
  )

/**
 * @effect/cli colours its help and errors; a pipe or a log gets them without escape codes.
 */
const withPlainHelp = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | Output> =>
  Effect.flatMap(Output, (output) =>
    output.isTTY
      ? effect
      : Effect.flatMap(Effect.console, (console) => {
          const strip = (args: ReadonlyArray<unknown>) =>
            args.map((arg) => (typeof arg === "string" ? stripVTControlCharacters(arg) : arg))
          return Effect.withConsole(effect, {
            ...console,
            log: (...args) => console.log(...strip(args)),
            error: (...args) => console.error(...strip(args))
          })
        })
  )

const messageOf = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error ? String(error.message) : String(error)
