import { join } from "node:path"
import type { Registry } from "@armada/testkit"
import { RegistryProxy } from "@armada/testkit"
import { Effect, Exit, Scope } from "effect"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "vitest"
import { labelled, nothing, sweep, until } from "../support.js"
import {
  armada,
  example,
  exampleSpec,
  type Fixture,
  inTerminal,
  isPresent,
  jsonLines,
  literally,
  makeFixture,
  prefix,
  removePulled,
  requireBin,
  skip,
  tree
} from "./support.js"

// `armada run` of the example with two of its processors' images in a registry on 127.0.0.1, one
// named by tag and one by digest, absent from the engine when the run starts.
describe.skipIf(skip("tests/registry/run (pulls from a registry)"))(
  "armada run pulls from a registry",
  () => {
    let fixture: Fixture
    let registry: Registry.Registry
    let byTag: string
    let byDigest: string

    beforeAll(async () => {
      requireBin()
      fixture = makeFixture()
      registry = await fixture.start()
      const [app, nested] = await fixture.push(registry, ["team/app:v1", "team/nested/tool:v2"])
      byTag = app!.tag
      byDigest = nested!.digest
    })

    afterEach(async () => {
      await removePulled([byTag, byDigest])
      try {
        assert.deepStrictEqual(labelled(`${prefix}.managed=true`), nothing, "a run left resources")
      } finally {
        sweep(`${prefix}.managed=true`)
      }
    })

    afterAll(() => fixture?.close())

    it("pulls each image once, by tag and by digest, shows it in NDJSON, and exits 0 with the expected output", async () => {
      assert.isFalse(isPresent(byTag) || isPresent(byDigest), "the images must come over the wire")
      // docs and assets run the same image: it is pulled once.
      const spec = exampleSpec(fixture.work, { docs: byTag, code: byDigest, assets: byTag })
      const output = join(fixture.work, "out-json")
      const result = await armada(["run", spec, "--json", "--output", output, "--prefix", prefix])
      assert.strictEqual(result.code, 0, result.stdout + result.stderr)
      assert.deepStrictEqual(tree(output), tree(join(example, "expected")))
      assert.isTrue(isPresent(byTag) && isPresent(byDigest))

      const events = jsonLines(result.stdout)
      const pulled = events
        .filter(
          (event) => event._tag === "ItemSucceeded" && event.stage === "warm" && event.detail === "pulled"
        )
        .map((event) => event.item)
      assert.sameMembers(pulled, [byTag, byDigest], "each image pulled once")
      for (const image of [byTag, byDigest]) {
        const downloading = events.filter(
          (event) =>
            event._tag === "PullProgress" &&
            event.image === image &&
            event.status === "Downloading" &&
            typeof event.layer === "string" &&
            (event.current as number) > 0 &&
            (event.total as number) > 0
        )
        assert.isNotEmpty(downloading, `the bytes of ${image}'s layers, per layer`)
      }
      const document = events.at(-1)!
      assert.strictEqual(document._tag, "Result")
      assert.strictEqual(document.outcome, "success")
    })

    it("without --json and not on a terminal, --verbose prints each layer's bytes, and the run exits 0", async () => {
      const spec = exampleSpec(fixture.work, { docs: byTag, code: byDigest })
      const output = join(fixture.work, "out-verbose")
      const result = await armada(["run", spec, "--verbose", "--output", output, "--prefix", prefix])
      assert.strictEqual(result.code, 0, result.stdout + result.stderr)
      assert.match(
        result.stdout,
        new RegExp(`warm +${literally(byTag)}: Downloading layer [0-9a-f]{12} [\\d.]+ [kM]?B/`)
      )
      assert.match(result.stdout, new RegExp(`warm +${literally(byDigest)}: pulled`))
      assert.deepStrictEqual(tree(output), tree(join(example, "expected")))
    })

    it("the live view shows one line per image with its layers summed into a bar, and each layer with --verbose", async () => {
      // A proxy holds every layer halfway, so the view can be read while the pulls run.
      const scope = await Effect.runPromise(Scope.make())
      const terminals: Array<{ close: () => void }> = []
      try {
        const proxy = await Effect.runPromise(Scope.extend(RegistryProxy.start(registry, "hold"), scope))
        const viaProxy = (ref: string) => ref.replace(registry.address, proxy.address)
        const [tag, digest] = [viaProxy(byTag), viaProxy(byDigest)]
        const spec = exampleSpec(fixture.work, { docs: tag, code: digest })
        const terminal = inTerminal(fixture.work, [
          "run",
          spec,
          "--verbose",
          "--output",
          join(fixture.work, "out-live"),
          "--prefix",
          prefix
        ])
        terminals.push(terminal)
        // A digest shows as its first 12 digits, and a long name keeps its end.
        const shown = [literally(tag), `sha256:${digest.split("@sha256:")[1]!.slice(0, 12)}…`]
        const bar = (name: string) =>
          new RegExp(`warm +\\S*${name} +[\\d.]+s +pulling \\S+ [\\d.]+ [kM]?B/[\\d.]+ [kM]?B`)
        await until(
          () => shown.every((name) => bar(name).test(terminal.pane())),
          "both pulls halfway, as bars",
          120_000,
          100
        )
        const screen = terminal.pane()
        assert.match(screen, / {13}[0-9a-f]{12} Downloading [\d.]+ [kM]?B\/[\d.]+ [kM]?B/, screen)
        await Effect.runPromise(proxy.release)
        const status = await terminal.exited(180_000)
        const end = terminal.pane()
        assert.strictEqual(status, 0, end)
        assert.match(end, new RegExp(`warm +${literally(tag)} +ok`), end)
        assert.include(end, "✔ run succeeded", end)
        await removePulled([tag, digest])
      } finally {
        for (const terminal of terminals) terminal.close()
        await Effect.runPromise(Scope.close(scope, Exit.void))
      }
    })
  }
)
