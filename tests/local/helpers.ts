import { readdirSync, readFileSync } from "node:fs"
import { ProcessGroup } from "@armada/local"

/**
 * The live processes (zombies left out) whose environment has `ARMADA_WORKSPACE_ROOT` below
 * `stateFolder`: every process a local engine started there, whatever group it ended up in.
 * Linux only (it reads /proc); elsewhere it finds nothing.
 */
export const processesUnder = (stateFolder: string): Array<number> => {
  if (process.platform !== "linux") return []
  const pids: Array<number> = []
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    let environ: string
    try {
      environ = readFileSync(`/proc/${entry}/environ`, "latin1")
    } catch {
      continue
    }
    const root = environ.split("\0").find((line) => line.startsWith("ARMADA_WORKSPACE_ROOT="))
    if (
      root?.slice("ARMADA_WORKSPACE_ROOT=".length).startsWith(stateFolder) &&
      ProcessGroup.isAlive(Number(entry))
    ) {
      pids.push(Number(entry))
    }
  }
  return pids
}
