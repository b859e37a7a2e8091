/**
 * What the cross-package tests share: the engine seen through the `docker` CLI rather than
 * through the code under test, and waiting for a condition.
 */
import { execFile, execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import { Poll } from "@armada/testkit"
import { assert } from "vitest"

/** Waits for a condition: `Poll.until`, the one helper every test of the project uses. */
export const until = Poll.until

/**
 * `name` and 4 random hex digits, new for each file and run (vitest runs each file in a process of
 * its own): other checkouts run the same file on the same engine, and what a test counts or removes
 * by label must be only what it made.
 */
export const ownPrefix = (name: string): string => `${name}${randomBytes(2).toString("hex")}`

/** What a CLI run printed, its exit code (-1 when it did not exit by itself) and how long it took. */
export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  readonly millis: number
}

/**
 * `node bin args...` to its end in `cwd`, with `env` over this process's environment (a variable
 * given as undefined is removed), killed after `timeout` ms.
 */
export const runCli = (
  bin: string,
  args: ReadonlyArray<string>,
  options: {
    readonly cwd?: string
    readonly env?: Readonly<Record<string, string | undefined>>
    readonly timeout: number
  }
): Promise<CliResult> =>
  new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env }
    for (const [key, value] of Object.entries(options.env ?? {})) {
      if (value === undefined) delete env[key]
      else env[key] = value
    }
    const started = Date.now()
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: options.cwd, env, timeout: options.timeout, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1
        resolve({ code, stdout, stderr, millis: Date.now() - started })
      }
    )
  })

/**
 * How long `armada args...` (the CLI at `bin`) takes on this machine now, whatever its exit code: the
 * share of a timed CLI run that is only the machine's speed. A bound on how fast the CLI does
 * something is measured beyond such a run that does all of it but the thing timed, so a busy
 * machine does not fail it.
 */
export const cliMillis = async (bin: string, args: ReadonlyArray<string>): Promise<number> =>
  (await runCli(bin, args, { timeout: 120_000 })).millis

/** `docker args...` (against `host` when given), its output as non-empty lines. */
export const docker = (args: ReadonlyArray<string>, host?: string): Array<string> =>
  execFileSync("docker", host === undefined ? [...args] : ["-H", host, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 60_000
  })
    .split("\n")
    .filter((line) => line !== "")

export interface Labelled {
  readonly containers: ReadonlyArray<string>
  readonly volumes: ReadonlyArray<string>
  readonly networks: ReadonlyArray<string>
}

/** The names of every container, volume and network carrying `label`. */
export const labelled = (label: string, host?: string): Labelled => ({
  containers: docker(["ps", "-a", "--format", "{{.Names}}", "--filter", `label=${label}`], host),
  volumes: docker(["volume", "ls", "-q", "--filter", `label=${label}`], host),
  networks: docker(["network", "ls", "--format", "{{.Name}}", "--filter", `label=${label}`], host)
})

export const count = (found: Labelled): number =>
  found.containers.length + found.volumes.length + found.networks.length

export const nothing: Labelled = { containers: [], volumes: [], networks: [] }

/**
 * Removes what carries `label`, and only that: the safety net after a failed test (which has
 * already reported what it found). Best effort: what it cannot remove, the assertions report.
 */
export const sweep = (label: string, host?: string): void => {
  const filter = ["--filter", `label=${label}`]
  const attempt = (args: ReadonlyArray<string>) => {
    try {
      docker(args, host)
    } catch {
      // reported by the assertions
    }
  }
  const containers = docker(["ps", "-aq", ...filter], host)
  if (containers.length > 0) attempt(["rm", "-f", ...containers])
  const volumes = docker(["volume", "ls", "-q", ...filter], host)
  if (volumes.length > 0) attempt(["volume", "rm", "-f", ...volumes])
  // By id: two networks may share the name.
  const networks = docker(["network", "ls", "-q", ...filter], host)
  if (networks.length > 0) attempt(["network", "rm", ...networks])
}

/** Every file below `dir` (links included, directories not), relative to it, sorted. */
export const filesOf = (dir: string): Array<string> =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort()

/** `dir` holds exactly the files of `want`, byte for byte. */
export const assertSameFiles = (dir: string, want: string): void => {
  assert.deepStrictEqual(filesOf(dir), filesOf(want))
  for (const file of filesOf(want)) {
    assert.isTrue(readFileSync(join(dir, file)).equals(readFileSync(join(want, file))), `${file} differs`)
  }
}

/** Every file below `dir`, relative, with its bytes (base64), to compare two trees. */
export const tree = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {}
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name)
      if (statSync(path).isDirectory()) walk(path)
      else out[relative(dir, path)] = readFileSync(path).toString("base64")
    }
  }
  walk(dir)
  return out
}
