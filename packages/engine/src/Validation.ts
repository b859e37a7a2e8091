/**
 * The input checks every `ContainerEngine` operation runs before it touches an engine, so a bad
 * name, image reference, path or option fails with core's `InputError` naming the field, never
 * with an engine error. `ContainerEngine.make` runs them for every engine; the bulk operations
 * (`Bulk`) run them for every item before starting any.
 *
 * @since 0.1.0
 */
import * as posix from "node:path/posix"
import { ImageRef, InputError, Names } from "@armada/core"
import { Effect } from "effect"
import type { ArchiveTarget, ContainerSpec, Labels } from "./ContainerEngine.js"
import * as SecurityProfile from "./SecurityProfile.js"

// Docker's own rule for container and volume names; networks get the same so no name needs quoting.
const namePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,254}$/
const envKeyPattern = /^[^=\s]+$/
const capabilityPattern = /^(?:CAP_)?[A-Z_]{2,32}$/

const refuse = (field: string, value: unknown, reason: string) =>
  Effect.fail(new InputError({ field, value, reason }))

/**
 * A container, volume or network name (or a container id): 2 to 255 characters of
 * `a-z A-Z 0-9 _ . -`, starting with a letter or digit.
 *
 * @since 0.1.0
 * @category validation
 */
export const name = (field: string, value: unknown): Effect.Effect<string, InputError> =>
  typeof value === "string" && namePattern.test(value)
    ? Effect.succeed(value)
    : refuse(field, value, "expected 2-255 characters [a-zA-Z0-9_.-] starting with a letter or digit")

/**
 * @since 0.1.0
 * @category validation
 */
export const image = (field: string, value: unknown): Effect.Effect<ImageRef.ImageRef, InputError> =>
  Names.decodeAs(ImageRef.ImageRef, field, value)

/**
 * An absolute path inside a container or volume, normalised (`/a/./b/../c` → `/a/c`); a path that
 * climbs above `/` is refused.
 *
 * @since 0.1.0
 * @category validation
 */
export const absolutePath = (field: string, value: unknown): Effect.Effect<string, InputError> => {
  if (typeof value !== "string" || !value.startsWith("/") || value.includes("\0")) {
    return refuse(field, value, "expected an absolute path")
  }
  const segments = value.split("/")
  let depth = 0
  for (const segment of segments) {
    if (segment === "..") depth--
    else if (segment !== "" && segment !== ".") depth++
    if (depth < 0) return refuse(field, value, "the path climbs above /")
  }
  return Effect.succeed(posix.normalize(value).replace(/(.)\/$/, "$1"))
}

/**
 * Label keys are non-empty and values are strings.
 *
 * @since 0.1.0
 * @category validation
 */
export const labels = (field: string, value: Labels | undefined): Effect.Effect<Labels, InputError> => {
  if (value === undefined) return Effect.succeed({})
  for (const [key, labelValue] of Object.entries(value)) {
    if (key.length === 0 || /[\s=]/.test(key)) return refuse(`${field}.${key}`, key, "expected a label key")
    if (typeof labelValue !== "string") return refuse(`${field}.${key}`, labelValue, "expected a string")
  }
  return Effect.succeed(value)
}

const positiveInteger = (field: string, value: number | undefined) =>
  value === undefined || (Number.isSafeInteger(value) && value > 0)
    ? Effect.void
    : refuse(field, value, "expected a positive integer")

/**
 * Everything `createContainer` needs to refuse before the engine sees it, including the isolation
 * rules: no host network, no `container:` network mode, a known security profile, no `ALL`
 * capability.
 *
 * @since 0.1.0
 * @category validation
 */
export const containerSpec = (
  spec: ContainerSpec,
  field = "spec"
): Effect.Effect<ContainerSpec, InputError> =>
  Effect.gen(function* () {
    yield* name(`${field}.name`, spec.name)
    yield* image(`${field}.image`, spec.image)
    yield* labels(`${field}.labels`, spec.labels)
    if (spec.network !== undefined) {
      yield* name(`${field}.network`, spec.network)
      if (spec.network === "host")
        yield* refuse(`${field}.network`, spec.network, "the host network is never used")
    }
    if (
      spec.publish !== undefined &&
      !(Number.isSafeInteger(spec.publish) && spec.publish >= 1 && spec.publish <= 65535)
    ) {
      yield* refuse(`${field}.publish`, spec.publish, "expected a port number 1-65535")
    }
    for (const [index, mount] of (spec.mounts ?? []).entries()) {
      yield* name(`${field}.mounts[${index}].volume`, mount.volume)
      const target = yield* absolutePath(`${field}.mounts[${index}].target`, mount.target)
      if (target === "/")
        yield* refuse(`${field}.mounts[${index}].target`, mount.target, "cannot mount over /")
    }
    for (const key of Object.keys(spec.env ?? {})) {
      if (!envKeyPattern.test(key))
        yield* refuse(`${field}.env`, key, "expected an environment variable name")
    }
    if (spec.security !== undefined && !SecurityProfile.SecurityProfile.literals.includes(spec.security)) {
      yield* refuse(`${field}.security`, spec.security, 'expected "default" or "strict"')
    }
    for (const [index, capability] of (spec.capAdd ?? []).entries()) {
      if (!capabilityPattern.test(capability) || capability === "ALL" || capability === "CAP_ALL") {
        yield* refuse(`${field}.capAdd[${index}]`, capability, "expected one capability name (never ALL)")
      }
    }
    yield* positiveInteger(`${field}.limits.memoryBytes`, spec.limits?.memoryBytes)
    yield* positiveInteger(`${field}.limits.nanoCpus`, spec.limits?.nanoCpus)
    yield* positiveInteger(`${field}.limits.pids`, spec.limits?.pids)
    return spec
  })

/**
 * An archive target and a path inside it; returns the normalised path.
 *
 * @since 0.1.0
 * @category validation
 */
export const archive = (target: ArchiveTarget, path: string): Effect.Effect<string, InputError> =>
  Effect.gen(function* () {
    if (target._tag === "Container") yield* name("target.container", target.container)
    else {
      yield* name("target.volume", target.volume)
      yield* image("target.image", target.image)
    }
    return yield* absolutePath("path", path)
  })
