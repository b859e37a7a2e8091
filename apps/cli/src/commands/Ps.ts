/**
 * `armada ps`: the sessions armada has on the engine, found by label, with their containers
 * (role, state, age) and volumes; the sets an `armada serve` pools (labelled `<prefix>.pool`)
 * apart from run sessions, each with its pool key.
 *
 * @since 0.1.0
 */
import { Names } from "@armada/core"
import { ContainerEngine, type ContainerSummary, type VolumeInfo } from "@armada/engine"
import { Clock, Context, Effect } from "effect"
import * as Engine from "../Engine.js"
import type { Reported } from "../ExitCode.js"
import { Output } from "../Output.js"
import * as Format from "../render/Format.js"
import { failEarly } from "./Pipeline.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Session {
  readonly session: string
  /** The pool key, when the session is a pooled set. */
  readonly pool?: string | undefined
  readonly containers: ReadonlyArray<{
    readonly name: string
    readonly role: string
    readonly state: string
    readonly exitCode?: number | undefined
    readonly createdAt: string
  }>
  readonly volumes: ReadonlyArray<{ readonly name: string; readonly createdAt: string }>
}

const noSession = "(none)"

/** `{ pool: key }` when any of a session's resources carries the pool label. */
const poolOf = (
  label: string,
  resources: ReadonlyArray<{ readonly labels: Readonly<Record<string, string>> }>
) => {
  const key = resources.map((resource) => resource.labels[label]).find((value) => value !== undefined)
  return key === undefined ? {} : { pool: key }
}

/**
 * Groups what was found by its session label, sessions in order of their oldest resource.
 *
 * @since 0.1.0
 * @category constructors
 */
export const group = (
  prefix: Names.Id,
  containers: ReadonlyArray<ContainerSummary>,
  volumes: ReadonlyArray<VolumeInfo>
): Array<Session> => {
  const keys = Names.labelKeys(prefix)
  const poolLabel = `${prefix}.pool`
  const sessions = new Map<string, { containers: Array<ContainerSummary>; volumes: Array<VolumeInfo> }>()
  const entry = (labels: Readonly<Record<string, string>>) => {
    const session = labels[keys.session] ?? noSession
    let found = sessions.get(session)
    if (found === undefined) {
      found = { containers: [], volumes: [] }
      sessions.set(session, found)
    }
    return found
  }
  for (const container of containers) entry(container.labels).containers.push(container)
  for (const volume of volumes) entry(volume.labels).volumes.push(volume)
  const oldest = (found: { containers: Array<ContainerSummary>; volumes: Array<VolumeInfo> }) =>
    Math.min(
      ...found.containers.map((c) => c.createdAt.getTime()),
      ...found.volumes.map((v) => v.createdAt.getTime())
    )
  return [...sessions.entries()]
    .sort(([, a], [, b]) => oldest(a) - oldest(b))
    .map(([session, found]) => ({
      session,
      ...poolOf(poolLabel, [...found.containers, ...found.volumes]),
      containers: found.containers.map((container) => ({
        name: container.name,
        role: container.labels[keys.role] ?? "",
        state: container.state,
        ...(container.exitCode === undefined ? {} : { exitCode: container.exitCode }),
        createdAt: container.createdAt.toISOString()
      })),
      volumes: found.volumes.map((volume) => ({
        name: volume.name,
        createdAt: volume.createdAt.toISOString()
      }))
    }))
}

