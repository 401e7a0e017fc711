/**
 * Files and folders → UnixFS in the node's blockstore, one root per file
 * (the `unixfs-v1-2025` profile, so other IPFS tools compute the same CIDs).
 *
 * One read of each file from disk feeds both the importer and a plain
 * sha256 (what Ollama and Hugging Face name blobs by); nothing holds a whole
 * file in memory, so multi-GiB model files import like small ones. Limits
 * (file count, total bytes) are checked by `stat` before a byte is read.
 */
import { createHash } from 'node:crypto'
import { createReadStream, type Stats } from 'node:fs'
import { readdir, realpath, stat } from 'node:fs/promises'
import { basename, join, relative, sep } from 'node:path'
import { importFile, type WritableStorage } from 'ipfs-unixfs-importer'
import mime from 'mime'
import { AgoraError, messageOf } from '../errors.ts'
import { IMPORT_PROFILE } from './constants.ts'
import type { ManifestFile } from './manifest.ts'

/** What Ollama names a GGUF model layer; `mime` has no entry for `.gguf`. */
export const GGUF_MEDIA_TYPE = 'application/vnd.ollama.image.model'
const FALLBACK_MEDIA_TYPE = 'application/octet-stream'

/** Bytes asked of the disk per read: the importer's chunk size, so a chunk is rarely split. */
const READ_CHUNK_BYTES = 1024 * 1024
/** Files imported at once: small files are dominated by per-file latency, large ones by the disk. */
const FILE_CONCURRENCY = 4
/** Blocks of one file hashed and written at once (the library's default is 50; 1 MiB blocks need fewer). */
const BLOCK_WRITE_CONCURRENCY = 16

export interface ImportLimits {
  maxFiles: number
  maxPackageBytes: number
}

export interface ImportInit extends ImportLimits {
  /** Bytes read so far of `totalBytes` (every file), as they are imported. */
  onProgress?: (bytes: number, totalBytes: number) => void
  signal?: AbortSignal
}

/** A file found by the walk, before import. */
export interface PlannedFile {
  /** `/`-separated path inside the package. */
  path: string
  /** Where it is on disk. */
  source: string
  size: number
}

export interface ImportPlan {
  files: PlannedFile[]
  totalBytes: number
}

export interface ImportResult {
  /** Sorted by path. */
  files: ManifestFile[]
  totalBytes: number
}

/** The media type a file is published with: by extension, `.gguf` as Ollama names it, else octet-stream. */
export function mediaTypeOf (path: string): string {
  if (path.toLowerCase().endsWith('.gguf')) return GGUF_MEDIA_TYPE
  return mime.getType(path) ?? FALLBACK_MEDIA_TYPE
}

/**
 * Walk `path` (a file, or a folder recursively) and check the limits. A
 * symlink counts when it stays inside the folder; one that leaves it is
 * refused. A single file is published under its own name.
 */
export async function planImport (path: string, limits: ImportLimits): Promise<ImportPlan> {
  const top = await statOrRefuse(path)
  let files: PlannedFile[]
  if (top.isFile()) {
    files = [{ path: basename(path), source: path, size: top.size }]
  } else if (top.isDirectory()) {
    const root = await realpath(path)
    files = []
    await walk(root, root, new Set([root]), files, limits)
    if (files.length === 0) throw new AgoraError('E1431', `the folder ${path} holds no files`, { why: 'an empty package cannot be published' })
  } else {
    throw new AgoraError('E1430', `cannot publish ${path}`, { why: 'it is neither a file nor a folder' })
  }
  files.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  const totalBytes = files.reduce((sum, file) => sum + file.size, 0)
  if (totalBytes > limits.maxPackageBytes) {
    throw new AgoraError('E1434', `${path} is too large to publish`, {
      why: `${totalBytes} bytes, more than packages.maxPackageBytes (${limits.maxPackageBytes})`,
      details: { totalBytes, maxPackageBytes: limits.maxPackageBytes }
    })
  }
  return { files, totalBytes }
}

