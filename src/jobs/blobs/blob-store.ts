/**
 * Content-addressed blobs on disk for job inputs too large to send inline.
 * A client uploads a file in chunks (`beginUpload` → `append`… → `complete`);
 * the content lands as `<dataDir>/blobs/<sha256 hex>`, written once (a part
 * file renamed into place) and shared by every job that names it. Uploads in
 * progress live in memory and in `blobs/uploads/<id>.part`; uploads left idle
 * for an hour are removed, on start and whenever a new upload begins.
 *
 * A job reads its blob once, when it is submitted (the plan, stored in
 * SQLite, carries the input from then on): a blob is kept for a day after
 * its last upload — time to submit the jobs that use it — and then removed,
 * at the same moments, so the directory grows only with recent uploads.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto'
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { AgoraError, messageOf } from '../../errors.ts'
import type { AgoraLogger } from '../../observability/logger.ts'
import type { BlobRef, UploadStatus } from '../api-types.ts'

export const BLOBS_DIR = 'blobs'
export const UPLOADS_DIR = 'uploads'
/** Uploads idle for this long are abandoned and removed. */
export const DEFAULT_ABANDON_AFTER_MS = 60 * 60_000
/** Completed blobs are kept this long after their content was last uploaded. */
export const DEFAULT_BLOB_RETENTION_MS = 24 * 60 * 60_000
/** Uploads in progress at once (each holds an open file and a hash state). */
export const DEFAULT_MAX_OPEN_UPLOADS = 16
/** jobs.maxUploadBytes' default. */
export const DEFAULT_MAX_UPLOAD_BYTES = 256 * 1024 * 1024

const HASH_RE = /^[0-9a-f]{64}$/
const UPLOAD_ID_RE = /^[0-9a-f]{32}$/

export interface BlobStoreComponents {
  dataDir: string
  logger: AgoraLogger
}

export interface BlobStoreInit {
  /** Largest upload, in bytes (jobs.maxUploadBytes). */
  maxUploadBytes?: number
  abandonAfterMs?: number
  blobRetentionMs?: number
  maxOpenUploads?: number
  now?: () => number
}

interface OpenUpload {
  id: string
  size: number
  received: number
  fd: number
  hash: Hash
  touchedAt: number
}

export class BlobStore {
  readonly dir: string
  private readonly uploadsDir: string
  private readonly log: Logger
  private readonly maxUploadBytes: number
  private readonly abandonAfterMs: number
  private readonly blobRetentionMs: number
  private readonly maxOpenUploads: number
  private readonly now: () => number
  private readonly uploads = new Map<string, OpenUpload>()

  constructor (components: BlobStoreComponents, init: BlobStoreInit = {}) {
    this.dir = join(components.dataDir, BLOBS_DIR)
    this.uploadsDir = join(this.dir, UPLOADS_DIR)
    this.log = components.logger.forComponent('agora:blobs')
    this.maxUploadBytes = init.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES
    this.abandonAfterMs = init.abandonAfterMs ?? DEFAULT_ABANDON_AFTER_MS
    this.blobRetentionMs = init.blobRetentionMs ?? DEFAULT_BLOB_RETENTION_MS
    this.maxOpenUploads = init.maxOpenUploads ?? DEFAULT_MAX_OPEN_UPLOADS
    this.now = init.now ?? Date.now
  }

  /** Create the directories and remove uploads abandoned, and blobs expired, before a restart. */
  start (): void {
    mkdirSync(this.uploadsDir, { recursive: true, mode: 0o700 })
    this.sweep()
  }

  /** Close the files of uploads in progress (their part files stay until swept). */
  stop (): void {
    for (const upload of this.uploads.values()) closeQuietly(upload.fd)
    this.uploads.clear()
  }

