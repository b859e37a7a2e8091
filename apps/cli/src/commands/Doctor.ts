/**
 * `armada doctor [spec]`: is there an engine, where, which version, why discovery took it and what
 * it tried before (each candidate with its error), which one `--engine` would take and why, and
 * (given a spec) which of its images are present and where the credentials of each one's registry
 * come from.
 *
 * @since 0.1.0
 */
import { existsSync } from "node:fs"
import { ImageRef, Parallel } from "@armada/core"
import { Credentials } from "@armada/docker"
import { ContainerEngine } from "@armada/engine"
import { Spec } from "@armada/orchestrator"
import { Array as Arr, Clock, Context, Effect, Either, Option } from "effect"
import * as Engine from "../Engine.js"
import type { EngineInfo } from "../Event.js"
import { ExitCode, Reported } from "../ExitCode.js"
import * as Failures from "../Failures.js"
import { Output } from "../Output.js"
import * as Format from "../render/Format.js"
import { failEarly } from "./Pipeline.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Flags {
  readonly spec: Option.Option<string>
  readonly engine: Engine.Selection
  readonly json: boolean
}

/**
 * What the doctor found; `--json` prints it as is.
 *
 * @since 0.1.0
 * @category models
 */
export interface Findings {
  readonly docker:
    | {
        readonly reachable: true
        readonly address: string
        readonly millis: number
        readonly version: string
        /** What named it: `DOCKER_HOST`, `DOCKER_CONTEXT`, `default socket`, … */
        readonly source: string
        /** Why discovery took it. */
        readonly why: string
        /** The candidates tried before it, each with its error. */
        readonly attempts: ReadonlyArray<Attempt>
      }
    | {
        readonly reachable: false
        readonly reason: string
        readonly hint?: string | undefined
        /** Every candidate tried, each with its error. */
        readonly attempts: ReadonlyArray<Attempt>
      }
  readonly local: { readonly testAppBundle: string; readonly present: boolean }
  readonly engine: EngineInfo | { readonly kind: "none"; readonly reason: string }
  readonly images: ReadonlyArray<ImageFinding>
  readonly exitCode: number
}

/**
 * A candidate engine that did not answer: where it came from, its address, why (the error's
 * message) and the error itself (its `_tag` and fields).
 *
 * @since 0.2.0
 * @category models
 */
export interface Attempt {
  readonly source: string
  readonly address: string
  readonly reason: string
  readonly error: unknown
}

/**
 * One image of the spec: whether the engine has it, and where a pull of it would take its
 * registry's credentials from (never the secret).
 *
 * @since 0.2.0
 * @category models
 */
export interface ImageFinding {
  readonly image: string
  readonly present: boolean
  /** Why `present` is unknown (the engine could not be asked). */
  readonly detail?: string
  readonly registry: string
  /** The source in words: `auths["127.0.0.1:5000"] in /home/me/.docker/config.json`. */
  readonly credentials: string
  /** The source itself; absent when the Docker config could not be read. */
  readonly credentialSource?: Credentials.Source
}

/**
 * The report for people.
 *
 * @since 0.1.0
 * @category rendering
 */
export const lines = (findings: Findings, spec: string | undefined): Array<string> => {
  const { docker, local, engine } = findings
  const rows: Array<Array<string>> = []
  const tried = (attempt: Attempt) => `✖ ${attempt.source} ${attempt.address}: ${attempt.reason}`
  if (docker.reachable) {
    rows.push(["docker", `${docker.address}: reachable (answered in ${docker.millis} ms)`])
    rows.push(["", docker.version])
    rows.push(["", `picked: ${docker.why}`])
    for (const attempt of docker.attempts) rows.push(["", tried(attempt)])
  } else {
    rows.push(["docker", `unreachable: ${docker.reason}`])
    for (const attempt of docker.attempts) rows.push(["", tried(attempt)])
    if (docker.hint !== undefined) rows.push(["", `hint: ${docker.hint}`])
  }
  rows.push([
    "local",
    `test app bundle ${local.testAppBundle}: ${local.present ? "present" : "missing (build it: pnpm build)"}`
  ])
  rows.push([
    "engine",
    engine.kind === "none"
      ? `none: ${engine.reason}`
      : `${engine.kind} at ${engine.address} (${engine.reason})`
  ])
  if (spec !== undefined) {
    rows.push(["images", `of ${spec}:`])
    for (const image of findings.images) {
      const detail = image.detail === undefined ? "" : ` (${image.detail})`
      rows.push(["", `${image.present ? "✔ present" : "✖ missing"}  ${image.image}${detail}`])
      rows.push(["", `           credentials for ${image.registry}: ${image.credentials}`])
    }
  }
  return Format.table(rows)
}

