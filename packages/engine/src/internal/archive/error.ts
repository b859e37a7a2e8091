/**
 * The three ways an archive operation fails, as `ArchiveError`s: a host file operation (`Io`),
 * bytes that are no tar (`Malformed`), an entry that would land outside its root (`UnsafeEntry`).
 *
 * @internal
 */
import { ArchiveError } from "../../ContainerEngineError.js"

const detail = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/** @internal */
export const io =
  (path: string) =>
  (cause: unknown): ArchiveError =>
    new ArchiveError({ reason: "Io", path, detail: detail(cause) })

/** @internal */
export const malformed = (cause: unknown): ArchiveError =>
  new ArchiveError({ reason: "Malformed", path: "archive", detail: detail(cause) })

/** @internal */
export const unsafe = (path: string, detail: string): ArchiveError =>
  new ArchiveError({ reason: "UnsafeEntry", path, detail })
