/**
 * What the workspace's manifests promise people who install armada's libraries from npm
 * (docs/architecture.md): stock Effect with no patch, Effect as a peer so a program and armada
 * share one copy, and an engine package that the engines build on without pulling in Docker's.
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { type Manifest, workspacePackages } from "../scripts/workspace-aliases.mjs"

const root = fileURLToPath(new URL("../", import.meta.url))

const read = (dir: string): Manifest => JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"))

const libraries = workspacePackages.filter((p) => p.group === "packages").map((p) => p.manifest)
const workspace = [...workspacePackages.map((p) => p.manifest), read("tests")]

/** Every package a manifest names, in any of its dependency fields. */
const named = (manifest: Manifest) =>
  new Set([
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.devDependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {})
  ])

const isEffect = (name: string) => name === "effect" || name.startsWith("@effect/")

describe("the workspace's manifests", () => {
  it("find the libraries", () => {
    assert.includeMembers(
      libraries.map((manifest) => manifest.name),
      ["@armada/core", "@armada/engine", "@armada/docker", "@armada/local", "@armada/tracing"]
    )
  })

  it("declare effect and @effect/* in the libraries as peers, each with an exact dev version for the workspace", () => {
    const problems = libraries.flatMap((manifest) => [
      ...Object.keys(manifest.dependencies ?? {})
        .filter(isEffect)
        .map((name) => `${manifest.name}: ${name} is a dependency; make it a peer`),
      ...Object.keys(manifest.peerDependencies ?? {})
        .filter(isEffect)
        .filter((name) => !/^\d+\.\d+\.\d+$/.test(manifest.devDependencies?.[name] ?? ""))
        .map((name) => `${manifest.name}: peer ${name} has no exact devDependency`)
    ])
    assert.deepStrictEqual(problems, [])
  })

  it("keep dockerode to @armada/docker and @armada/swarm, and the local engine and the engine package off Docker's", () => {
    const onDockerode = workspace.filter((manifest) => named(manifest).has("dockerode")).map((m) => m.name)
    assert.sameMembers(onDockerode, ["@armada/docker", "@armada/swarm"])
    for (const name of ["@armada/local", "@armada/engine"]) {
      const manifest = workspace.find((m) => m.name === name)
      assert.isDefined(manifest, name)
      assert.isFalse(named(manifest).has("@armada/docker"), `${name} names @armada/docker`)
    }
  })

  it("patch no dependency: no patches/ folder, no patchedDependencies", () => {
    assert.isFalse(existsSync(join(root, "patches")), "a patches/ folder exists")
    assert.notProperty(read(".").pnpm ?? {}, "patchedDependencies")
    assert.notMatch(readFileSync(join(root, "pnpm-workspace.yaml"), "utf8"), /patchedDependencies/)
  })
})
