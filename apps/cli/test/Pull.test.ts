import { Bulk, ContainerEngineError } from "@armada/engine"
import { assert, describe, it } from "@effect/vitest"
import type * as Event from "../src/Event.js"
import * as Failures from "../src/Failures.js"
import * as RunState from "../src/RunState.js"
import * as Format from "../src/render/Format.js"
import * as Live from "../src/render/Live.js"
import * as Style from "../src/render/Style.js"

const image = "127.0.0.1:5000/team/app:v1"
const digestRef = `127.0.0.1:5000/team/nested/tool@sha256:${"0123456789ab".padEnd(64, "f")}`

const failed = (reason: ContainerEngineError.PullFailureReason, on = image) =>
  new ContainerEngineError.PullFailed({ image: on, reason, detail: "the engine's words" })

describe("a failed pull, told to a person", () => {
  it("each reason has a hint of its own, naming the registry where it helps", () => {
    const hints = ContainerEngineError.PullFailureReason.literals.map(
      (reason) => [reason, Failures.describe(failed(reason)).hint] as const
    )
    assert.strictEqual(new Set(hints.map(([, hint]) => hint)).size, hints.length, "no two alike")
    const hint = Object.fromEntries(hints)
    assert.include(hint.NotFound, "armada could not ask the registry which is missing")
    assert.include(hint.RepositoryNotFound, "check the repository's name")
    assert.include(hint.TagNotFound, "use a tag or digest the repository has")
    assert.include(hint.Unauthorized, "docker login 127.0.0.1:5000")
    assert.include(hint.Unauthorized, "armada doctor")
    assert.include(hint.RegistryUnreachable, "start the registry at 127.0.0.1:5000")
    assert.include(hint.InStream, "in the middle of the pull")
    assert.include(hint.Interrupted, "run again")
    assert.include(hint.Credentials, "credential source")
    assert.include(hint.Failed, "build or load the image")
    for (const [reason, text] of hints) {
      if (reason !== "Failed") assert.notInclude(text, "build or load the image", reason)
    }
  })

  it("the reason says the cause: which part is not found (or that it could not be told), unauthorized, unreachable", () => {
    assert.include(failed("NotFound").message, "has no such repository or tag: the engine's words")
    assert.include(
      failed("RepositoryNotFound").message,
      "repository not found: 127.0.0.1:5000 has no such repository"
    )
    assert.include(failed("TagNotFound").message, "tag not found: the repository exists on 127.0.0.1:5000")
    assert.include(failed("TagNotFound", digestRef).message, "has no manifest with this digest")
    assert.include(failed("Unauthorized").message, "unauthorized")
    assert.include(failed("RegistryUnreachable").message, "cannot reach the registry 127.0.0.1:5000")
    assert.include(failed("NotFound", "alpine").message, "docker.io")
  })

  it("an image the pull policy never left absent says how to pull it", () => {
    const never = new ContainerEngineError.ImageNotFound({ image, detail: Bulk.neverPulled })
    assert.include(Failures.describe(never).hint, "--pull missing")
    const absent = new ContainerEngineError.ImageNotFound({ image })
    assert.include(Failures.describe(absent).hint, "build or load the image")
  })
})

const header: Event.Event & { readonly _tag: "RunStarted" } = {
  _tag: "RunStarted",
  at: 0,
  command: "run",
  spec: "pipeline.yaml",
  session: "pull0001",
  prefix: "armada",
  engine: { kind: "docker", address: "unix:///var/run/docker.sock", reason: "--engine docker" }
}

const fold = (events: ReadonlyArray<Event.Event>) => events.reduce(RunState.reduce, RunState.make(header))

const downloading = (at: number, ref: string, layer: string, current: number): Event.Event => ({
  _tag: "PullProgress",
  at,
  image: ref,
  layer,
  status: "Downloading",
  current,
  total: 4e6
})

describe("pulls in the live view", () => {
  const pulling = fold([
    downloading(1000, image, "aaaaaaaaaaaa1111", 1e6),
    downloading(1000, image, "bbbbbbbbbbbb2222", 3e6),
    { _tag: "PullProgress", at: 1000, image, layer: "cccccccccccc3333", status: "Pull complete" },
    downloading(1000, digestRef, "dddddddddddd4444", 2e6)
  ])

  it("one line per image, its layers summed; with layers on, a line per layer still downloading", () => {
    const plain = Live.frame(pulling, 3000, { columns: 120, rows: 30 }, Style.plain)
    assert.strictEqual(plain.filter((line) => line.includes("pulling")).length, 2)
    assert.include(
      plain.find((line) => line.includes(image)),
      "4.0 MB/8.0 MB"
    )
    assert.isFalse(plain.some((line) => line.includes("aaaaaaaaaaaa")))

    const layered = Live.frame(pulling, 3000, { columns: 120, rows: 30 }, Style.plain, { layers: true })
    const layerLines = layered.filter((line) => /^ {13}[0-9a-f]{12} /.test(line))
    assert.deepStrictEqual(
      layerLines.map((line) => line.trim()),
      [
        "aaaaaaaaaaaa Downloading 1.0 MB/4.0 MB",
        "bbbbbbbbbbbb Downloading 3.0 MB/4.0 MB",
        "dddddddddddd Downloading 2.0 MB/4.0 MB"
      ],
      "a finished layer has no line"
    )
    // Each layer line is right under its image's line.
    const imageAt = layered.findIndex((line) => line.includes(image))
    assert.include(layered[imageAt + 1], "aaaaaaaaaaaa")
  })

  it("layer lines give way when the terminal is too short for them", () => {
    const lines = Live.frame(pulling, 3000, { columns: 120, rows: 5 }, Style.plain, { layers: true })
    assert.isAtMost(lines.length, 5)
    assert.isFalse(lines.some((line) => /^ {13}[0-9a-f]{12} /.test(line)))
  })

  it("a digest shows as its first 12 digits, and a name too long for its column keeps its end", () => {
    const lines = Live.frame(pulling, 3000, { columns: 100, rows: 30 }, Style.plain)
    const line = lines.find((candidate) => candidate.includes("@sha256:0123456789ab…"))
    assert.isDefined(line, lines.join("\n"))
    assert.include(line, "…")
    assert.include(line, "2.0 MB/4.0 MB", "the bytes still show")
    assert.strictEqual(Format.truncateStart("abcdef", 4), "…def")
    assert.strictEqual(Format.truncateStart("abc", 4), "abc")
  })

  it("a failed pull ends its image's line as failed, with the items that need it failed too", () => {
    const state = fold([
      downloading(1000, image, "aaaaaaaaaaaa1111", 1e6),
      {
        _tag: "ItemFailed",
        at: 2000,
        failure: {
          stage: "warm",
          item: "processor/docs",
          image,
          reason: "pulling it failed midway",
          cause: {}
        }
      }
    ])
    const row = state.items.find((item) => item.item === image)
    assert.strictEqual(row?.status, "failed")
    assert.strictEqual(row?.detail, "pulling it failed midway")
    assert.deepStrictEqual(
      state.failures.map((failure) => failure.item),
      ["processor/docs"],
      "one failure per item, not one more for the image"
    )
  })
})
