/**
 * The capabilities a container gets. Every engine drops all of them, then adds back the set of
 * the container's profile (and the spec's `capAdd`); every container also runs with
 * `no-new-privileges`, never privileged, never on the host network.
 *
 * - `default`: Docker's default set without what the container protocol never needs, so an image
 *   written for Docker's defaults (a CyanPrint processor that runs as root and writes over a
 *   read-only file it copied, which takes `DAC_OVERRIDE`) runs unchanged.
 * - `strict`: no capability at all, for images known to cope (most that run as a user other than
 *   root do).
 *
 * @since 0.2.0
 */
import { Schema } from "effect"

/**
 * @since 0.2.0
 * @category schemas
 */
export const SecurityProfile = Schema.Literal("default", "strict").annotations({
  identifier: "SecurityProfile",
  message: (issue) => `expected "default" or "strict", got ${JSON.stringify(issue.actual)}`
})

/**
 * @since 0.2.0
 * @category models
 */
export type SecurityProfile = typeof SecurityProfile.Type

/**
 * The capabilities Docker gives a container when asked for nothing (moby's default set).
 *
 * @since 0.2.0
 * @category constants
 */
export const dockerDefault: ReadonlyArray<string> = [
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "NET_RAW",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT"
]

/**
 * What `default` keeps of Docker's set: root's file work on files it does not own or may not
 * write (`CHOWN`, `DAC_OVERRIDE`, `FOWNER`, `FSETID`), and an entrypoint that switches to another
 * user and still signals its children (`SETUID`, `SETGID`, `KILL`).
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultCapabilities: ReadonlyArray<string> = [
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "SETGID",
  "SETUID"
]

/**
 * What `default` drops of Docker's set, each with why the protocol never needs it.
 *
 * @since 0.2.0
 * @category constants
 */
export const dropped: Readonly<Record<string, string>> = {
  AUDIT_WRITE: "writes to the kernel's audit log: only login tools do",
  MKNOD: "creates device files: the protocol's work is regular files, links and directories",
  NET_BIND_SERVICE: "binds ports below 1024: the protocol's ports are 5551-5553 and 9000",
  NET_RAW: "raw and packet sockets (ping, spoofed packets): the protocol is HTTP over TCP",
  SETFCAP: "sets file capabilities, a way to hand capabilities to another program",
  SETPCAP: "changes capability sets of its own threads, a step in regaining dropped ones",
  SYS_CHROOT: "chroot: nothing in a processor, plugin, merger or resolver needs another root"
}

/**
 * The capabilities of `profile`.
 *
 * @since 0.2.0
 * @category getters
 */
export const capabilities = (profile: SecurityProfile): ReadonlyArray<string> =>
  profile === "strict" ? [] : defaultCapabilities

/**
 * What a container gets: its profile's capabilities (absent: `default`) and `capAdd`, without the
 * `CAP_` prefix, each once, sorted.
 *
 * @since 0.2.0
 * @category getters
 */
export const effective = (spec: {
  readonly security?: SecurityProfile | undefined
  readonly capAdd?: ReadonlyArray<string> | undefined
}): ReadonlyArray<string> =>
  [
    ...new Set([
      ...capabilities(spec.security ?? "default"),
      ...(spec.capAdd ?? []).map((capability) => capability.replace(/^CAP_/, ""))
    ])
  ].sort()
