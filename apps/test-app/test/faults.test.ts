import { spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import { join } from "node:path"
import { type ContainerExit, ProcessorClient, Protocol } from "@armada/http"
import { TestImage } from "@armada/testkit"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { clientLayer, freePort, read, serve, tempDir, writeTree } from "./helpers.js"

const request = Protocol.ProcessRequest.make({
  readDir: "/workspace/cyanprint",
  writeDir: "/workspace/area/p1",
  globs: [Protocol.Glob.make({ glob: "**", exclude: [], type: "template" })],
  config: { vars: { name: "x" } }
})

/** A processor with `faults`, over a template of one file. */
const faulty = (faults: Parameters<typeof serve>[2]) =>
  Effect.gen(function* () {
    const root = yield* tempDir
    yield* writeTree(root, { "workspace/cyanprint/a.txt": "{{name}}" })
    return { root, endpoint: yield* serve("processor", root, faults) }
  })

describe("fault knobs, in process", () => {
  it.scopedLive("ARMADA_FAULT_STATUS: work calls answer that status; GET / stays 200", () =>
    Effect.gen(function* () {
      const { endpoint } = yield* faulty({ status: 503 })
      const client = yield* ProcessorClient
      yield* client.waitReady(endpoint)
      const error = yield* Effect.flip(client.process(endpoint, request))
      assert.strictEqual(error._tag, "BadStatus")
      if (error._tag === "BadStatus") {
        assert.strictEqual(error.status, 503)
        assert.strictEqual(error.body, "fault: status 503")
      }
    }).pipe(Effect.provide(clientLayer))
  )

  it.scopedLive("ARMADA_FAULT_HANG: work calls never answer", () =>
    Effect.gen(function* () {
      const { endpoint } = yield* faulty({ hang: true })
      const client = yield* ProcessorClient
      const error = yield* Effect.flip(client.process(endpoint, request, { timeout: "300 millis" }))
      assert.strictEqual(error._tag, "Timeout")
    }).pipe(Effect.provide(clientLayer))
  )

  it.scopedLive("ARMADA_FAULT_MALFORMED: 200 with malformed JSON", () =>
    Effect.gen(function* () {
      const { endpoint } = yield* faulty({ malformed: true })
      const client = yield* ProcessorClient
      const error = yield* Effect.flip(client.process(endpoint, request))
      assert.strictEqual(error._tag, "BadResponse")
      assert.include(error.message, "malformed JSON")
    }).pipe(Effect.provide(clientLayer))
  )

  it.scopedLive("ARMADA_FAULT_OUTSIDE_AREA: the processor answers /etc", () =>
    Effect.gen(function* () {
      const { endpoint } = yield* faulty({ outsideArea: true })
      const client = yield* ProcessorClient
      const error = yield* Effect.flip(client.process(endpoint, request))
      assert.strictEqual(error._tag, "BadResponse")
      assert.include(error.message, '"/etc" is not inside /workspace/area')
    }).pipe(Effect.provide(clientLayer))
  )

  it.scopedLive("ARMADA_FAULT_WRITE_TEMPLATE on a writable template: 500, and the probe is cleaned up", () =>
    Effect.gen(function* () {
      const { endpoint, root } = yield* faulty({ writeTemplate: true })
      const client = yield* ProcessorClient
      const error = yield* Effect.flip(client.process(endpoint, request))
      assert.strictEqual(error._tag, "BadStatus")
      if (error._tag === "BadStatus") {
        assert.strictEqual(error.status, 500)
        assert.strictEqual(error.body, "template volume is writable")
      }
      const probe = yield* Effect.promise(() => fs.readdir(join(root, "workspace/cyanprint")))
      assert.deepStrictEqual(probe, ["a.txt"])
    }).pipe(Effect.provide(clientLayer))
  )

  it.scopedLive("ARMADA_FAULT_BIG_RESPONSE: a padded answer, refused above the client's limit", () =>
    Effect.gen(function* () {
      const client = yield* ProcessorClient
      const small = yield* faulty({ bigResponseBytes: 10_000 })
      assert.strictEqual((yield* client.process(small.endpoint, request)).outputDir, "/workspace/area/p1")
      assert.strictEqual(yield* read(join(small.root, "workspace/area/p1/a.txt")), "x")
      const big = yield* faulty({ bigResponseBytes: 2 * 1024 * 1024 })
      const error = yield* Effect.flip(client.process(big.endpoint, request))
      assert.strictEqual(error._tag, "BadResponse")
      assert.include(error.message, "larger than 1048576 bytes")
    }).pipe(Effect.provide(clientLayer))
  )

  it.scopedLive(
    "ARMADA_FAULT_COPY_THEN_RENDER: copies a 0444 file with its mode, then writes over the copy (root only)",
    () =>
      Effect.gen(function* () {
        const root = yield* tempDir
        yield* writeTree(root, { "workspace/cyanprint/a.txt": "{{name}}" })
        yield* Effect.promise(() => fs.chmod(join(root, "workspace/cyanprint/a.txt"), 0o444))
        const endpoint = yield* serve("processor", root, { copyThenRender: true })
        const client = yield* ProcessorClient
        const written = join(root, "workspace/area/p1/a.txt")
        const result = yield* Effect.either(client.process(endpoint, request))
        // Root writes over a file it may not write only with CAP_DAC_OVERRIDE (it has it here);
        // anyone else is refused, as a container without that capability is.
        if (process.getuid?.() === 0) {
          assert.isTrue(result._tag === "Right")
          assert.strictEqual(yield* read(written), "x")
          const { mode } = yield* Effect.promise(() => fs.stat(written))
          assert.strictEqual(mode & 0o777, 0o444)
        } else {
          assert.isTrue(result._tag === "Left" && result.left._tag === "BadStatus")
          assert.include(result._tag === "Left" ? result.left.message : "", "EACCES")
        }
      }).pipe(Effect.provide(clientLayer))
  )

  it.scopedLive("ARMADA_FAULT_WRONG_PATH: the resolver answers for another path, a BadResponse", () =>
    Effect.gen(function* () {
      const endpoint = yield* serve("resolver", undefined, { wrongPath: true })
      const client = yield* ProcessorClient
      const files = ["1", "2"].map((content, layer) =>
        Protocol.FileVersion.make({
          path: "a.txt",
          content,
          origin: Protocol.FileOrigin.make({ template: `p${layer}`, layer })
        })
      )
      const error = yield* Effect.flip(
        client.resolve(endpoint, Protocol.ResolveRequest.make({ config: {}, files }))
      )
      assert.strictEqual(error._tag, "BadResponse")
      assert.include(error.message, 'answered for path "a.txt.elsewhere"')
    }).pipe(Effect.provide(clientLayer))
  )

  it.scopedLive("ARMADA_FAULT_STREAM_FOREVER: 200 and bytes forever end in Timeout", () =>
    Effect.gen(function* () {
      const { endpoint } = yield* faulty({ streamForever: true })
      const client = yield* ProcessorClient
      const error = yield* Effect.flip(client.process(endpoint, request, { timeout: "500 millis" }))
      assert.strictEqual(error._tag, "Timeout")
    }).pipe(Effect.provide(clientLayer))
  )
})

/** The bundled app as a child process on 127.0.0.1:`port`, killed with the scope. */
const child = (bundle: string, port: number, env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const proc = spawn(process.execPath, [bundle], {
        env: { ...process.env, ARMADA_LISTEN_HOST: "127.0.0.1", ARMADA_LISTEN_PORT: String(port), ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      proc.stdout.on("data", (data) => {
        output += String(data)
      })
      proc.stderr.on("data", (data) => {
        output += String(data)
      })
      // Once it has exited and its output is all read.
      const exited: Effect.Effect<ContainerExit> = Effect.async((resume) => {
        const done = () =>
          resume(
            Effect.succeed({
              exitCode: proc.exitCode ?? -1,
              logTail: output.trim().split("\n").slice(-5).join("\n")
            })
          )
        if (proc.exitCode !== null && proc.stdout.closed && proc.stderr.closed) done()
        else proc.once("close", done)
        return Effect.sync(() => proc.off("close", done))
      })
      return { proc, exited, output: () => output }
    }),
    ({ proc }) => Effect.sync(() => proc.exitCode === null && proc.kill())
  )

describe("fault knobs at start, on the bundled app", () => {
  let bundle = ""
  beforeAll(() => {
    bundle = TestImage.ensureTestAppBundle()
  }, 120_000)

  it.scopedLive(
    "ARMADA_FAULT_EXIT: prints a line and exits; waitReady reports Exited with code and log",
    () =>
      Effect.gen(function* () {
        const port = yield* freePort
        const app = yield* child(bundle, port, { ARMADA_FAULT_EXIT: "3" })
        const client = yield* ProcessorClient
        const error = yield* Effect.flip(
          client.waitReady({ name: "dies", url: `http://127.0.0.1:${port}` }, { exited: app.exited })
        )
        assert.strictEqual(error._tag, "Exited")
        if (error._tag !== "Exited") return
        assert.strictEqual(error.exitCode, 3)
        assert.include(error.logTail, "ARMADA_FAULT_EXIT=3")
      }).pipe(Effect.provide(clientLayer))
  )

  it.scopedLive(
    "ARMADA_FAULT_EXIT_DURING_CALL: reads the request, prints a line and exits; the call loses its connection",
    () =>
      Effect.gen(function* () {
        const port = yield* freePort
        const app = yield* child(bundle, port, { ARMADA_FAULT_EXIT_DURING_CALL: "4" })
        const exited = Effect.async<number | null>((resume) => {
          if (app.proc.exitCode !== null) resume(Effect.succeed(app.proc.exitCode))
          else app.proc.on("exit", (exitCode) => resume(Effect.succeed(exitCode)))
        })
        const client = yield* ProcessorClient
        const endpoint = { name: "crashes", url: `http://127.0.0.1:${port}` }
        yield* client.waitReady(endpoint, { exited: app.exited })
        const error = yield* Effect.flip(client.process(endpoint, request))
        assert.strictEqual(error._tag, "Unreachable")
        assert.strictEqual(yield* exited, 4)
        assert.include(
          app.output(),
          "test-app processor: ARMADA_FAULT_EXIT_DURING_CALL=4, exiting in the middle of POST /api/process"
        )
      }).pipe(Effect.provide(clientLayer))
  )

  it.scopedLive("ARMADA_FAULT_START_DELAY_MS: listens only after the delay", () =>
    Effect.gen(function* () {
      const port = yield* freePort
      const app = yield* child(bundle, port, { ARMADA_FAULT_START_DELAY_MS: "600" })
      const client = yield* ProcessorClient
      const ready = yield* client.waitReady(
        { name: "slow", url: `http://127.0.0.1:${port}` },
        { exited: app.exited }
      )
      assert.isAtLeast(ready.elapsedMillis, 600)
      assert.isAbove(ready.attempts, 5)
      assert.include(app.output(), `listening on http://127.0.0.1:${port}`)
    }).pipe(Effect.provide(clientLayer))
  )

  it.scopedLive("a bad setting is a clear message and exit code 2", () =>
    Effect.gen(function* () {
      const port = yield* freePort
      const app = yield* child(bundle, port, { ARMADA_ROLE: "painter" })
      const code = yield* Effect.async<number | null>((resume) => {
        app.proc.on("exit", (exitCode) => resume(Effect.succeed(exitCode)))
      })
      assert.strictEqual(code, 2)
      assert.include(app.output(), "test-app: ARMADA_ROLE: ")
      assert.include(app.output(), '"painter"')
    })
  )
})
