/**
 * The one place where failures of the host (errno codes from `node:fs`, `node:net`,
 * `node:child_process`) become the engine's typed errors.
 *
 * @internal
 */
import { ContainerEngineError } from "@armada/engine"

/** @internal */
export const errnoCode = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
    ? cause.code
    : undefined

/** @internal */
export const describe = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/**
 * A host failure during `operation` on `resource`, with a hint where the errno code has one.
 *
 * @internal
 */
export const hostError =
  (operation: string, resource: string) =>
  (cause: unknown): ContainerEngineError.EngineError => {
    const code = errnoCode(cause)
    let hint = ""
    switch (code) {
      case "ENOENT":
        hint = " (a command or path does not exist)"
        break
      case "EACCES":
      case "EPERM":
      case "EROFS":
        hint = " (permission denied on the host)"
        break
      case "ENOSPC":
      case "EDQUOT":
        hint = " (the disk holding the local engine's state folder is full)"
        break
      case "EMFILE":
      case "ENFILE":
        hint = " (too many open files; raise the limit with `ulimit -n`)"
        break
    }
    return new ContainerEngineError.EngineError({ operation, resource, detail: `${describe(cause)}${hint}` })
  }
