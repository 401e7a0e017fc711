/**
 * Uploading a file as a job input: begin with its size, PUT it in chunks at
 * increasing offsets, then complete with the sha256 computed while reading,
 * so the node refuses content that arrived damaged. Memory stays at one
 * chunk whatever the file size.
 */
import { createHash } from 'node:crypto'
import { open, type FileHandle } from 'node:fs/promises'
import { AgoraError, messageOf } from '../errors.ts'
import { UPLOAD_CHUNK_MAX_BYTES } from './routes.ts'
import type { BlobRef, UploadStatus } from '../jobs/api-types.ts'

/** Default chunk size: 1 MiB (the node takes up to UPLOAD_CHUNK_MAX_BYTES). */
export const DEFAULT_UPLOAD_CHUNK_BYTES = 1024 * 1024

export interface UploadFileOptions {
  chunkBytes?: number
  /** Called after each chunk (and once at 0) with bytes sent and the file size. */
  onProgress?: (sent: number, total: number) => void
  signal?: AbortSignal
}

/** The three upload calls (ControlClient has them). */
export interface UploadTarget {
  beginUpload(size: number): Promise<UploadStatus>
  appendUpload(uploadId: string, offset: number, chunk: Uint8Array): Promise<UploadStatus>
  completeUpload(uploadId: string, sha256?: string): Promise<BlobRef>
}

export async function uploadFile (target: UploadTarget, path: string, opts: UploadFileOptions = {}): Promise<BlobRef> {
  const chunkBytes = opts.chunkBytes ?? DEFAULT_UPLOAD_CHUNK_BYTES
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > UPLOAD_CHUNK_MAX_BYTES) {
    throw new AgoraError('E600', `cannot upload in chunks of ${chunkBytes} bytes`, { hint: `use 1 byte to ${UPLOAD_CHUNK_MAX_BYTES} bytes a chunk` })
  }
  let file: FileHandle
  try {
    file = await open(path, 'r')
  } catch (err) {
    throw new AgoraError('E600', `cannot read ${path}`, { why: messageOf(err), hint: 'check the path and its permissions' })
  }
  try {
    const stat = await file.stat()
    if (!stat.isFile()) throw new AgoraError('E600', `cannot upload ${path}`, { why: 'it is not a regular file' })
    const size = stat.size
    const { uploadId } = await target.beginUpload(size)
    const hash = createHash('sha256')
    const buffer = Buffer.alloc(Math.max(1, Math.min(chunkBytes, size)))
    let offset = 0
    opts.onProgress?.(0, size)
    while (offset < size) {
      if (opts.signal?.aborted === true) throw new AgoraError('E600', `upload of ${path} cancelled`, { hint: 'run the command again to upload it from the start' })
      const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, size - offset), offset)
      if (bytesRead === 0) throw new AgoraError('E1062', `${path} shrank while it was being uploaded`, { hint: 'upload it again once nothing writes to it' })
      const chunk = buffer.subarray(0, bytesRead)
      hash.update(chunk)
      await target.appendUpload(uploadId, offset, chunk)
      offset += bytesRead
      opts.onProgress?.(offset, size)
    }
    const sha256 = hash.digest('hex')
    const blob = await target.completeUpload(uploadId, sha256)
    if (blob.hash !== sha256 || blob.size !== size) {
      throw new AgoraError('E1062', `${path} arrived damaged`, { why: `the node stored ${blob.size} bytes hashing to ${blob.hash}; sent ${size} bytes hashing to ${sha256}` })
    }
    return blob
  } finally {
    await file.close()
  }
}
