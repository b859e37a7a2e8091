import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { ImageRef } from "@armada/core"
import type { ContainerEngine, ContainerSpec } from "@armada/engine"
import { LocalEngine } from "@armada/local"
import { Effect, Schedule } from "effect"

export const fixture = fileURLToPath(new URL("./fixtures/proc.mjs", import.meta.url))
export const image = ImageRef.ImageRef.make("local/fixture:1")
export const catalog: LocalEngine.Catalog = { [image]: { command: [process.execPath, fixture] } }
export const testLabels = { "armada-local-test.managed": "true" }

export const makeEngine = (options: Partial<LocalEngine.Options> = {}) =>
  LocalEngine.make({ catalog, stopGrace: "500 millis", ...options })

export const spec = (
  name: string,
  cmd: ReadonlyArray<string>,
  extra: Partial<ContainerSpec> = {}
): ContainerSpec => ({
  name,
  image,
  cmd,
  labels: testLabels,
  ...extra
})

/** Creates and starts a container, returning its id. */
export const run = (engine: ContainerEngine.Service, containerSpec: ContainerSpec) =>
  Effect.tap(engine.createContainer(containerSpec), (id) => engine.startContainer(id))

/** The logs once they contain `text`. */
export const logsWith = (engine: ContainerEngine.Service, container: string, text: string) =>
  engine.logs(container, { tail: 100 }).pipe(
    Effect.repeat({
      until: (logs) => logs.includes(text),
      schedule: Schedule.addDelay(Schedule.identity<string>(), () => "20 millis")
    }),
    Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error(`no "${text}" in the logs`) })
  )

/** The two pids a `family` container prints. */
export const familyPids = (engine: ContainerEngine.Service, container: string) =>
  Effect.map(logsWith(engine, container, "pids"), (logs) => {
    const [, leader, grandchild] = /pids (\d+) (\d+)/.exec(logs)!
    return [Number(leader), Number(grandchild)] as const
  })

export const stateFolder = (engine: ContainerEngine.Service): string => engine.address.slice("local:".length)

export const folderExists = (path: string): boolean => existsSync(path)
