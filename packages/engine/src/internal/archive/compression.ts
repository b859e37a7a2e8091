/**
 * gzip for `.tar.gz` exports: `node:zlib` piped through with `NodeStream.pipeThroughDuplex`.
 *
 * @internal
 */
import * as zlib from "node:zlib"
import * as NodeStream from "@effect/platform-node/NodeStream"
import type { Stream } from "effect"
import type { ArchiveError } from "../../ContainerEngineError.js"
import { io, malformed } from "./error.js"

/** @internal */
export const gzip = <E, R>(
  archive: Stream.Stream<Uint8Array, E, R>,
  options: { readonly level?: number } = {}
): Stream.Stream<Uint8Array, E | ArchiveError, R> =>
  NodeStream.pipeThroughDuplex(
    archive,
    () => zlib.createGzip({ level: options.level ?? zlib.constants.Z_DEFAULT_COMPRESSION }),
    io("gzip")
  )

/** @internal */
export const gunzip = <E, R>(
  archive: Stream.Stream<Uint8Array, E, R>
): Stream.Stream<Uint8Array, E | ArchiveError, R> =>
  NodeStream.pipeThroughDuplex(archive, () => zlib.createGunzip(), malformed)
