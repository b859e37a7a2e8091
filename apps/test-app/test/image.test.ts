import { execFile } from "node:child_process"
import { randomUUID } from "node:crypto"
import { promisify } from "node:util"
import { type ContainerExit, ProcessorClient, Protocol } from "@armada/http"
import { Engine, TestImage } from "@armada/testkit"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { clientLayer } from "./helpers.js"

const exec = promisify(execFile)
const run = randomUUID().slice(0, 8)
const runLabel = `armada.test.run=${run}`
const labels = ["--label", "armada.test=test-app", "--label", runLabel]

/** Runs the docker CLI; its stdout, as is. */
const dockerRaw = (...args: ReadonlyArray<string>) =>
  Effect.promise(() => exec("docker", args, { maxBuffer: 16 * 1024 * 1024 }).then(({ stdout }) => stdout))

const docker = (...args: ReadonlyArray<string>) => Effect.map(dockerRaw(...args), (out) => out.trim())

/** A labelled volume, removed with the scope. */
const volume = Effect.acquireRelease(docker("volume", "create", ...labels), (name) =>
  Effect.ignore(docker("volume", "rm", "-f", name))
)

/** A labelled container of the test app, published on 127.0.0.1 only, removed with the scope. */
const container = (args: ReadonlyArray<string>, port: number) =>
  Effect.gen(function* () {
    const id = yield* Effect.acquireRelease(
      docker("run", "-d", ...labels, "-p", `127.0.0.1::${port}`, ...args, TestImage.testAppImage),
      (id) => Effect.ignore(docker("rm", "-f", "-v", id))
    )
    const published = (yield* docker("port", id, `${port}/tcp`))
      .split("\n")
      .find((line) => line.startsWith("127.0.0.1:"))
    // `docker wait` returns once the container has exited, with its exit code.
    const exited: Effect.Effect<ContainerExit> = Effect.gen(function* () {
      const exitCode = Number(yield* docker("wait", id))
      const logs = yield* Effect.promise(() =>
        exec("docker", ["logs", "--tail", "20", id]).then(({ stdout, stderr }) => `${stdout}${stderr}`.trim())
      )
      return { exitCode, logTail: logs }
    }).pipe(Effect.orDie)
    return {
      id,
      endpoint: { name: `image-${id.slice(0, 12)}`, url: `http://${published ?? "127.0.0.1:0"}` },
      exited
    }
  })

/** Runs node inside a running container and returns what it printed. */
const nodeIn = (id: string, script: string) => dockerRaw("exec", id, "/usr/local/bin/node", "-e", script)

const cat = (id: string, path: string) =>
  nodeIn(id, `process.stdout.write(require("fs").readFileSync(${JSON.stringify(path)}, "utf8"))`)

/** Fills a volume with `files` using the image's own node (there is no shell and no registry). */
const fill = (name: string, files: Record<string, string>) =>
  docker(
    "run",
    "--rm",
    ...labels,
    "-v",
    `${name}:/fill`,
    "--entrypoint",
    "/usr/local/bin/node",
    TestImage.testAppImage,
    "-e",
    `const fs = require("fs"), path = require("path");
     for (const [p, c] of Object.entries(${JSON.stringify(files)})) {
       fs.mkdirSync(path.dirname("/fill/" + p), { recursive: true }); fs.writeFileSync("/fill/" + p, c)
     }`
  )

const leftovers = Effect.gen(function* () {
  const containers = yield* docker("ps", "-aq", "--filter", `label=${runLabel}`)
  const volumes = yield* docker("volume", "ls", "-q", "--filter", `label=${runLabel}`)
  return [containers, volumes].filter((out) => out !== "").join("\n")
})

