/**
 * A whole block from a blockstore's chunk stream. Not `it-to-buffer`: it
 * concatenates after every chunk, and FsBlockstore yields a 1 MiB block in
 * 64 KiB reads — sixteen growing copies a block, most of an install's CPU.
 */
import type { CID } from 'multiformats/cid'

export interface ChunkedBlocks {
  get(cid: CID, options?: { offline?: boolean, signal?: AbortSignal }): AsyncIterable<Uint8Array> | Iterable<Uint8Array>
}

export async function readBlock (blocks: ChunkedBlocks, cid: CID, options: { offline?: boolean, signal?: AbortSignal } = {}): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = []
  for await (const chunk of blocks.get(cid, options)) chunks.push(chunk)
  return (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)) as Uint8Array<ArrayBuffer>
}

/**
 * A whole block placed one byte into its buffer, after `lead`: a block
 * server writes its frame tag there, so the frame is a view of the same
 * memory instead of another copy of the block (blocksCodec.encode).
 */
export async function readBlockAfter (blocks: ChunkedBlocks, cid: CID, lead: number, options: { offline?: boolean, signal?: AbortSignal } = {}): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of blocks.get(cid, options)) {
    chunks.push(chunk)
    size += chunk.byteLength
  }
  const out = new Uint8Array(1 + size)
  out[0] = lead
  let offset = 1
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out.subarray(1)
}
