import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { DockerEngineLive } from "@armada/docker"
import { ContainerEngine } from "@armada/engine"
import { layer as processorClientLayer } from "@armada/http"
import { LocalEngine, ProcessGroup } from "@armada/local"
import { Orchestrator, Spec } from "@armada/orchestrator"
import { Engine, TestImage } from "@armada/testkit"
import { NodeFileSystem, NodeHttpClient } from "@effect/platform-node"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"

// The promise of the local engine: the same pipeline gives the same output on Docker and on
// local processes, byte for byte (contents, modes, links), so either can stand in for the other.
const example = fileURLToPath(new URL("../../examples/hello/pipeline.yaml", import.meta.url))
const outputs = mkdtempSync(join(tmpdir(), "armada-same-output-"))
const clientLayer = processorClientLayer.pipe(Layer.provide(NodeHttpClient.layerUndici))

/** Every entry below `root`: a file's mode and bytes (base64), a link's target, a directory's mode. */
const snapshot = (root: string): Record<string, string> => {
  const entries: Record<string, string> = {}
  const visit = (relative: string) => {
    for (const name of readdirSync(join(root, relative)).sort()) {
      const path = relative === "" ? name : `${relative}/${name}`
      const absolute = join(root, path)
      const stat = statSync(absolute, { throwIfNoEntry: true })
      const link = (() => {
        try {
          return readlinkSync(absolute)
        } catch {
          return undefined
        }
      })()
      if (link !== undefined) entries[path] = `link ${link}`
      else if (stat.isDirectory()) {
        entries[path] = `dir ${(stat.mode & 0o777).toString(8)}`
        visit(path)
      } else
        entries[path] = `file ${(stat.mode & 0o777).toString(8)} ${readFileSync(absolute).toString("base64")}`
    }
  }
  visit("")
  return entries
}

const runOn = (engine: Layer.Layer<ContainerEngine, unknown>, output: string) =>
  Effect.gen(function* () {
    const spec = yield* Spec.load(example)
    return yield* Orchestrator.pipeline(spec, { output })
  }).pipe(Effect.provide(Layer.mergeAll(engine, clientLayer, NodeFileSystem.layer)))

describe.skipIf(Engine.skipWithoutEngine("local engine vs Docker: same output"))(
  "the example pipeline gives the same output on the local engine and on Docker",
  () => {
    beforeAll(() => {
      TestImage.ensureTestAppImage()
    }, 300_000)
    afterAll(() => rmSync(outputs, { recursive: true, force: true }))

    it.live(
      "byte for byte",
      () =>
        Effect.gen(function* () {
          const onDocker = join(outputs, "docker")
          const onLocal = join(outputs, "local")
          yield* runOn(DockerEngineLive.layer(), onDocker)
          let stateFolder = ""
          const local = Layer.tap(
            LocalEngine.layer({
              catalog: {
                [TestImage.testAppImage]: { command: [process.execPath, TestImage.testAppBundlePath] }
              }
            }),
            (context) =>
              Effect.sync(() => {
                stateFolder = Context.get(context, ContainerEngine).address.slice("local:".length)
              })
          )
          yield* runOn(local, onLocal)
          const expected = snapshot(onDocker)
          assert.isAbove(Object.keys(expected).length, 3)
          assert.deepStrictEqual(snapshot(onLocal), expected)
          assert.deepStrictEqual(ProcessGroup.startedUnder(stateFolder), [])
        }),
      400_000
    )
  }
)
