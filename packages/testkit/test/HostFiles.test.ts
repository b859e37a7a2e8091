/**
 * A fixture's host clean-up removes a folder that is a mount point (CNI and `ip netns` mount
 * `/run/netns` on itself when they create it): here a temp folder bind-mounted on itself, as root.
 * `removeWhenLeftEmpty` removes such a folder only when the scope made it and left it empty.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { skipWithoutTools } from "../src/internal/daemon.js"
import * as HostFiles from "../src/internal/hostFiles.js"

// Mounting needs root, which CI has: there the test never skips.
const skip = skipWithoutTools(
  "testkit HostFiles",
  process.getuid?.() === 0 ? Option.none() : Option.some("mounting a folder needs root")
)

describe.skipIf(skip)("HostFiles.remove", () => {
  it.effect("a folder mounted on itself is unmounted, then removed with what it holds", () =>
    Effect.gen(function* () {
      const folder = fs.mkdtempSync(join(tmpdir(), "armada-hostfiles-"))
      execFileSync("mount", ["--bind", folder, folder])
      fs.writeFileSync(join(folder, "inside"), "x")
      assert.isTrue(HostFiles.isMountPoint(folder))
      yield* HostFiles.remove("test", folder)
      assert.isFalse(HostFiles.isMountPoint(folder))
      assert.isFalse(fs.existsSync(folder))
    })
  )

  it.effect("a folder that stays busy is left in place, and the clean-up goes on", () =>
    Effect.gen(function* () {
      const folder = fs.mkdtempSync(join(tmpdir(), "armada-hostfiles-"))
      const inner = join(folder, "inner")
      fs.mkdirSync(inner)
      execFileSync("mount", ["--bind", folder, folder])
      execFileSync("mount", ["--bind", inner, inner])
      try {
        yield* HostFiles.remove("test", folder)
        assert.isTrue(fs.existsSync(inner), "a mount inside keeps the folder")
      } finally {
        execFileSync("umount", [inner])
        if (HostFiles.isMountPoint(folder)) execFileSync("umount", [folder])
        fs.rmSync(folder, { recursive: true, force: true })
      }
    })
  )
})

describe.skipIf(skip)("HostFiles.removeWhenLeftEmpty", () => {
  /** A path in a fresh temp folder, absent; the folder is removed by the returned function. */
  const absentPath = () => {
    const parent = fs.mkdtempSync(join(tmpdir(), "armada-hostfiles-"))
    return { dir: join(parent, "netns"), cleanUp: () => fs.rmSync(parent, { recursive: true, force: true }) }
  }

  /** Makes `dir` as `ip netns add` does: a folder mounted on itself. */
  const makeMounted = (dir: string) => {
    fs.mkdirSync(dir)
    execFileSync("mount", ["--bind", dir, dir])
  }

  it.effect("a folder the scope made, mounted on itself and left empty, is unmounted and removed", () =>
    Effect.gen(function* () {
      const { dir, cleanUp } = absentPath()
      try {
        yield* Effect.scoped(
          Effect.gen(function* () {
            yield* HostFiles.removeWhenLeftEmpty("test", dir)
            makeMounted(dir)
          })
        )
        assert.isFalse(HostFiles.isMountPoint(dir))
        assert.isFalse(fs.existsSync(dir))
      } finally {
        if (HostFiles.isMountPoint(dir)) execFileSync("umount", [dir])
        cleanUp()
      }
    })
  )

  it.effect("a folder that holds something, or that was there before, is left as it is", () =>
    Effect.gen(function* () {
      const { dir, cleanUp } = absentPath()
      try {
        yield* Effect.scoped(
          Effect.gen(function* () {
            yield* HostFiles.removeWhenLeftEmpty("test", dir)
            makeMounted(dir)
            fs.writeFileSync(join(dir, "another-namespace"), "")
          })
        )
        assert.isTrue(fs.existsSync(join(dir, "another-namespace")), "not empty: kept")
        assert.isTrue(HostFiles.isMountPoint(dir), "not empty: still mounted")
        fs.rmSync(join(dir, "another-namespace"))
        yield* Effect.scoped(HostFiles.removeWhenLeftEmpty("test", dir))
        assert.isTrue(fs.existsSync(dir), "there before the scope: kept")
        assert.isTrue(HostFiles.isMountPoint(dir))
      } finally {
        if (HostFiles.isMountPoint(dir)) execFileSync("umount", [dir])
        cleanUp()
      }
    })
  )
})
