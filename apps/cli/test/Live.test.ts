import { assert, describe, it } from "@effect/vitest"
import type * as Event from "../src/Event.js"
import * as RunState from "../src/RunState.js"
import * as Format from "../src/render/Format.js"
import * as Live from "../src/render/Live.js"
import * as Style from "../src/render/Style.js"

const header: Event.Event & { readonly _tag: "RunStarted" } = {
  _tag: "RunStarted",
  at: 0,
  command: "run",
  spec: "examples/hello/pipeline.yaml",
  session: "live0001",
  prefix: "armada",
  engine: { kind: "docker", address: "unix:///var/run/docker.sock", reason: "--engine docker" }
}

const fold = (events: ReadonlyArray<Event.Event>) => events.reduce(RunState.reduce, RunState.make(header))

const pulling = fold([
  {
    _tag: "PullProgress",
    at: 1000,
    image: "acme/big:1",
    layer: "l1",
    status: "Downloading",
    current: 0,
    total: 8e6
  },
  {
    _tag: "PullProgress",
    at: 1000,
    image: "acme/big:1",
    layer: "l2",
    status: "Downloading",
    current: 0,
    total: 2e6
  },
  {
    _tag: "PullProgress",
    at: 3000,
    image: "acme/big:1",
    layer: "l1",
    status: "Downloading",
    current: 4e6,
    total: 8e6
  },
  { _tag: "PullProgress", at: 3000, image: "acme/big:1", layer: "l2", status: "Download complete" },
  {
    _tag: "PullProgress",
    at: 3000,
    image: "acme/big:1",
    layer: "l2",
    status: "Extracting",
    current: 1e6,
    total: 2e6
  },
  { _tag: "ItemStarted", at: 3500, stage: "start", item: "processor/docs", detail: "created" },
  { _tag: "ItemSucceeded", at: 3600, stage: "warm", item: "armada/test-app:dev", detail: "present" }
])

describe("live frame", () => {
  it("shows a pull as a bar with bytes (downloads only) and rate", () => {
    const lines = Live.frame(pulling, 5000, { columns: 120, rows: 30 }, Style.plain)
    const pull = lines.find((line) => line.includes("acme/big:1"))
    assert.isDefined(pull)
    // 4 MB of layer l1 + all 2 MB of l2 (complete); extracting bytes do not count twice.
    assert.include(pull, "6.0 MB/10.0 MB")
    assert.include(pull, "1.5 MB/s", "6 MB over the 4 s since the first progress")
    assert.include(pull, "████████████░░░░░░░░")
    assert.include(pull, "4.0s", "elapsed since the pull began")
  })

  it("one line per item with its state, a header and a footer with the counts", () => {
    const lines = Live.frame(pulling, 5000, { columns: 120, rows: 30 }, Style.plain)
    assert.include(lines[0], "session live0001")
    assert.include(
      lines.find((line) => line.includes("processor/docs")),
      "created"
    )
    assert.include(
      lines.find((line) => line.includes("armada/test-app:dev")),
      "✔"
    )
    assert.include(lines.at(-1), "1 done · 2 running · 0 failed · 5.0s")
  })

  it("never wider than the terminal, whatever the styles", () => {
    for (const style of [Style.plain, Style.ansi]) {
      for (const line of Live.frame(pulling, 5000, { columns: 40, rows: 30 }, style)) {
        assert.isAtMost(Format.width(line), 40)
      }
    }
  })

  it("never taller than the terminal: finished items fold first, running ones stay", () => {
    const many = fold([
      ...Array.from(
        { length: 30 },
        (_, i): Event.Event => ({
          _tag: "ItemSucceeded",
          at: 100 + i,
          stage: "start",
          item: `processor/p${i}`
        })
      ),
      { _tag: "ItemStarted", at: 200, stage: "process", item: "slow" }
    ])
    const lines = Live.frame(many, 1000, { columns: 80, rows: 10 }, Style.plain)
    assert.isAtMost(lines.length, 10)
    assert.isTrue(lines.some((line) => line.includes("slow")))
    assert.isTrue(lines.some((line) => line.includes("more")))
  })

  it("counts wide characters as two columns: a CJK or emoji name never makes a line wrap", () => {
    const wide = fold([
      { _tag: "ItemStarted", at: 100, stage: "process", item: "文档处理器/中文" },
      {
        _tag: "ItemStarted",
        at: 100,
        stage: "process",
        item: "rocket🚀",
        detail: "发射中 🚀🚀🚀 👩‍👩‍👧 出发"
      }
    ])
    for (const columns of [30, 31, 32, 33, 40, 41]) {
      for (const style of [Style.plain, Style.ansi]) {
        const lines = Live.frame(wide, 1000, { columns, rows: 30 }, style)
        for (const line of lines) assert.isAtMost(Format.width(line), columns)
      }
    }
    // The names column is as wide as the widest name in columns, so the times line up.
    const column = (line: string) => Format.width(line.slice(0, line.indexOf("900ms")))
    const [cjk, rocket] = Live.frame(wide, 1000, { columns: 120, rows: 30 }, Style.plain).slice(1, 3)
    assert.strictEqual(column(cjk!), column(rocket!))
  })

  it("says it is cleaning up after Ctrl-C", () => {
    const interrupted = RunState.reduce(pulling, { _tag: "Interrupting", at: 4000, session: "live0001" })
    const lines = Live.frame(interrupted, 5000, { columns: 120, rows: 30 }, Style.plain)
    assert.include(lines.at(-1), "Interrupted: removing what this run created")
  })
})

describe("formatting", () => {
  it("durations, bytes and tables", () => {
    assert.strictEqual(Format.duration(840), "840ms")
    assert.strictEqual(Format.duration(1234), "1.2s")
    assert.strictEqual(Format.duration(125_000), "2m05s")
    assert.strictEqual(Format.bytes(512), "512 B")
    assert.strictEqual(Format.bytes(12_300_000), "12.3 MB")
    assert.deepStrictEqual(
      Format.table([
        ["A", "BB"],
        ["CCC", "D"]
      ]),
      ["A    BB", "CCC  D"]
    )
    assert.strictEqual(Format.truncate("\x1b[1mabcdef\x1b[22m", 4), "\x1b[1mabc…\x1b[0m")
    assert.strictEqual(Format.truncate("abcdef", 4), "abc…", "no reset where nothing was styled")
  })

  it("widths are terminal columns: wide characters take two, escapes and joiners none", () => {
    assert.strictEqual(Format.width("中文"), 4)
    assert.strictEqual(Format.width("\x1b[31m中文\x1b[39m"), 4)
    assert.strictEqual(Format.width("👩‍👩‍👧"), 2, "one family emoji, three people joined")
    assert.strictEqual(Format.width("é"), 1, "e and a combining accent")
    assert.strictEqual(Format.truncate("中文字符", 5), "中文…")
    assert.strictEqual(Format.truncate("中文字符", 6), "中文…", "a wide character never crosses the edge")
    assert.strictEqual(Format.truncate("a👩‍👩‍👧b🚀c", 5), "a👩‍👩‍👧b…")
    assert.strictEqual(Format.truncate("\x1b[1m中文\x1b[22m字符", 5), "\x1b[1m中文\x1b[22m…\x1b[0m")
    assert.deepStrictEqual(
      Format.table([
        ["中文", "x"],
        ["abcde", "y"]
      ]),
      ["中文   x", "abcde  y"]
    )
  })
})
