/**
 * The built `armada` in a real terminal: a fresh tmux session of 120×45. bash records the exit
 * code (tmux's own pane status is not always filled in) and, like a shell, survives a Ctrl-C the
 * CLI handles; the pane stays once the command ends, for `capture-pane`.
 */
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { until } from "./support.js"

const tmux = (args: ReadonlyArray<string>) => execFileSync("tmux", args, { encoding: "utf8" })

/** A running `armada` in its tmux session. */
export interface Terminal {
  /** What the screen shows now. */
  readonly pane: () => string
  /** The screen once it shows `text` (tmux may not have drawn the last bytes yet), or after 10 s. */
  readonly screenWith: (text: string) => Promise<string>
  /** Types `keys` as tmux names them (`C-c`). */
  readonly send: (keys: string) => void
  /** The exit status once bash has recorded it. */
  readonly exited: (millis: number) => Promise<number>
  /** Ends the session, whatever it runs. */
  readonly close: () => void
}

/**
 * `node bin args…` in a fresh tmux session started in `cwd`, with `DOCKER_HOST` passed on and
 * `env` set; its exit status is written into `work`.
 */
export const inTerminal = (options: {
  readonly bin: string
  readonly args: ReadonlyArray<string>
  readonly cwd: string
  readonly work: string
  readonly env?: Readonly<Record<string, string>>
}): Terminal => {
  const name = `armada-test-${process.pid}-${randomBytes(3).toString("hex")}`
  const status = join(options.work, `${name}.status`)
  const variables = {
    ...(process.env.DOCKER_HOST === undefined ? {} : { DOCKER_HOST: process.env.DOCKER_HOST }),
    ...options.env
  }
  tmux([
    ...["new-session", "-d", "-s", name, "-x", "120", "-y", "45", "-c", options.cwd],
    ...Object.entries(variables).flatMap(([key, value]) => ["-e", `${key}=${value}`]),
    ...["bash", "-c", `"$0" "$@"; echo $? > ${status}`, process.execPath, options.bin, ...options.args]
  ])
  tmux(["set-option", "-t", name, "remain-on-exit", "on"])
  const pane = () => tmux(["capture-pane", "-p", "-t", name])
  const exitStatus = () => {
    const text = existsSync(status) ? readFileSync(status, "utf8") : ""
    return text.endsWith("\n") ? Number(text.trim()) : undefined
  }
  return {
    pane,
    screenWith: async (text) => {
      await until(() => pane().includes(text), JSON.stringify(text), 10_000).catch(() => undefined)
      return pane()
    },
    send: (keys) => {
      tmux(["send-keys", "-t", name, keys])
    },
    exited: async (millis) => {
      await until(() => exitStatus() !== undefined, "the CLI to exit", millis)
      return exitStatus()!
    },
    close: () => {
      try {
        tmux(["kill-session", "-t", name])
      } catch {
        // already gone
      }
    }
  }
}
