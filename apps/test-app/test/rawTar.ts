/**
 * Tar archives written byte by byte, for entries `Archive.toTar` never makes (`../` names,
 * absolute names, links out): ustar headers, 512-byte blocks, two empty blocks at the end.
 */
import { Stream } from "effect"

export interface RawEntry {
  readonly name: string
  readonly type?: "file" | "directory" | "symlink" | "link"
  readonly linkname?: string
  readonly body?: string
}

const typeFlag = { file: "0", link: "1", symlink: "2", directory: "5" } as const

const header = (entry: RawEntry, size: number): Uint8Array => {
  const block = new Uint8Array(512)
  const put = (offset: number, length: number, value: string) =>
    block.set(new TextEncoder().encode(value).subarray(0, length), offset)
  const octal = (offset: number, length: number, value: number) =>
    put(offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`)
  put(0, 100, entry.name)
  octal(100, 8, entry.type === "directory" ? 0o755 : 0o644)
  octal(108, 8, 0)
  octal(116, 8, 0)
  octal(124, 12, size)
  octal(136, 12, 0)
  put(148, 8, "        ")
  put(156, 1, typeFlag[entry.type ?? "file"])
  put(157, 100, entry.linkname ?? "")
  put(257, 6, "ustar\0")
  put(263, 2, "00")
  const sum = block.reduce((total, byte) => total + byte, 0)
  put(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `)
  return block
}

/** The entries as one tar, in order. */
export const rawTar = (entries: ReadonlyArray<RawEntry>): Stream.Stream<Uint8Array> => {
  const blocks: Array<Uint8Array> = []
  for (const entry of entries) {
    const body = new TextEncoder().encode(entry.body ?? "")
    blocks.push(header(entry, body.length))
    if (body.length > 0) {
      const padded = new Uint8Array(Math.ceil(body.length / 512) * 512)
      padded.set(body)
      blocks.push(padded)
    }
  }
  blocks.push(new Uint8Array(1024))
  return Stream.fromIterable(blocks)
}