  /** Start an upload of `size` bytes; E1081 over the limit, E1085 with too many in progress. */
  beginUpload (size: number): UploadStatus {
    if (!Number.isSafeInteger(size) || size < 0) throw new AgoraError('E502', 'invalid upload size', { why: `expected a whole number of bytes, got ${size}` })
    if (size > this.maxUploadBytes) {
      throw new AgoraError('E1081', `the file is ${formatBytes(size)}, over the ${formatBytes(this.maxUploadBytes)} upload limit (jobs.maxUploadBytes)`, { details: { size, limit: this.maxUploadBytes } })
    }
    this.sweep()
    if (this.uploads.size >= this.maxOpenUploads) {
      throw new AgoraError('E1085', `too many uploads in progress (${this.uploads.size} of at most ${this.maxOpenUploads})`)
    }
    const id = randomBytes(16).toString('hex')
    const fd = this.open(this.partPath(id))
    this.uploads.set(id, { id, size, received: 0, fd, hash: createHash('sha256'), touchedAt: this.now() })
    this.log.debug({ uploadId: id, size }, 'upload begun')
    return { uploadId: id, received: 0 }
  }

  /** Append a chunk at `offset`, which must equal the bytes received so far (E1062). */
  append (uploadId: string, offset: number, chunk: Uint8Array): UploadStatus {
    const upload = this.upload(uploadId)
    if (offset !== upload.received) {
      throw new AgoraError('E1062', `upload ${uploadId} expected the chunk at offset ${upload.received}, got ${offset}`, {
        hint: `send the chunk at offset ${upload.received}, or upload the file again from the start`,
        details: { received: upload.received }
      })
    }
    if (upload.received + chunk.byteLength > upload.size) {
      throw new AgoraError('E1062', `upload ${uploadId} would grow to ${upload.received + chunk.byteLength} bytes, past its declared ${upload.size}`, { details: { received: upload.received, size: upload.size } })
    }
    try {
      let written = 0
      while (written < chunk.byteLength) written += writeSync(upload.fd, chunk, written)
    } catch (err) {
      this.abandon(upload)
      throw new AgoraError('E400', `cannot write upload ${uploadId}`, { why: messageOf(err), cause: err })
    }
    upload.hash.update(chunk)
    upload.received += chunk.byteLength
    upload.touchedAt = this.now()
    return { uploadId, received: upload.received }
  }

  /**
   * Finish an upload: every declared byte received, content hashed and moved
   * to `blobs/<hash>` (deduplicated). With `expectedHash`, content hashing to
   * anything else is damaged: it is discarded, not stored (E1062).
   */
  complete (uploadId: string, expectedHash?: string): BlobRef {
    const upload = this.upload(uploadId)
    if (upload.received !== upload.size) {
      throw new AgoraError('E1062', `upload ${uploadId} is incomplete: ${upload.received} of ${upload.size} bytes received`, {
        hint: `send the rest from offset ${upload.received}, then complete it`,
        details: { received: upload.received, size: upload.size }
      })
    }
    const hash = upload.hash.digest('hex')
    if (expectedHash !== undefined && expectedHash !== hash) {
      this.abandon(upload)
      throw new AgoraError('E1062', `upload ${uploadId} arrived damaged: its content hashes to ${hash}, not ${expectedHash}`, {
        hint: 'nothing of it was kept: upload the file again',
        details: { hash, size: upload.size }
      })
    }
    const part = this.partPath(upload.id)
    try {
      fsyncSync(upload.fd)
      closeSync(upload.fd)
      this.uploads.delete(upload.id)
      if (existsSync(this.blobPath(hash))) rmSync(part, { force: true })
      else renameSync(part, this.blobPath(hash))
      // kept a full retention from its last upload (a content uploaded again starts over)
      const now = new Date(this.now())
      utimesSync(this.blobPath(hash), now, now)
    } catch (err) {
      this.abandon(upload)
      throw new AgoraError('E400', `cannot store upload ${uploadId}`, { why: messageOf(err), cause: err })
    }
    this.log.debug({ uploadId, hash, size: upload.size }, 'upload complete')
    return { hash, size: upload.size }
  }

  /** Where an upload stands; E1062 when unknown. */
  status (uploadId: string): UploadStatus {
    return { uploadId, received: this.upload(uploadId).received }
  }

  has (hash: string): boolean {
    return HASH_RE.test(hash) && existsSync(this.blobPath(hash))
  }

