/**
 * `armada run --server URL`: sends the spec and its template (or, with `--template-on-server`, the
 * template's path, for the server to read on its own machine) to an `armada serve`, shows the run's
 * events as a local run shows them (live view, plain lines or NDJSON, the same `Result` document
 * and exit codes), and writes the output where `--output` says. Ctrl-C interrupts the run on the
 * server (`DELETE /runs/:id`). The token, when the server asks for one, is `ARMADA_SERVE_TOKEN`.
 *
 * @since 0.3.0
 */
import { readFileSync } from "node:fs"
import { dirname, extname, resolve } from "node:path"
import { Archive } from "@armada/engine"
import { Orchestrator, OrchestratorError, Spec } from "@armada/orchestrator"
import { FetchHttpClient, HttpClient, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import {
  Chunk,
  Clock,
  Config,
  Data,
  Duration,
  Effect,
  Option,
  Redacted,
  Schema,
  type Scope,
  Stream
} from "effect"
import * as Display from "../Display.js"
import * as Event from "../Event.js"
import { Reported } from "../ExitCode.js"
import type { Output } from "../Output.js"
import * as CliProgress from "../Progress.js"
import * as Report from "../Report.js"
import { BadRequest, BadSpec, BadTemplate, RunInfo, TemplateNotAllowed, TooLarge } from "../serve/Api.js"
import { failEarly, outputProblem, progressContextOf, type RunFlags, shown } from "./Pipeline.js"

const decodeInfo = Schema.decodeUnknown(RunInfo)
/** A line of a run's events: an event, or the `Result` document the stream ends with. */
const decodeLine = Schema.decodeUnknown(Schema.parseJson(Schema.Union(Event.Event, Report.Document)))
/** What the server refuses a run with, as the CLI refuses bad input (exit 2). */
const decodeRefusal = Schema.decodeUnknown(
  Schema.Union(BadSpec, BadTemplate, TemplateNotAllowed, TooLarge, BadRequest)
)

/** A server's answer that is not the one expected: its status and the start of its body. */
const unexpected = (
  what: string,
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<never, string> =>
  Effect.flatMap(
    Effect.orElseSucceed(response.text, () => ""),
    (body) => Effect.fail(`${what}: the server answered ${response.status}: ${body.slice(0, 500)}`)
  )

const formatOf = (file: string) => (extname(file).toLowerCase() === ".json" ? "json" : "yaml")

/** The spec file as `Spec.load` reads it, without looking for its template folder here. */
const parseOnly = (file: string) =>
  Effect.try({
    try: () => readFileSync(file, "utf8"),
    catch: (error) =>
      new OrchestratorError.SpecError({
        source: resolve(file),
        issues: [{ path: "", message: `cannot read the spec file: ${String(error)}` }]
      })
  }).pipe(
    Effect.flatMap((text) =>
      Spec.parse(text, { format: formatOf(file), baseDir: dirname(resolve(file)), source: resolve(file) })
    )
  )

/**
 * `event` with the export stage's item named `output`: the server names the file it exported to,
 * this run the output it writes.
 */
const exportNamed = (event: Event.Unstamped, output: string): Event.Unstamped => {
  switch (event._tag) {
    case "ItemStarted":
    case "ItemStatus":
    case "ItemSucceeded":
    case "ItemSkipped":
      return event.stage === "export" ? { ...event, item: output } : event
    case "ItemFailed":
      return event.failure.stage === "export"
        ? { ...event, failure: { ...event.failure, item: output } }
        : event
    default:
      return event
  }
}

/** What went wrong talking to the server, as a sentence. */
const messageOf = (error: unknown): string =>
  typeof error === "string" ? error : error instanceof Error ? error.message : String(error)

/** A refused run: the server's `BadSpec`, `BadTemplate`, `TemplateNotAllowed`, `TooLarge` or `BadRequest`. */
class Refused extends Data.TaggedError("Refused")<{ readonly message: string }> {}

/**
 * @since 0.3.0
 * @category handlers
 */
export const run = (
  flags: RunFlags,
  server: string,
  options: { readonly templateOnServer: boolean } = { templateOnServer: false }
) =>
  Effect.gen(function* () {
    const startedAt = yield* Clock.currentTimeMillis
    const early = (outcome: Report.Outcome, cause: unknown) =>
      failEarly(flags, "run", flags.spec, startedAt, outcome, cause)
    const local = [
      ["--keep", flags.keep],
      ["--concurrency", Option.isSome(flags.concurrency)],
      ["--prefix", Option.isSome(flags.prefix)],
      ["--pull", Option.isSome(flags.pull)]
    ].flatMap(([flag, given]) => (given ? [flag] : []))
    if (local.length > 0) {
      return yield* early(
        "bad-input",
        `${local.join(", ")}: not with --server, which runs the spec's own options; set them in the spec`
      )
    }
    // Checked here too, so a bad spec is refused with the same errors before anything is sent (its
    // template folder too, unless that is on the server's machine).
    const loaded = yield* Effect.either(
      options.templateOnServer ? parseOnly(flags.spec) : Spec.load(flags.spec)
    )
    if (loaded._tag === "Left") return yield* early("bad-input", loaded.left)
    const spec = loaded.right
    const token = yield* Config.option(Config.redacted("ARMADA_SERVE_TOKEN")).pipe(
      Effect.orElseSucceed(() => Option.none<Redacted.Redacted<string>>())
    )
    const client = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest((request) =>
        Option.match(token, {
          onNone: () => request,
          onSome: (t) => HttpClientRequest.bearerToken(request, Redacted.value(t))
        })
      )
    )
    const base = server.replace(/\/+$/, "")

    const form = new FormData()
    form.append("spec", readFileSync(flags.spec, "utf8"))
    form.append("format", formatOf(flags.spec))
    if (options.templateOnServer) form.append("templatePath", spec.template)
    else {
      const template = yield* Stream.runCollect(Archive.gzip(Archive.packDirectory(spec.template))).pipe(
        Effect.map((chunks) => Buffer.concat(Chunk.toArray(chunks))),
        Effect.catchAll((error) => early("bad-input", error))
      )
      form.append("template", new Blob([template], { type: "application/gzip" }), "template.tar.gz")
    }

    const created = yield* client
      .execute(HttpClientRequest.bodyFormData(HttpClientRequest.post(`${base}/runs`), form))
      .pipe(
        Effect.flatMap((response): Effect.Effect<RunInfo, unknown> => {
          if (response.status === 201) return Effect.flatMap(response.json, decodeInfo)
          if (![400, 403, 413].includes(response.status)) return unexpected("POST /runs", response)
          return Effect.flatMap(
            Effect.flatMap(response.json, (body) => Effect.either(decodeRefusal(body))),
            (refusal): Effect.Effect<never, Refused | string> =>
              refusal._tag === "Right"
                ? Effect.fail(
                    new Refused({ message: `the server refused the run: ${refusal.right.message}` })
                  )
                : unexpected("POST /runs", response)
          )
        }),
        Effect.catchAll((error) => early(error instanceof Refused ? "bad-input" : "failed", messageOf(error)))
      )

    const output = resolve(Option.getOrElse(flags.output, () => `out/${created.session}`))
    const problem = outputProblem(output)
    if (problem !== undefined) {
      yield* client.execute(HttpClientRequest.del(`${base}/runs/${created.id}`)).pipe(Effect.ignore)
      return yield* early("bad-input", `--output: ${problem}; armada never overwrites a result`)
    }
    const context = progressContextOf(
      { ...spec, session: created.session as typeof spec.session },
      shown(output)
    )
    let display: Display.Display | undefined
    let exportDone: Event.UnstampedOf<"StageDone"> | undefined
    const onEvent = (event: Event.Event) =>
      Effect.gen(function* () {
        if (event._tag === "RunStarted") {
          display = yield* Display.make(flags, { ...event, spec: flags.spec }, CliProgress.declared(context))
          return
        }
        if (display === undefined) return
        // The server exports to a file of its own; this run's export is the write to --output
        // below, and its success (the item's, then the stage's) is shown once that is done.
        if (event._tag === "ItemSucceeded" && event.stage === "export") return
        if (event._tag === "StageDone" && event.stage === "export" && event.ok) {
          exportDone = event
          return
        }
        yield* display.emit(exportNamed(event as Event.Unstamped, context.output))
      })
    // The run's end is the stream's last line: the server may stop right after it.
    let finished: Report.Document | undefined
    yield* client.execute(HttpClientRequest.get(`${base}/runs/${created.id}/events`)).pipe(
      Effect.flatMap(
        (response): Effect.Effect<void, unknown, Output | Scope.Scope> =>
          response.status === 200
            ? response.stream.pipe(
                Stream.decodeText(),
                Stream.splitLines,
                Stream.filter((line) => line !== ""),
                Stream.mapEffect(decodeLine),
                Stream.runForEach((line) =>
                  line._tag === "Result"
                    ? Effect.sync(() => {
                        finished = line
                      })
                    : onEvent(line)
                )
              )
            : unexpected(`GET /runs/${created.id}/events`, response)
      ),
      Effect.onInterrupt(() =>
        client.execute(HttpClientRequest.del(`${base}/runs/${created.id}`)).pipe(Effect.ignore)
      ),
      Effect.catchAll((error) => early("failed", messageOf(error)))
    )
    if (display === undefined) return yield* early("failed", "the server sent no event of the run")
    if (finished === undefined)
      return yield* early(
        "failed",
        "the server ended the run's events before its result: it may have stopped"
      )
    if (finished.outcome !== "success") {
      const document = yield* display.finish({ outcome: finished.outcome })
      return yield* new Reported({ code: document.exitCode })
    }
    const archive = client.execute(HttpClientRequest.get(`${base}/runs/${created.id}/output`)).pipe(
      Effect.map((response) => response.stream),
      Stream.unwrap
    )
    const format = Orchestrator.exportFormat(output)
    const written =
      format === "tar.gz"
        ? Archive.writeFile(archive, output)
        : Archive.extractToDirectory(Archive.gunzip(archive), output)
    const [writing] = yield* Effect.timed(written).pipe(
      Effect.catchAll((error) => early("failed", messageOf(error)))
    )
    const result = finished.output
    yield* display.emit(CliProgress.exported(context, result?.files ?? 0, format))
    if (exportDone !== undefined) {
      yield* display.emit({ ...exportDone, durationMs: exportDone.durationMs + Duration.toMillis(writing) })
    }
    yield* display.finish({
      outcome: "success",
      output: {
        path: output,
        ...(result?.files === undefined ? {} : { files: result.files }),
        conflicts: result?.conflicts ?? [],
        ...(result?.resolved === undefined ? {} : { resolved: result.resolved })
      }
    })
  }).pipe(Effect.scoped, Effect.provide(FetchHttpClient.layer))