/**
 * `12s`, `5m`, `3h`, `2d`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const age = (from: string, now: number): string => {
  const seconds = Math.max(0, Math.floor((now - Date.parse(from)) / 1000))
  if (seconds < 60) return `${seconds}s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`
  return `${Math.floor(seconds / 86_400)}d`
}

/** One table: a row per container and volume, led by `lead(session)`. */
const table = (
  heads: ReadonlyArray<string>,
  lead: (session: Session) => ReadonlyArray<string>,
  sessions: ReadonlyArray<Session>,
  now: number
) => {
  const rows: Array<Array<string>> = [[...heads, "KIND", "NAME", "ROLE", "STATE", "AGE"]]
  for (const session of sessions) {
    for (const container of session.containers) {
      const state =
        container.exitCode === undefined ? container.state : `${container.state} (${container.exitCode})`
      rows.push([
        ...lead(session),
        "container",
        container.name,
        container.role,
        state,
        age(container.createdAt, now)
      ])
    }
    for (const volume of session.volumes) {
      rows.push([...lead(session), "volume", volume.name, "", "", age(volume.createdAt, now)])
    }
  }
  return Format.table(rows)
}

/**
 * The tables for people: run sessions, then pooled sets by pool key, each with how to remove it.
 *
 * @since 0.1.0
 * @category rendering
 */
export const lines = (prefix: Names.Id, sessions: ReadonlyArray<Session>, now: number): Array<string> => {
  if (sessions.length === 0) return [`No resources labelled ${prefix}.managed=true.`]
  const withPrefix = prefix === Names.defaultPrefix ? "" : ` --prefix ${prefix}`
  const runs = sessions.filter((session) => session.pool === undefined)
  const pooled = [...sessions.filter((session) => session.pool !== undefined)].sort((a, b) =>
    (a.pool ?? "").localeCompare(b.pool ?? "")
  )
  const out: Array<string> = []
  if (runs.length > 0) {
    const cleanup = runs
      .filter((session) => session.session !== noSession)
      .map((session) => `  armada clean --session ${session.session}${withPrefix}`)
    out.push(
      ...table(["SESSION"], (session) => [session.session], runs, now),
      "",
      "Remove a session with:",
      ...cleanup
    )
  }
  if (pooled.length > 0) {
    if (out.length > 0) out.push("")
    out.push(
      `Pooled sets (an \`armada serve\` keeps them between runs; ${new Set(pooled.map((s) => s.pool)).size} pool keys, ${pooled.length} sets):`,
      ...table(["POOL", "SET"], (session) => [session.pool ?? "", session.session], pooled, now),
      "",
      "On a running server, DELETE /pools/<key> removes a pool's sets. A killed server's sets go with:",
      `  armada clean --pools${withPrefix}`
    )
  }
  return out
}

/**
 * @since 0.1.0
 * @category handlers
 */
export const handler = (options: {
  readonly prefix: Names.Id
  readonly engine: Engine.Selection
  readonly json: boolean
}): Effect.Effect<void, Reported, Engine.Engines | Output> =>
  Effect.gen(function* () {
    const startedAt = yield* Clock.currentTimeMillis
    const fail = (error: Engine.BuildError) =>
      failEarly(
        { json: options.json, quiet: false, verbose: false },
        "ps",
        undefined,
        startedAt,
        Engine.isUnreachable(error) ? "engine-unreachable" : "failed",
        error
      )
    const selected = yield* Effect.either(Engine.select(options.engine))
    if (selected._tag === "Left") return yield* fail(selected.left)
    const engine = Context.get(selected.right.context, ContainerEngine)
    const output = yield* Output
    const filter = Names.labelFilter(options.prefix)
    const listed = yield* Effect.either(
      Effect.all([engine.listContainers(filter), engine.listVolumes(filter)], { concurrency: 2 })
    )
    if (listed._tag === "Left") return yield* fail(listed.left)
    const [containers, volumes] = listed.right
    const sessions = group(options.prefix, containers, volumes)
    const now = yield* Clock.currentTimeMillis
    if (options.json) {
      const pools = sessions.flatMap(({ pool, session, ...rest }) =>
        pool === undefined ? [] : [{ key: pool, set: session, ...rest }]
      )
      const runs = sessions.filter((session) => session.pool === undefined)
      return yield* output.stdout(`${JSON.stringify({ prefix: options.prefix, sessions: runs, pools })}\n`)
    }
    yield* output.stdout(`${lines(options.prefix, sessions, now).join("\n")}\n`)
  }).pipe(Effect.scoped)