  /** Hash and size of a stored blob, or undefined. */
  stat (hash: string): BlobRef | undefined {
    if (!HASH_RE.test(hash)) return undefined
    try {
      return { hash, size: statSync(this.blobPath(hash)).size }
    } catch {
      return undefined
    }
  }

  /** A blob's bytes, checked against its hash (E1082 unknown, E1083 damaged). Synchronous: planning reads it once per job. */
  read (hash: string): Buffer {
    if (!HASH_RE.test(hash)) throw new AgoraError('E1082', `no blob '${hash}'`, { why: 'a blob is named by the sha256 of its content, 64 hex digits' })
    let content: Buffer
    try {
      content = readFileSync(this.blobPath(hash))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new AgoraError('E1082', `no blob ${hash}`)
      throw new AgoraError('E400', `cannot read blob ${hash}`, { why: messageOf(err), cause: err })
    }
    const actual = createHash('sha256').update(content).digest('hex')
    if (actual !== hash) throw new AgoraError('E1083', `blob ${hash} is damaged`, { why: `its content hashes to ${actual}` })
    return content
  }

  /** A blob as UTF-8 text (a byte-order mark is dropped); E1084 when it is not valid UTF-8. */
  readText (hash: string): string {
    const content = this.read(hash)
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(content)
    } catch {
      throw new AgoraError('E1084', `blob ${hash} is not UTF-8 text`)
    }
  }

  /** Uploads in progress (tests and metrics). */
  get openUploads (): number {
    return this.uploads.size
  }

  /** Remove uploads idle longer than abandonAfterMs (open ones, and part files left by an earlier run) and blobs past their retention. */
  private sweep (): void {
    const cutoff = this.now() - this.abandonAfterMs
    for (const upload of [...this.uploads.values()]) {
      if (upload.touchedAt < cutoff) this.abandon(upload)
    }
    this.removeOlder(this.uploadsDir, cutoff, name => !this.uploads.has(name.replace(/\.part$/, '')), 'an abandoned upload')
    this.removeOlder(this.dir, this.now() - this.blobRetentionMs, name => HASH_RE.test(name), 'a blob past its retention')
  }

  /** Remove the files of `dir` that `which` picks and that were last modified before `cutoff`. */
  private removeOlder (dir: string, cutoff: number, which: (name: string) => boolean, what: string): void {
    let names: string[]
    try {
      names = readdirSync(dir)
    } catch {
      return
    }
    for (const name of names) {
      if (!which(name)) continue
      const path = join(dir, name)
      try {
        if (statSync(path).mtimeMs < cutoff) {
          rmSync(path, { force: true })
          this.log.debug({ file: name }, `removed ${what}`)
        }
      } catch (err) {
        this.log.warn({ file: name, err: messageOf(err) }, `cannot remove ${what}`)
      }
    }
  }

  private upload (uploadId: string): OpenUpload {
    const upload = UPLOAD_ID_RE.test(uploadId) ? this.uploads.get(uploadId) : undefined
    if (upload === undefined) {
      throw new AgoraError('E1062', `no upload '${uploadId}' in progress`, { why: 'it was completed, abandoned after an hour idle, or the node restarted' })
    }
    return upload
  }

  private abandon (upload: OpenUpload): void {
    closeQuietly(upload.fd)
    this.uploads.delete(upload.id)
    rmSync(this.partPath(upload.id), { force: true })
    this.log.debug({ uploadId: upload.id }, 'upload abandoned')
  }

  private open (path: string): number {
    try {
      return openSync(path, 'wx', 0o600)
    } catch (err) {
      throw new AgoraError('E400', 'cannot start an upload', { why: messageOf(err), cause: err })
    }
  }

  private partPath (id: string): string {
    return join(this.uploadsDir, `${id}.part`)
  }

  private blobPath (hash: string): string {
    return join(this.dir, hash)
  }
}

function closeQuietly (fd: number): void {
  try {
    closeSync(fd)
  } catch {
    // already closed
  }
}

/** "256 MiB" style sizes for messages. */
export function formatBytes (bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++ }
  return unit === 0 ? `${bytes} bytes` : `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`
}
