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
import * as Report from "./report.js"

/** Where the engine listens, as `DOCKER_HOST` says (default: the local socket). */
const engineAddress = (): { socketPath: string } | { host: string; port: number } => {
  const tcp = /^tcp:\/\/([^:/]+):(\d+)/.exec(process.env.DOCKER_HOST ?? "")
  if (tcp !== null) return { host: tcp[1]!, port: Number(tcp[2]) }
  return { socketPath: (process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock").replace(/^unix:\/\//, "") }
}

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
        ...engineAddress(),
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
let outcome = "not run"

describe.skipIf(Engine.skipWithoutEngine("reliability: sessions"))("reliability: sessions", () => {
  beforeAll(() => {
    TestImage.ensureTestAppImage()
    work = H.scratch("sessions")
  }, 300_000)

  afterAll(() => {
    const atEnd = H.finishFile(work)
    Report.save("sessions", {
      title: "Sessions sharing a prefix",
      how: "Real Docker engine. Two networks named after the prefix made on purpose through the engine API (`CheckDuplicate: false`), as two processes' racing ensures can leave them, then a whole pipeline of the prefix. (Sessions running side by side are also what the fault matrix and the interrupts do, three at a time.)",
      figures: [
        `pipeline beside the duplicate networks: ${outcome}`,
        `labelled resources at the end of the file: ${atEnd}`
      ],
      tables: []
    })
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
        assert.deepStrictEqual(H.armadaLeft(H.labelled(H.managedLabel)), H.nothing)
        outcome = `succeeded in ${ran.millis} ms; both networks were removed with the session`
      }),
    300_000
  )

  it(`leaves nothing labelled ${H.managedLabel}`, () => {
    H.assertNothingLeft()
  })
})
