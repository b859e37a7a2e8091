#!/usr/bin/env node
// Builds a Docker image with no registry: `FROM scratch` holding the host's `node` binary, the
// shared libraries `ldd` lists for it, and the given app files. The image carries a label with
// the hash of everything that went in; when an image of that tag already has the same hash the
// build is skipped, so calling this before every test run is cheap.
//
//   node scripts/build-node-image.mjs --tag armada/test-app:dev --file dist/main.mjs=/app/main.mjs \
//     --entry /app/main.mjs [--label key=value ...]
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"

const hashLabel = "armada.image.content-hash"

/** The absolute paths of the libraries the dynamic linker loads for `binary`. */
const sharedLibraries = (binary) =>
  execFileSync("ldd", [binary], { encoding: "utf8" })
    .split("\n")
    .map((line) => /(\/\S+) \(0x/.exec(line)?.[1])
    .filter((path) => path !== undefined)

const docker = (args, options = {}) => execFileSync("docker", args, { encoding: "utf8", ...options })

const existingHash = (tag) => {
  try {
    return docker(["image", "inspect", "--format", `{{index .Config.Labels "${hashLabel}"}}`, tag], {
      stdio: ["ignore", "pipe", "ignore"]
    }).trim()
  } catch {
    return undefined
  }
}

/**
 * @param {{ tag: string, files: Record<string, string>, entry: string, labels?: Record<string, string>, quiet?: boolean }} options
 *   `files` maps host paths to their paths inside the image.
 * @returns {{ tag: string, built: boolean, hash: string }}
 */
export const buildNodeImage = ({ tag, files, entry, labels = {}, quiet = false }) => {
  const node = realpathSync(process.execPath)
  const content = {
    "/usr/local/bin/node": node,
    ...Object.fromEntries(sharedLibraries(node).map((lib) => [lib, lib]))
  }
  for (const [host, inImage] of Object.entries(files)) content[inImage] = host

  const hash = createHash("sha256")
  for (const inImage of Object.keys(content).sort()) {
    hash.update(inImage).update("\0").update(readFileSync(content[inImage])).update("\0")
  }
  hash.update(JSON.stringify({ entry, labels }))
  const digest = hash.digest("hex")
  if (existingHash(tag) === digest) return { tag, built: false, hash: digest }

  const context = mkdtempSync(join(tmpdir(), "armada-image-"))
  try {
    for (const [inImage, host] of Object.entries(content)) {
      const target = join(context, "rootfs", inImage)
      mkdirSync(dirname(target), { recursive: true })
      copyFileSync(realpathSync(host), target)
    }
    mkdirSync(join(context, "rootfs", "tmp"), { recursive: true })
    const labelLines = Object.entries({ ...labels, [hashLabel]: digest })
      .map(([key, value]) => `LABEL ${JSON.stringify(key)}=${JSON.stringify(value)}`)
      .join("\n")
    writeFileSync(
      join(context, "Dockerfile"),
      `FROM scratch\nCOPY rootfs/ /\n${labelLines}\nENV NODE_ENV=production\nENTRYPOINT ["/usr/local/bin/node", ${JSON.stringify(entry)}]\n`
    )
    docker(["build", "--quiet", "--tag", tag, context], {
      stdio: ["ignore", quiet ? "ignore" : "inherit", "inherit"]
    })
    return { tag, built: true, hash: digest }
  } finally {
    rmSync(context, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      tag: { type: "string" },
      file: { type: "string", multiple: true, default: [] },
      entry: { type: "string" },
      label: { type: "string", multiple: true, default: [] }
    }
  })
  if (values.tag === undefined || values.entry === undefined || values.file.length === 0) {
    console.error(
      "usage: build-node-image.mjs --tag TAG --file HOST=IMAGE_PATH ... --entry IMAGE_PATH [--label K=V ...]"
    )
    process.exit(2)
  }
  const pairs = (list) =>
    Object.fromEntries(list.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]))
  const started = Date.now()
  const result = buildNodeImage({
    tag: values.tag,
    files: pairs(values.file),
    entry: values.entry,
    labels: pairs(values.label)
  })
  console.log(
    `${result.tag}: ${result.built ? "built" : "up to date"} in ${Date.now() - started} ms (content ${result.hash.slice(0, 12)})`
  )
}
