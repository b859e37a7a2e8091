/**
 * `POST /runs` with the template as a path on the server's machine (`templatePath`), in-process on
 * the memory engine: taken inside a folder the server allows (`--allow-template-dir`) and left as
 * it was; refused, with the path named, when the server allows none, when it lies outside (also
 * through a symbolic link), or is relative, missing, a file, or holds a link pointing out;
 * `armada run --server --template-on-server` sends the path instead of the template.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Pool } from "@armada/orchestrator"
import { HttpClient, HttpClientRequest, HttpServer } from "@effect/platform"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Ref } from "effect"
import * as Remote from "../src/commands/Remote.js"
import * as Output from "../src/Output.js"
import * as Template from "../src/serve/Template.js"
import { run as runCli } from "./harness.js"
import { get, json, runFlags, serverWith, spec, templateArchive } from "./serveHarness.js"

const scratch = mkdtempSync(join(tmpdir(), "armada-serve-template-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/** The allowed folder: `site` (a README.md and a link that stays inside), and things to refuse. */
const allowed = join(scratch, "allowed")
const outside = join(scratch, "outside")
mkdirSync(join(allowed, "site", "docs"), { recursive: true })
writeFileSync(join(allowed, "site", "README.md"), "# {{name}}\n")
symlinkSync("../README.md", join(allowed, "site", "docs", "readme.md"))
mkdirSync(join(outside, "site"), { recursive: true })
writeFileSync(join(outside, "site", "README.md"), "# outside\n")
symlinkSync(join(outside, "site"), join(allowed, "escape"))
mkdirSync(join(allowed, "leaky"))
symlinkSync("../../outside/site/README.md", join(allowed, "leaky", "README.md"))
writeFileSync(join(allowed, "file.txt"), "not a folder\n")

const roots = await Effect.runPromise(Template.roots([allowed]))

const postPath = (templatePath: string) =>
  Effect.flatMap(HttpClient.HttpClient, (client) => {
    const data = new FormData()
    data.append("spec", spec)
    data.append("format", "yaml")
    data.append("templatePath", templatePath)
    return client.execute(HttpClientRequest.bodyFormData(HttpClientRequest.post("/runs"), data))
  })

/** The answer's status, `_tag` and message. */
const refusal = (templatePath: string) =>
  Effect.gen(function* () {
    const response = yield* postPath(templatePath)
    const body = (yield* json(response)) as { _tag: string; message: string }
    return { status: response.status, tag: body._tag, message: body.message }
  })

