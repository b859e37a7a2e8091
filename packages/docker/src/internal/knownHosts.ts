/**
 * OpenSSH's `known_hosts`: which host keys a host is known by, as `ssh` checks them. Plain and
 * hashed (`|1|salt|hash`) host fields, `*`/`?` patterns and `!` negations, `[host]:port` for a port
 * other than 22, and `@revoked` keys. `@cert-authority` lines are skipped: host certificates are
 * not supported, so such a host is unknown and says so.
 *
 * @internal
 */
import { createHmac } from "node:crypto"

interface Entry {
  readonly marker: "revoked" | "cert-authority" | undefined
  readonly hosts: string
  readonly keyType: string
  readonly key: Buffer
}

/** @internal */
export const parse = (text: string): Array<Entry> =>
  text.split("\n").flatMap((raw): Array<Entry> => {
    const line = raw.trim()
    if (line === "" || line.startsWith("#")) return []
    const fields = line.split(/\s+/)
    const marker = fields[0]!.startsWith("@") ? fields.shift()!.slice(1) : undefined
    const [hosts, keyType, key] = fields
    if (hosts === undefined || keyType === undefined || key === undefined) return []
    if (marker !== undefined && marker !== "revoked" && marker !== "cert-authority") return []
    return [{ marker, hosts, keyType, key: Buffer.from(key, "base64") }]
  })

/**
 * The name a host is recorded under: `host` on port 22, `[host]:port` otherwise.
 *
 * @internal
 */
export const hostName = (host: string, port: number): string => (port === 22 ? host : `[${host}]:${port}`)

const glob = (pattern: string, name: string): boolean => {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".")
  return new RegExp(`^${source}$`, "i").test(name)
}

const hashedMatches = (field: string, name: string): boolean => {
  const [, kind, salt, hash] = field.split("|")
  if (kind !== "1" || salt === undefined || hash === undefined) return false
  const digest = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64")
  return digest === hash
}

const hostMatches = (hosts: string, name: string): boolean => {
  if (hosts.startsWith("|")) return hashedMatches(hosts, name)
  let matched = false
  for (const pattern of hosts.split(",")) {
    if (pattern.startsWith("!")) {
      if (glob(pattern.slice(1), name)) return false
    } else if (glob(pattern, name)) {
      matched = true
    }
  }
  return matched
}

/** The key type a public key blob names (its first SSH string). */
const keyTypeOf = (blob: Buffer): string =>
  blob.length < 4 ? "" : blob.subarray(4, 4 + blob.readUInt32BE(0)).toString()

/**
 * What `known_hosts` says of the key `presented` for `name`.
 *
 * @internal
 */
export type Verdict =
  | { readonly _tag: "Known" }
  | { readonly _tag: "Revoked" }
  /** The host is recorded with another key of the same type. */
  | { readonly _tag: "Mismatch" }
  /** Not recorded with a key of this type; `otherTypes` are the types it is recorded with. */
  | { readonly _tag: "Unknown"; readonly otherTypes: ReadonlyArray<string> }

/** @internal */
export const check = (entries: ReadonlyArray<Entry>, name: string, presented: Buffer): Verdict => {
  if (entries.some((entry) => entry.marker === "revoked" && entry.key.equals(presented)))
    return { _tag: "Revoked" }
  const forHost = entries.filter((entry) => entry.marker === undefined && hostMatches(entry.hosts, name))
  if (forHost.some((entry) => entry.key.equals(presented))) return { _tag: "Known" }
  const type = keyTypeOf(presented)
  if (forHost.some((entry) => entry.keyType === type)) return { _tag: "Mismatch" }
  return { _tag: "Unknown", otherTypes: [...new Set(forHost.map((entry) => entry.keyType))] }
}

/**
 * The key types `name` is recorded with, in file order: the host key algorithms to ask the server
 * for first, as `ssh` does, so a host known by its RSA key is not asked for an ed25519 one.
 *
 * @internal
 */
export const knownTypes = (entries: ReadonlyArray<Entry>, name: string): Array<string> => [
  ...new Set(
    entries
      .filter((entry) => entry.marker === undefined && hostMatches(entry.hosts, name))
      .map((entry) => entry.keyType)
  )
]
