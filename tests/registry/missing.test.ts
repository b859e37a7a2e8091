import { writeFileSync } from "node:fs"
import * as net from "node:net"
import { join } from "node:path"
import type { Registry } from "@armada/testkit"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "vitest"
import { labelled, nothing, sweep } from "../support.js"
import {
  armada,
  example,
  exampleSpec,
  type Fixture,
  isPresent,
  jsonLines,
  makeFixture,
  prefix,
  removePulled,
  requireBin,
  skip
} from "./support.js"

/** A port on 127.0.0.1 where nothing listens (it was free a moment ago). */
const closedPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

interface Failure {
  readonly stage: string
  readonly item: string
  readonly image?: string
  readonly reason: string
  readonly hint?: string
  readonly cause: { readonly _tag: string; readonly reason?: string }
}

// Images that cannot be pulled, each for its own reason, and the pull policies.
describe.skipIf(skip("tests/registry/missing (pull failures and policies)"))(
  "images that cannot be pulled",
  () => {
    let fixture: Fixture
    let registry: Registry.Registry
    let present: string

    beforeAll(async () => {
      requireBin()
      fixture = makeFixture()
      registry = await fixture.start()
      const [pushed] = await fixture.push(registry, ["team/app:v1"])
      present = pushed!.tag
    })

    afterEach(async () => {
      await removePulled([present])
      try {
        assert.deepStrictEqual(labelled(`${prefix}.managed=true`), nothing, "a run left resources")
      } finally {
        sweep(`${prefix}.managed=true`)
      }
    })

    afterAll(() => fixture?.close())

    it("a missing tag, a missing repository and a registry where nothing listens: exit 1, each named with its own reason and hint, every item that needs one, and no container started", async () => {
      const missingTag = registry.ref("team/app:nope")
      const missingRepository = registry.ref("team/nowhere:v1")
      const nobodyListens = `127.0.0.1:${await closedPort()}/team/app:v1`
      const spec = exampleSpec(fixture.work, {
        docs: missingTag,
        code: missingRepository,
        assets: nobodyListens,
        // The plugin needs the missing tag too: it is pulled once, and both items are named.
        stamp: missingTag
      })
      const result = await armada([
        "run",
        spec,
        "--json",
        "--output",
        join(fixture.work, "out-missing"),
        "--prefix",
        prefix
      ])
      assert.strictEqual(result.code, 1, result.stdout + result.stderr)
      const events = jsonLines(result.stdout)
      const document = events.at(-1)!
      assert.strictEqual(document._tag, "Result")
      const failures = document.failures as ReadonlyArray<Failure>
      assert.deepStrictEqual(
        failures.map((failure) => [
          failure.stage,
          failure.item,
          failure.image,
          failure.cause._tag,
          failure.cause.reason
        ]),
        [
          ["warm", "processor/docs", missingTag, "PullFailed", "TagNotFound"],
          ["warm", "processor/code", missingRepository, "PullFailed", "RepositoryNotFound"],
          ["warm", "processor/assets", nobodyListens, "PullFailed", "RegistryUnreachable"],
          ["warm", "plugin/stamp", missingTag, "PullFailed", "TagNotFound"]
        ]
      )
      const [tag, repository, unreachable] = failures
      // armada asked the registry which part is missing: the tags the repository has are named.
      assert.include(tag!.reason, "tag not found: the repository exists on")
      assert.include(tag!.reason, "team/app has no tag nope; its tags: v1")
      assert.include(tag!.hint, "use a tag or digest the repository has")
      assert.include(repository!.reason, `repository not found: ${registry.address} has no such repository`)
      assert.include(repository!.reason, "does not know team/nowhere: NAME_UNKNOWN")
      assert.include(repository!.hint, "check the repository's name")
      assert.include(
        unreachable!.reason,
        `the engine cannot reach the registry ${nobodyListens.split("/")[0]}`
      )
      assert.include(unreachable!.hint, "start the registry at")
      assert.notInclude(JSON.stringify(failures), "build or load the image")
      // The run stopped in the warm stage: nothing was started.
      assert.isFalse(
        events.some((event) => "stage" in event && event.stage === "start"),
        "no start stage, no container"
      )
    })

    /** A spec whose every image (processor and merger) is `present`'s, in the registry. */
    const registryOnlySpec = (options: string) => {
      const path = join(fixture.work, `policy-${options.length}.yaml`)
      writeFileSync(
        path,
        `template: ${join(example, "template")}\nprocessors: [{ id: only, image: "${present}" }]\nmerger: { image: "${present}" }\noptions: ${options}\n`
      )
      return path
    }
    const detailOf = (stdout: string) =>
      jsonLines(stdout).find((event) => event._tag === "ItemSucceeded" && event.item === present)?.detail

    it("the pull policy never fails on an absent image without asking its registry, and --pull wins over the spec's", async () => {
      const never = registryOnlySpec("{ pull: never }")
      const refused = await armada(["warm", never, "--json", "--prefix", prefix])
      assert.strictEqual(refused.code, 1, refused.stdout + refused.stderr)
      const refusedEvents = jsonLines(refused.stdout)
      assert.isFalse(
        refusedEvents.some((event) => event._tag === "PullProgress"),
        "never: no pull at all"
      )
      const [failure] = refusedEvents.at(-1)!.failures as ReadonlyArray<Failure>
      assert.strictEqual(failure!.cause._tag, "ImageNotFound")
      assert.include(failure!.hint, "--pull missing")
      assert.isFalse(isPresent(present))

      const missing = await armada(["warm", never, "--pull", "missing", "--json", "--prefix", prefix])
      assert.strictEqual(missing.code, 0, missing.stdout + missing.stderr)
      assert.strictEqual(detailOf(missing.stdout), "pulled")
      assert.isTrue(isPresent(present))
    })

    it("with the image present, missing (the default) skips it and always pulls it again", async () => {
      const spec = registryOnlySpec("{ concurrency: 2 }")
      const first = await armada(["warm", spec, "--json", "--prefix", prefix])
      assert.strictEqual(first.code, 0, first.stdout + first.stderr)
      assert.strictEqual(detailOf(first.stdout), "pulled")
      const skipped = await armada(["warm", spec, "--json", "--prefix", prefix])
      assert.strictEqual(detailOf(skipped.stdout), "present")
      const always = await armada(["warm", spec, "--pull", "always", "--json", "--prefix", prefix])
      assert.strictEqual(always.code, 0, always.stdout + always.stderr)
      assert.strictEqual(detailOf(always.stdout), "pulled")
    })
  }
)