describe("armada serve: the template as a path on the server", () => {
  it.scoped("a path inside an allowed folder runs as an upload would, and the folder is left as it was", () =>
    Effect.gen(function* () {
      const site = join(allowed, "site")
      const created = yield* postPath(site)
      assert.strictEqual(created.status, 201)
      const { id } = (yield* json(created)) as { id: string }
      yield* (yield* get(`/runs/${id}/events`)).text
      const info = (yield* json(yield* get(`/runs/${id}`))) as { status: string; result: unknown }
      assert.strictEqual(info.status, "success", JSON.stringify(info.result))
      assert.strictEqual((yield* get(`/runs/${id}/output`)).status, 200)
      // The folder is the user's: the run's cleanup removes only what the server unpacked itself.
      assert.strictEqual(readFileSync(join(site, "README.md"), "utf8"), "# {{name}}\n")
      assert.isTrue(existsSync(join(site, "docs", "readme.md")))
      // Given through the allowed folder's own path with a `..` that stays inside, likewise.
      const again = yield* postPath(`${allowed}/leaky/../site`)
      assert.strictEqual(again.status, 201)
      const second = (yield* json(again)) as { id: string }
      yield* (yield* get(`/runs/${second.id}/events`)).text
      assert.strictEqual(
        ((yield* json(yield* get(`/runs/${second.id}`))) as { status: string }).status,
        "success"
      )
    }).pipe(Effect.provide(serverWith(Option.none(), undefined, { templateRoots: roots })))
  )

  it.scoped("a server without --allow-template-dir refuses every path: 403, naming it", () =>
    Effect.gen(function* () {
      const refused = yield* refusal(join(allowed, "site"))
      assert.deepStrictEqual([refused.status, refused.tag], [403, "TemplateNotAllowed"])
      assert.include(refused.message, join(allowed, "site"))
      assert.include(refused.message, "--allow-template-dir")
      assert.deepStrictEqual(yield* (yield* Pool.Pool).sets, [])
    }).pipe(Effect.provide(serverWith(Option.none())))
  )

  it.scoped("paths outside the allowed folders, or leading out, are refused, each named; nothing runs", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<[string, number, string, string]> = [
        [join(outside, "site"), 403, "TemplateNotAllowed", "outside the folders this server allows"],
        [`${allowed}/../outside/site`, 403, "TemplateNotAllowed", "outside the folders"],
        [join(allowed, "escape"), 403, "TemplateNotAllowed", "through a symbolic link"],
        ["/", 403, "TemplateNotAllowed", "outside the folders"],
        ["allowed/site", 400, "BadTemplate", "is not absolute"],
        [join(allowed, "missing"), 400, "BadTemplate", "does not exist"],
        [join(allowed, "file.txt"), 400, "BadTemplate", "is not a directory"],
        [
          join(allowed, "leaky"),
          400,
          "BadTemplate",
          "the symbolic link README.md to ../../outside/site/README.md"
        ]
      ]
      for (const [path, status, tag, why] of cases) {
        const refused = yield* refusal(path)
        assert.deepStrictEqual([refused.status, refused.tag], [status, tag], `${path}: ${refused.message}`)
        assert.include(refused.message, JSON.stringify(path))
        assert.include(refused.message, why)
      }
      // Both forms, or neither: 400, saying which parts a run takes.
      const both = yield* Effect.flatMap(HttpClient.HttpClient, (client) =>
        Effect.flatMap(templateArchive, (archive) => {
          const data = new FormData()
          data.append("spec", spec)
          data.append("format", "yaml")
          data.append("templatePath", join(allowed, "site"))
          data.append("template", new Blob([archive], { type: "application/gzip" }), "template.tar.gz")
          return client.execute(HttpClientRequest.bodyFormData(HttpClientRequest.post("/runs"), data))
        })
      )
      assert.strictEqual(both.status, 400)
      assert.include(((yield* json(both)) as { message: string }).message, "templatePath")
      const neither = yield* Effect.flatMap(HttpClient.HttpClient, (client) => {
        const data = new FormData()
        data.append("spec", spec)
        data.append("format", "yaml")
        return client.execute(HttpClientRequest.bodyFormData(HttpClientRequest.post("/runs"), data))
      })
      assert.strictEqual(neither.status, 400)
      assert.include(((yield* json(neither)) as { message: string }).message, "exactly one")
      assert.deepStrictEqual(yield* (yield* Pool.Pool).sets, [])
      assert.strictEqual((yield* (yield* Pool.Pool).stats).misses, 0)
    }).pipe(Effect.provide(serverWith(Option.none(), undefined, { templateRoots: roots })))
  )

  it.effect("--allow-template-dir must name a directory", () =>
    Effect.gen(function* () {
      const missing = yield* Effect.flip(Template.roots([join(scratch, "nope")]))
      assert.include(missing, `--allow-template-dir ${join(scratch, "nope")}: expected a directory`)
      const file = yield* Effect.flip(Template.roots([join(allowed, "file.txt")]))
      assert.include(file, "expected a directory")
    })
  )

  it("--template-on-server without --server: exit 2, saying it needs one", async () => {
    const specFile = join(scratch, "local.yaml")
    writeFileSync(specFile, spec.replace("template: ./site", `template: ${join(allowed, "site")}`))
    const result = await runCli(["run", specFile, "--template-on-server"])
    assert.strictEqual(result.code, 2, result.stdout + result.stderr)
    assert.include(result.stderr, "--template-on-server: only with --server URL")
  })

  it.scoped(
    "armada run --server --template-on-server sends the path: the Result and output; without an allowed folder, exit 2 and why",
    () =>
      Effect.gen(function* () {
        const address = (yield* HttpServer.HttpServer).address
        if (address._tag !== "TcpAddress") return assert.fail("not on TCP")
        const url = `http://127.0.0.1:${address.port}`
        const specFile = join(scratch, "client.yaml")
        writeFileSync(specFile, spec.replace("template: ./site", `template: ${join(allowed, "site")}`))
        const output = join(scratch, "client-out")
        yield* Remote.run(runFlags(specFile, output), url, { templateOnServer: true })
        const printed = yield* Ref.get((yield* Output.CapturedOutput).stdout)
        const result = JSON.parse(printed.trimEnd().split("\n").at(-1)!) as {
          outcome: string
          exitCode: number
        }
        assert.deepStrictEqual([result.outcome, result.exitCode], ["success", 0])
        assert.strictEqual(readFileSync(join(output, "README.md"), "utf8"), "# merged\n")
        // A template that is not on this machine: the client does not look for it, the server does.
        writeFileSync(specFile, spec.replace("template: ./site", `template: ${join(outside, "site")}`))
        const refused = yield* Effect.flip(Remote.run(runFlags(specFile), url, { templateOnServer: true }))
        assert.strictEqual(refused.code, 2)
        const document = JSON.parse(
          (yield* Ref.get((yield* Output.CapturedOutput).stdout)).trimEnd().split("\n").at(-1)!
        ) as { outcome: string; error: { reason: string } }
        assert.strictEqual(document.outcome, "bad-input")
        assert.include(document.error.reason, join(outside, "site"))
        assert.include(document.error.reason, "outside the folders this server allows")
      }).pipe(
        Effect.provide(
          Layer.merge(serverWith(Option.none(), undefined, { templateRoots: roots }), Output.layerTest())
        )
      )
  )
})
