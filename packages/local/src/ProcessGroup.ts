/**
 * Liveness of host processes and process groups, as the local engine and its tests need it. A
 * process that has exited but was not reaped yet (a zombie) counts as gone: it runs no code and
 * holds nothing but its pid. This matters where PID 1 does not reap orphans (some container
 * sandboxes), since there a killed grandchild stays a zombie forever and `process.kill(pid, 0)`
 * alone would call it alive.
 *
 * @since 0.1.0
 */
import { readdirSync, readFileSync } from "node:fs"

interface Stat {
  readonly state: string
  readonly pgrp: number
}

/** `/proc/<pid>/stat`: `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses. */
const readStat = (pid: number | string): Stat | undefined => {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8")
  } catch {
    return undefined
  }
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
  return { state: fields[0]!, pgrp: Number(fields[2]) }
}

const hasProc = process.platform === "linux"

/** `process.kill(target, 0)`: true when the target exists (EPERM means it exists but is not ours). */
const signalable = (target: number): boolean => {
  try {
    process.kill(target, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * True when process `pid` exists and is not a zombie.
 *
 * @since 0.1.0
 * @category getters
 */
export const isAlive = (pid: number): boolean => {
  if (!signalable(pid)) return false
  if (!hasProc) return true
  const stat = readStat(pid)
  return stat !== undefined && stat.state !== "Z"
}

/**
 * True when some process of group `pgid` exists and is not a zombie.
 *
 * @since 0.1.0
 * @category getters
 */
export const isGroupAlive = (pgid: number): boolean => {
  if (!signalable(-pgid)) return false
  if (!hasProc) return true
  return readdirSync("/proc").some((entry) => {
    if (!/^\d+$/.test(entry)) return false
    const stat = readStat(entry)
    return stat !== undefined && stat.pgrp === pgid && stat.state !== "Z"
  })
}

/**
 * Sends `signal` to process `pid`; false when it is already gone.
 *
 * @since 0.1.0
 * @category combinators
 */
export const signal = (pid: number, signal: NodeJS.Signals): boolean => {
  try {
    process.kill(pid, signal)
    return true
  } catch {
    return false
  }
}

/**
 * Sends `signal` to every process of group `pgid`; false when the group is already gone.
 *
 * @since 0.1.0
 * @category combinators
 */
export const signalGroup = (pgid: number, signalName: NodeJS.Signals): boolean => signal(-pgid, signalName)

/**
 * The live processes whose environment has `ARMADA_WORKSPACE_ROOT` below `folder`: every process
 * a local engine started there (children inherit it), whatever group it ended up in. Linux only
 * (it reads `/proc`; processes of other users are not readable); elsewhere it finds nothing.
 *
 * @since 0.1.0
 * @category getters
 */
export const startedUnder = (folder: string): Array<number> => {
  if (!hasProc) return []
  const prefix = `ARMADA_WORKSPACE_ROOT=${folder.endsWith("/") ? folder : `${folder}/`}`
  const pids: Array<number> = []
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    let environ: string
    try {
      environ = readFileSync(`/proc/${entry}/environ`, "latin1")
    } catch {
      continue
    }
    if (environ.split("\0").some((line) => line.startsWith(prefix)) && isAlive(Number(entry)))
      pids.push(Number(entry))
  }
  return pids
}

/**
 * The process group of `pid`, when it can be read (Linux).
 *
 * @since 0.1.0
 * @category getters
 */
export const groupOf = (pid: number): number | undefined => (hasProc ? readStat(pid)?.pgrp : undefined)
