/**
 * Sessions sharing a prefix share its network. Two processes ensuring it at the same moment can
 * both create it (Docker's duplicate check is best effort): the fault matrix, running the CLI and
 * the library side by side, did exactly that, and every later run of the prefix failed on the
 * ambiguous name, `armada clean` included. Here the duplicate is made on purpose (through the
 * engine API with `CheckDuplicate` off), and a whole pipeline must still run and clean up after
 * itself, both networks included.
 */
import { request } from "node:http"
import { join } from "node:path"
import { Engine, TestImage } from "@armada/testkit"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as H from "./harness.js"

/** Creates a network straight through the engine's API, as a racing ensure would. */
const createDuplicate = (name: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const body = JSON.stringify({
      Name: name,
      Driver: "bridge",
      CheckDuplicate: false,
      Labels: { [`${H.prefix}.managed`]: "true", [`${H.prefix}.role`]: "network" }
    })
    const req = request(
      {
        socketPath: "/var/run/docker.sock",
        method: "POST",
        path: "/networks/create",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
      },
      (response) => {
        let text = ""
        response.on("data", (chunk) => (text += chunk))
        response.on("end", () =>
          response.statusCode === 201
            ? resolve((JSON.parse(text) as { Id: string }).Id)
            : reject(new Error(`HTTP ${response.statusCode}: ${text}`))
        )
      }
    )
    req.on("error", reject)
    req.end(body)
  })

let work = ""

describe.skipIf(Engine.skipWithoutEngine("reliability: sessions"))("reliability: sessions", () => {
  beforeAll(() => {
    TestImage.ensureTestAppImage()
    work = H.scratch("sessions")
  }, 300_000)

  afterAll(() => {
    H.sweep()
    H.cleanup(work)
  })

  it.live(
    "a pipeline runs and cleans up while two networks share the prefix's name",
    () =>
      Effect.gen(function* () {
        assert.deepStrictEqual(H.labelled(H.managedLabel), H.nothing)
        yield* Effect.promise(() => createDuplicate(H.prefix))
        yield* Effect.promise(() => createDuplicate(H.prefix))
        assert.deepStrictEqual(H.labelled(H.managedLabel).networks, [H.prefix, H.prefix])
        const template = H.writeTree(join(work, "template"), { "a.txt": "{{name}}\n" })
        const spec = yield* H.specOf({
          template,
          processors: [
            {
              id: "p",
              image: H.image,
              globs: [{ glob: "**", type: "template" }],
              config: { vars: { name: "x" } }
            }
          ]
        })
        const ran = yield* H.runPipeline(spec, join(work, "out"))
        assert.isTrue(Exit.isSuccess(ran.exit), JSON.stringify(ran.exit))
        assert.deepStrictEqual(H.labelled(H.managedLabel), H.nothing)
      }),
    120_000
  )
})
