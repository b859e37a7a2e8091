/**
 * `armada ps`: the sessions armada has on the engine, found by label, with their containers
 * (role, state, age) and volumes.
 *
 * @since 0.1.0
 */
import { Names } from "@armada/core"
import { ContainerEngine, type ContainerInfo, type VolumeInfo } from "@armada/engine"
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

/**
 * Groups what was found by its session label, sessions in order of their oldest resource.
 *
 * @since 0.1.0
 * @category constructors
 */
export const group = (
  prefix: Names.Id,
  containers: ReadonlyArray<ContainerInfo>,
  volumes: ReadonlyArray<VolumeInfo>
): Array<Session> => {
  const keys = Names.labelKeys(prefix)
  const sessions = new Map<string, { containers: Array<ContainerInfo>; volumes: Array<VolumeInfo> }>()
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
  const oldest = (found: { containers: Array<ContainerInfo>; volumes: Array<VolumeInfo> }) =>
    Math.min(
      ...found.containers.map((c) => c.createdAt.getTime()),
      ...found.volumes.map((v) => v.createdAt.getTime())
    )
  return [...sessions.entries()]
    .sort(([, a], [, b]) => oldest(a) - oldest(b))
    .map(([session, found]) => ({
      session,
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

/**
 * The table for people.
 *
 * @since 0.1.0
 * @category rendering
 */
export const lines = (prefix: Names.Id, sessions: ReadonlyArray<Session>, now: number): Array<string> => {
  if (sessions.length === 0) return [`No resources labelled ${prefix}.managed=true.`]
  const rows: Array<Array<string>> = [["SESSION", "KIND", "NAME", "ROLE", "STATE", "AGE"]]
  for (const session of sessions) {
    for (const container of session.containers) {
      const state =
        container.exitCode === undefined ? container.state : `${container.state} (${container.exitCode})`
      rows.push([
        session.session,
        "container",
        container.name,
        container.role,
        state,
        age(container.createdAt, now)
      ])
    }
    for (const volume of session.volumes) {
      rows.push([session.session, "volume", volume.name, "", "", age(volume.createdAt, now)])
    }
  }
  const cleanup = sessions
    .filter((session) => session.session !== noSession)
    .map(
      (session) =>
        `  armada clean --session ${session.session}${prefix === Names.defaultPrefix ? "" : ` --prefix ${prefix}`}`
    )
  return [...Format.table(rows), "", "Remove a session with:", ...cleanup]
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
    if (options.json) return yield* output.stdout(`${JSON.stringify({ prefix: options.prefix, sessions })}\n`)
    yield* output.stdout(`${lines(options.prefix, sessions, now).join("\n")}\n`)
  }).pipe(Effect.scoped)
