/**
 * The blob store: chunked uploads in order, refusals with the exact code
 * (wrong offset, over the declared size, over the limit, incomplete),
 * content addressing and deduplication, damaged and non-text blobs, and
 * the removal of abandoned uploads and expired blobs at start and on a new
 * upload.
 */
import { describe, test, beforeEach, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BlobStore, BLOBS_DIR, UPLOADS_DIR } from '../../../src/jobs/blobs/index.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { isAgoraError } from '../../../src/errors.ts'

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex')

/** Upload `text` in one chunk; its hash. */
function uploadText (store: BlobStore, text: string): string {
  const { uploadId } = store.beginUpload(Buffer.byteLength(text))
  store.append(uploadId, 0, Buffer.from(text))
  return store.complete(uploadId).hash
}

describe('BlobStore', () => {
  let dataDir: string
  let now: number
  const open = (init: ConstructorParameters<typeof BlobStore>[1] = {}): BlobStore => {
    const store = new BlobStore({ dataDir, logger: silentLogger() }, { now: () => now, ...init })
    store.start()
    return store
  }

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'agora-'))
    now = 1_000_000
  })
  afterEach(() => { rmSync(dataDir, { recursive: true, force: true }) })

  test('a file uploaded in chunks is stored under its sha256 and read back', () => {
    const store = open()
    const content = Buffer.from('Agora splits work over peers. '.repeat(1000))
    const { uploadId, received } = store.beginUpload(content.length)
    assert.equal(received, 0)
    assert.match(uploadId, /^[0-9a-f]{32}$/)
    let offset = 0
    for (const size of [1, 4095, 10_000, content.length - 14_096]) {
      assert.deepEqual(store.append(uploadId, offset, content.subarray(offset, offset + size)), { uploadId, received: offset + size })
      offset += size
    }
    const blob = store.complete(uploadId)
    assert.deepEqual(blob, { hash: sha256(content), size: content.length })
    assert.ok(existsSync(join(dataDir, BLOBS_DIR, blob.hash)))
    assert.deepEqual(readdirSync(join(dataDir, BLOBS_DIR, UPLOADS_DIR)), [], 'no part file left')
    assert.ok(store.has(blob.hash))
    assert.deepEqual(store.stat(blob.hash), blob)
    assert.ok(store.read(blob.hash).equals(content))
    assert.equal(store.readText(blob.hash), content.toString('utf8'))
    assert.equal(store.openUploads, 0)
    assert.throws(() => store.append(uploadId, offset, Buffer.from('x')), err => isAgoraError(err, 'E1062'), 'a completed upload takes no more chunks')
    store.stop()
  })

  test('content that does not hash to the hash the client sent is discarded, not stored (E1062)', () => {
    const store = open()
    const content = Buffer.from('sent whole, arrived changed')
    const { uploadId } = store.beginUpload(content.length)
    store.append(uploadId, 0, content)
    assert.throws(() => store.complete(uploadId, 'f'.repeat(64)), err => isAgoraError(err, 'E1062') && /arrived damaged: its content hashes to [0-9a-f]{64}, not f{64}/.test(err.message))
    assert.equal(store.has(sha256(content)), false, 'the damaged content cannot be used as a job input')
    assert.deepEqual(readdirSync(join(dataDir, BLOBS_DIR, UPLOADS_DIR)), [], 'no part file left')
    assert.equal(store.openUploads, 0)
    const again = store.beginUpload(content.length)
    store.append(again.uploadId, 0, content)
    assert.deepEqual(store.complete(again.uploadId, sha256(content)), { hash: sha256(content), size: content.length })
    store.stop()
  })

  test('a chunk at the wrong offset is refused and changes nothing', () => {
    const store = open()
    const { uploadId } = store.beginUpload(10)
    store.append(uploadId, 0, Buffer.from('abcd'))
    for (const offset of [0, 3, 5]) {
      assert.throws(() => store.append(uploadId, offset, Buffer.from('ef')), err => isAgoraError(err, 'E1062') && err.what.includes('offset 4') && err.details?.received === 4)
    }
    store.append(uploadId, 4, Buffer.from('efghij'))
    assert.equal(store.readText(store.complete(uploadId).hash), 'abcdefghij')
    store.stop()
  })

  test('an upload may not grow past its declared size, nor complete short of it', () => {
    const store = open()
    const { uploadId } = store.beginUpload(5)
    assert.throws(() => store.append(uploadId, 0, Buffer.from('123456')), err => isAgoraError(err, 'E1062') && err.what.includes('past its declared 5'))
    store.append(uploadId, 0, Buffer.from('123'))
    assert.throws(() => store.complete(uploadId), err => isAgoraError(err, 'E1062') && err.what.includes('3 of 5'))
    store.append(uploadId, 3, Buffer.from('45'))
    assert.equal(store.complete(uploadId).size, 5)
    store.stop()
  })

  test('a size over jobs.maxUploadBytes is refused with the limit in the message', () => {
    const store = open({ maxUploadBytes: 2 * 1024 * 1024 })
    assert.throws(() => store.beginUpload(2 * 1024 * 1024 + 1), err => isAgoraError(err, 'E1081') && err.what.includes('2 MiB upload limit') && err.status === 413)
    assert.equal(store.beginUpload(2 * 1024 * 1024).received, 0, 'exactly the limit is fine')
    assert.throws(() => store.beginUpload(-1), err => isAgoraError(err, 'E502'))
    store.stop()
  })

  test('unknown upload ids and malformed ones are E1062', () => {
    const store = open()
    assert.throws(() => store.append('0'.repeat(32), 0, Buffer.from('x')), err => isAgoraError(err, 'E1062'))
    assert.throws(() => store.complete('../../etc/passwd'), err => isAgoraError(err, 'E1062'))
    store.stop()
  })

  test('the same content uploaded twice is stored once', () => {
    const store = open()
    const first = uploadText(store, 'same words')
    const second = uploadText(store, 'same words')
    const other = uploadText(store, 'other words')
    assert.equal(first, second)
    assert.notEqual(first, other)
    assert.deepEqual(readdirSync(join(dataDir, BLOBS_DIR)).filter(n => n !== UPLOADS_DIR).sort(), [first, other].sort())
    assert.equal(store.readText(first), 'same words')
    store.stop()
  })

  test('an empty file is a blob too', () => {
    const store = open()
    const { uploadId } = store.beginUpload(0)
    assert.deepEqual(store.complete(uploadId), { hash: sha256(new Uint8Array()), size: 0 })
    store.stop()
  })

  test('reading: unknown E1082, damaged E1083, not UTF-8 E1084', () => {
    const store = open()
    assert.throws(() => store.read('a'.repeat(64)), err => isAgoraError(err, 'E1082') && err.status === 404)
    assert.throws(() => store.read('../x'), err => isAgoraError(err, 'E1082'))
    assert.equal(store.has('../x'), false)
    assert.equal(store.stat('b'.repeat(64)), undefined)

    const binary = Buffer.from([0xff, 0xfe, 0x00, 0xc3])
    const { uploadId } = store.beginUpload(binary.length)
    store.append(uploadId, 0, binary)
    const { hash } = store.complete(uploadId)
    assert.ok(store.read(hash).equals(binary))
    assert.throws(() => store.readText(hash), err => isAgoraError(err, 'E1084'))

    writeFileSync(join(dataDir, BLOBS_DIR, hash), 'tampered')
    assert.throws(() => store.read(hash), err => isAgoraError(err, 'E1083'))
    store.stop()
  })

  test('a UTF-8 byte-order mark is dropped from text', () => {
    const store = open()
    const content = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('héllo')])
    const { uploadId } = store.beginUpload(content.length)
    store.append(uploadId, 0, content)
    assert.equal(store.readText(store.complete(uploadId).hash), 'héllo')
    store.stop()
  })

  test('start removes part files older than an hour and keeps recent ones', () => {
    const uploads = join(dataDir, BLOBS_DIR, UPLOADS_DIR)
    mkdirSync(uploads, { recursive: true })
    const old = join(uploads, `${'1'.repeat(32)}.part`)
    const recent = join(uploads, `${'2'.repeat(32)}.part`)
    writeFileSync(old, 'left by a crash')
    writeFileSync(recent, 'written a minute ago')
    const wallNow = Date.now()
    utimesSync(old, new Date(wallNow - 2 * 3600_000), new Date(wallNow - 2 * 3600_000))
    utimesSync(recent, new Date(wallNow - 60_000), new Date(wallNow - 60_000))
    now = wallNow
    const store = open()
    assert.equal(existsSync(old), false)
    assert.equal(existsSync(recent), true)
    store.stop()
  })

  test('a blob is kept a day after its content was last uploaded, then removed when an upload begins or at start', () => {
    const hour = 3600_000
    now = Date.now()
    const store = open()
    const a = uploadText(store, 'first words')
    now += 20 * hour
    assert.equal(uploadText(store, 'first words'), a, 'uploaded again: its day starts over')
    now += 10 * hour
    const b = uploadText(store, 'second words')
    assert.equal(store.has(a), true, '10 hours after its last upload')
    now += 16 * hour
    store.beginUpload(1)
    assert.equal(store.has(a), false, '26 hours after its last upload')
    assert.equal(store.has(b), true, '16 hours after its upload')
    store.stop()
    now += 9 * hour
    const restarted = open()
    assert.equal(restarted.has(b), false, 'expired while the node was down: removed at start')
    restarted.stop()
  })

  test('uploads idle for an hour are abandoned when a new one begins; the number open is bounded', () => {
    const store = open({ maxOpenUploads: 2 })
    const idle = store.beginUpload(10).uploadId
    now += 30 * 60_000
    const active = store.beginUpload(10).uploadId
    assert.throws(() => store.beginUpload(10), err => isAgoraError(err, 'E1085') && err.status === 429)
    now += 31 * 60_000
    store.append(active, 0, Buffer.from('a'))
    const third = store.beginUpload(10).uploadId
    assert.throws(() => store.append(idle, 0, Buffer.from('x')), err => isAgoraError(err, 'E1062'), 'the idle upload is gone')
    assert.equal(existsSync(join(dataDir, BLOBS_DIR, UPLOADS_DIR, `${idle}.part`)), false)
    assert.equal(store.status(active).received, 1)
    assert.equal(store.status(third).received, 0)
    assert.equal(store.openUploads, 2)
    store.stop()
  })
})