const versionText = (engine: ContainerEngine.Service) =>
  engine.version.pipe(
    Effect.map((v) => `${v.engine} ${v.version} (API ${v.apiVersion}, ${v.os}/${v.arch})`),
    Effect.catchAll((error) => Effect.succeed(`version unknown: ${error.message}`))
  )

/**
 * @since 0.1.0
 * @category handlers
 */
export const handler = (flags: Flags) =>
  Effect.gen(function* () {
    const startedAt = yield* Clock.currentTimeMillis
    const specPath = Option.getOrUndefined(flags.spec)
    const displayFlags = { json: flags.json, quiet: false, verbose: false }
    let spec: Spec.Spec | undefined
    if (specPath !== undefined) {
      const loaded = yield* Effect.either(Spec.load(specPath))
      if (loaded._tag === "Left") {
        return yield* failEarly(displayFlags, "doctor", specPath, startedAt, "bad-input", loaded.left)
      }
      spec = loaded.right
    }

    const probe = yield* Engine.probeDocker(flags.engine.host)
    const attempts = probe.report.attempts.map(
      (attempt): Attempt => ({
        source: attempt.source,
        address: attempt.address,
        reason: attempt.error.message,
        error: Failures.toJson(attempt.error)
      })
    )
    const discovered = Option.getOrUndefined(probe.report.discovered)
    const docker: Findings["docker"] = probe.reachable
      ? {
          reachable: true,
          address: probe.address,
          millis: probe.millis,
          version: yield* versionText(Context.get(probe.context, ContainerEngine)),
          source: discovered?.source ?? "",
          why: discovered?.reason ?? "",
          attempts
        }
      : {
          reachable: false,
          ...Failures.describe(probe.error),
          // NoEngineFound's message lists the attempts, which are shown one a line.
          ...(probe.error._tag === "NoEngineFound" ? { reason: "no Docker engine answered" } : {}),
          attempts
        }
    const testAppBundle = Engine.testAppBundle()
    const local = { testAppBundle, present: existsSync(testAppBundle) }

    const selected = yield* Effect.either(Engine.select(flags.engine, { catalog: spec?.local }))
    const engine: Findings["engine"] =
      selected._tag === "Right" ? selected.right.info : { kind: "none", reason: selected.left.message }

    const images =
      spec === undefined || selected._tag === "Left"
        ? []
        : yield* imagesOf(spec, Context.get(selected.right.context, ContainerEngine))
    const exitCode =
      selected._tag === "Left"
        ? Engine.isUnreachable(selected.left)
          ? ExitCode.engineUnreachable
          : ExitCode.itemsFailed
        : images.every((image) => image.present && image.credentialSource !== undefined)
          ? ExitCode.success
          : ExitCode.itemsFailed
    const findings: Findings = { docker, local, engine, images, exitCode }
    const output = yield* Output
    yield* flags.json
      ? output.stdout(`${JSON.stringify({ _tag: "Doctor", ...findings })}\n`)
      : output.stdout(`${lines(findings, specPath).join("\n")}\n`)
    if (exitCode !== ExitCode.success) return yield* new Reported({ code: exitCode })
  }).pipe(Effect.scoped)

/** Every image the spec runs, once, with whether the engine has it and its credential source. */
const imagesOf = (spec: Spec.Spec, engine: ContainerEngine.Service) =>
  Effect.gen(function* () {
    const credentials = yield* Credentials.Credentials
    const images = Arr.dedupe([
      ...spec.processors.map((p) => p.image),
      ...spec.plugins.map((p) => p.image),
      spec.merger.image
    ])
    const findingOf = (image: ImageRef.ImageRef) => {
      const registry = ImageRef.registryOf(image)
      return Effect.all(
        [Effect.either(engine.imageExists(image)), Effect.either(credentials.source(registry))],
        {
          concurrency: 2
        }
      ).pipe(
        Effect.map(
          ([present, source]): ImageFinding => ({
            image,
            present: Either.getOrElse(present, () => false),
            ...(Either.isLeft(present) ? { detail: present.left.message } : {}),
            registry,
            ...Either.match(source, {
              onLeft: (error) => ({ credentials: `cannot be read: ${error.message}` }),
              onRight: (found) => ({
                credentials: Credentials.describeSource(found),
                credentialSource: found
              })
            })
          })
        )
      )
    }
    const outcome = yield* Parallel.forEachCollect(images, findingOf).pipe(Effect.orDie)
    return [
      ...outcome.successes.map((success) => success.value),
      ...outcome.failures.map(
        (failure): ImageFinding => ({
          image: failure.item,
          present: false,
          detail: failure.cause._tag === "Fail" ? String(failure.cause.error) : String(failure.cause.defect),
          registry: ImageRef.registryOf(failure.item),
          credentials: "unknown"
        })
      )
    ].sort(
      (a, b) => images.indexOf(a.image as ImageRef.ImageRef) - images.indexOf(b.image as ImageRef.ImageRef)
    )
  })