async function walk (root: string, dir: string, seen: Set<string>, out: PlannedFile[], limits: ImportLimits): Promise<void> {
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch (err) {
    throw new AgoraError('E1430', `cannot read the folder ${dir}`, { why: messageOf(err), cause: err })
  }
  for (const entry of entries) {
    const full = join(dir, entry.name)
    let real = full
    if (entry.isSymbolicLink()) {
      real = await realpath(full).catch(() => '')
      if (real === '' || (real !== root && !real.startsWith(root + sep))) {
        throw new AgoraError('E1432', `the link ${full} points outside the folder`, { why: `it leads to ${real === '' ? 'nothing' : real}` })
      }
    }
    const info = await statOrRefuse(real)
    if (info.isDirectory()) {
      // a link back up the tree would walk for ever
      if (seen.has(real)) continue
      seen.add(real)
      await walk(root, full, seen, out, limits)
    } else if (info.isFile()) {
      out.push({ path: relative(root, full).split(sep).join('/'), source: real, size: info.size })
      if (out.length > limits.maxFiles) {
        throw new AgoraError('E1433', `too many files in ${root}`, {
          why: `more than packages.maxFiles (${limits.maxFiles})`,
          details: { maxFiles: limits.maxFiles }
        })
      }
    }
    // sockets, FIFOs and devices are not content: left out
  }
}

async function statOrRefuse (path: string): Promise<Stats> {
  try {
    return await stat(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file or folder on the node' : code === 'EACCES' ? 'the node may not read it' : messageOf(err)
    throw new AgoraError('E1430', `cannot publish ${path}`, { why, cause: err })
  }
}

/**
 * Import every planned file into `blockstore`; file roots and sha256 in
 * plan order (sorted by path).
 */
export async function importPlan (blockstore: WritableStorage, plan: ImportPlan, init: Pick<ImportInit, 'onProgress' | 'signal'> = {}): Promise<ImportResult> {
  const files: ManifestFile[] = new Array<ManifestFile>(plan.files.length)
  let read = 0
  const counted = (bytes: number): void => {
    read += bytes
    init.onProgress?.(read, plan.totalBytes)
  }
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < plan.files.length) {
      const index = next++
      const file = plan.files[index]
      if (file !== undefined) files[index] = await importOne(blockstore, file, counted, init.signal)
    }
  }
  await Promise.all(Array.from({ length: Math.min(FILE_CONCURRENCY, plan.files.length) }, worker))
  return { files, totalBytes: files.reduce((sum, file) => sum + file.size, 0) }
}

/** `planImport` then `importPlan`. */
export async function importPath (blockstore: WritableStorage, path: string, init: ImportInit): Promise<ImportResult> {
  return await importPlan(blockstore, await planImport(path, init), init)
}

async function importOne (blockstore: WritableStorage, file: PlannedFile, counted: (bytes: number) => void, signal?: AbortSignal): Promise<ManifestFile> {
  const hash = createHash('sha256')
  let size = 0
  // the same chunks go to the plain sha256 and to the importer: one read of the disk
  async function * content (): AsyncGenerator<Uint8Array> {
    for await (const chunk of createReadStream(file.source, { highWaterMark: READ_CHUNK_BYTES, signal }) as AsyncIterable<Buffer>) {
      hash.update(chunk)
      size += chunk.byteLength
      counted(chunk.byteLength)
      yield chunk
    }
  }
  let cid
  try {
    ({ cid } = await importFile({ content: content() }, blockstore, { ...IMPORT_PROFILE, blockWriteConcurrency: BLOCK_WRITE_CONCURRENCY }))
  } catch (err) {
    if (signal?.aborted === true) throw signal.reason
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
      throw new AgoraError('E1430', `cannot read ${file.source}`, { why: messageOf(err), cause: err })
    }
    throw new AgoraError('E1438', `importing ${file.path} failed`, { why: messageOf(err), cause: err })
  }
  return { path: file.path, cid: cid.toString(), size, sha256: hash.digest('hex'), mediaType: mediaTypeOf(file.path) }
}