describe.skipIf(Engine.skipWithoutEngine("test-app image"))(
  "the test app in its image on a real engine",
  () => {
    beforeAll(() => {
      TestImage.ensureTestAppImage()
    }, 300_000)

    afterAll(async () => {
      assert.strictEqual(await Effect.runPromise(leftovers), "", "every container and volume was removed")
    })

    it.scopedLive(
      "processor on a read-only template mount: the write probe says EROFS; merger and plugin work on the session volume",
      () =>
        Effect.gen(function* () {
          const template = yield* volume
          const session = yield* volume
          yield* fill(template, { "src/hello.txt": "hello {{name}}\n", "src/raw.txt": "{{name}} stays\n" })
          const client = yield* ProcessorClient

          const processor = yield* container(
            [
              "-e",
              "ARMADA_FAULT_WRITE_TEMPLATE=1",
              "-v",
              `${template}:/workspace/cyanprint:ro`,
              "-v",
              `${session}:/workspace/area`
            ],
            5551
          )
          yield* client.waitReady(processor.endpoint, { exited: processor.exited, deadline: "2 minutes" })
          const processed = yield* client.process(
            processor.endpoint,
            Protocol.ProcessRequest.make({
              readDir: "/workspace/cyanprint",
              writeDir: "/workspace/area/p1",
              globs: [
                Protocol.Glob.make({ root: "src", glob: "hello.*", exclude: [], type: "template" }),
                Protocol.Glob.make({ root: "src", glob: "raw.txt", exclude: [], type: "copy" })
              ],
              config: { vars: { name: "docker" } }
            })
          )
          assert.strictEqual(processed.outputDir, "/workspace/area/p1")
          assert.strictEqual(yield* cat(processor.id, "/workspace/area/p1/.armada-write-probe"), "EROFS")
          assert.strictEqual(yield* cat(processor.id, "/workspace/area/p1/hello.txt"), "hello docker\n")
          assert.strictEqual(yield* cat(processor.id, "/workspace/area/p1/raw.txt"), "{{name}} stays\n")

          const merger = yield* container(
            [
              "-e",
              "ARMADA_ROLE=merger",
              "-v",
              `${template}:/workspace/cyanprint:ro`,
              "-v",
              `${session}:/workspace/area`
            ],
            9000
          )
          yield* client.waitReady(merger.endpoint, { exited: merger.exited, deadline: "2 minutes" })
          const merged = yield* client.merge(
            merger.endpoint,
            run,
            Protocol.MergeRequest.make({
              fromDirs: ["/workspace/cyanprint", "/workspace/area/p1"],
              toDir: "/workspace/area/m"
            })
          )
          assert.deepStrictEqual(merged.conflicts, [])
          assert.strictEqual(merged.files, 5)

          const plugin = yield* container(
            ["--env", "ARMADA_ROLE=plugin", "-v", `${session}:/workspace/area`],
            5552
          )
          yield* client.waitReady(plugin.endpoint, { exited: plugin.exited, deadline: "2 minutes" })
          yield* client.plug(
            plugin.endpoint,
            Protocol.PlugRequest.make({
              directory: "/workspace/area/m",
              config: { prependLine: { glob: "*.txt", text: "# plugged" } }
            })
          )
          assert.strictEqual(
            yield* cat(plugin.id, "/workspace/area/m/hello.txt"),
            "# plugged\nhello docker\n"
          )
          assert.strictEqual(yield* cat(plugin.id, "/workspace/area/m/src/hello.txt"), "hello {{name}}\n")
        }).pipe(Effect.provide(clientLayer)),
      480_000
    )

    it.scopedLive(
      "a container that exits at start is reported at once with its exit code and log tail",
      () =>
        Effect.gen(function* () {
          const dying = yield* container(["-e", "ARMADA_FAULT_EXIT=4"], 5551)
          const client = yield* ProcessorClient
          const error = yield* Effect.flip(client.waitReady(dying.endpoint, { exited: dying.exited }))
          assert.strictEqual(error._tag, "Exited")
          if (error._tag !== "Exited") return
          assert.strictEqual(error.exitCode, 4)
          assert.include(error.logTail, "ARMADA_FAULT_EXIT=4")
        }).pipe(Effect.provide(clientLayer)),
      120_000
    )
  }
)
