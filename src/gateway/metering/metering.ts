/**
 * Metering: one row per inference request in the `requests` table
 * (migration 004) — who asked, who served, model, tokens, latencies,
 * outcome, attempts and the price owed by the serving offer's prices —
 * plus the Prometheus counters and histograms. Rows beyond `maxRows` are
 * pruned, oldest first. Recording never throws into the request path.
 *
 * Rows are written in batches, one transaction every `flushMs` (a commit
 * per request cost ~50 µs here, a row in a batch ~15 µs): a row reaches
 * the store at most `flushMs` after its request ended, and every read
 * (list, get) writes what is pending first. `stop()` writes the rest.
 */
import { createGatewayRequestMetrics, type GatewayRequestMetrics } from './metrics.ts'
import { messageOf } from '../../errors.ts'
import { addMicro, formatCredits, perThousand, type Micro } from '../../market/amount.ts'
import type { AgoraEvents } from '../../events.ts'
import type { Prices } from '../../offers/prices.ts'
import type { AgoraLogger, Logger } from '../../observability/logger.ts'
import type { Database } from '../../store/index.ts'
import type { Requester } from '../types.ts'
import type { Registry } from 'prom-client'

export type RequestOutcome = 'ok' | 'error' | 'cancelled'
export type RequestOp = 'chat' | 'embeddings'

export interface RequestRecord {
  /** Request id (the ChatRun / EmbeddingsRun id). */
  id: string
  /** Start, ms since the epoch. */
  ts: number
  requester: Requester
  /** 'local', the serving peer id, or 'none' when no candidate was tried. */
  server: string
  /** Provider id on the serving node, when known. */
  provider: string | null
  model: string
  op: RequestOp
  promptTokens: number
  completionTokens: number
  /** Time to the first token (chat) or result (embeddings); null when none came. */
  firstTokenMs: number | null
  totalMs: number
  outcome: RequestOutcome
  errorCode: string | null
  /** Micro-credits owed to the server (see priceOwed); 0 locally. */
  price: Micro
  /** Candidates tried. */
  attempts: number
}

export interface RequestQuery {
  /** At most this many rows (default 50, at most 1000), newest first. */
  limit?: number
  /** Only rows that started before this time (ms), for paging. */
  before?: number
  model?: string
  outcome?: RequestOutcome
  server?: string
}

/** Prices of the serving offer, micro-credits. */
export type TokenPrices = Prices

/**
 * prompt/1000 × per1kPromptTokens + completion/1000 × per1kCompletionTokens
 * + perTask, in micro-credits; each token price is rounded up once, where
 * its rate meets its count.
 */
export function priceOwed (prices: TokenPrices, usage: { promptTokens: number, completionTokens: number }): Micro {
  const tokens = addMicro(perThousand(prices.per1kPromptTokens, usage.promptTokens), perThousand(prices.per1kCompletionTokens, usage.completionTokens), 'price')
  return addMicro(tokens, prices.perTask, 'price')
}

export interface MeteringComponents {
  db: Database
  metrics?: Registry | undefined
  logger?: AgoraLogger | undefined
  /** Told of each request as it is recorded (request:completed). */
  events?: Pick<AgoraEvents, 'emit'> | undefined
}

export interface MeteringInit {
  /** Rows kept; older ones are pruned (default 100,000). */
  maxRows?: number
  /** Prune every this many inserts (default 1,000). */
  pruneEvery?: number
  /** Pending rows are written in one transaction this often, in ms (default 50; 0: each row at once). */
  flushMs?: number
}

/** A batch this big is written at once, without waiting for the timer. */
const MAX_PENDING_ROWS = 500

interface RequestRow {
  id: string
  ts: number
  requester_kind: 'local' | 'peer'
  requester: string | null
  server: string
  provider: string | null
  model: string
  op: RequestOp
  prompt_tokens: number
  completion_tokens: number
  first_token_ms: number | null
  total_ms: number
  outcome: RequestOutcome
  error_code: string | null
  /** Micro-credits (INTEGER since migration 009). */
  price: number
  attempts: number
}

const INSERT = `INSERT OR REPLACE INTO requests (id, ts, requester_kind, requester, server, provider, model, op, prompt_tokens,
  completion_tokens, first_token_ms, total_ms, outcome, error_code, price, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

export class Metering {
  private readonly db: Database
  private readonly metrics: GatewayRequestMetrics | undefined
  private readonly log: Logger | undefined
  private readonly events: Pick<AgoraEvents, 'emit'> | undefined
  private readonly maxRows: number
  private readonly pruneEvery: number
  private readonly flushMs: number
  private inserts = 0
  private pending: RequestRecord[] = []
  private timer: NodeJS.Timeout | undefined

  constructor (components: MeteringComponents, init: MeteringInit = {}) {
    this.db = components.db
    this.metrics = createGatewayRequestMetrics(components.metrics)
    this.log = components.logger?.forComponent('agora:metering')
    this.events = components.events
    this.maxRows = init.maxRows ?? 100_000
    this.pruneEvery = init.pruneEvery ?? 1_000
    this.flushMs = init.flushMs ?? 50
  }

  /** Store one request (within flushMs) and count it in the metrics. Never throws (a store failure is logged). */
  record (record: RequestRecord): void {
    this.count(record)
    const { id, op, model, server, outcome, errorCode, totalMs, promptTokens, completionTokens } = record
    this.events?.emit('request:completed', { id, op, model, server, outcome, errorCode, totalMs, promptTokens, completionTokens, price: formatCredits(record.price) })
    this.pending.push(record)
    if (this.flushMs <= 0 || this.pending.length >= MAX_PENDING_ROWS) this.flush()
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => { this.flush() }, this.flushMs)
      this.timer.unref()
    }
  }

  /** Write the pending rows now, in one transaction. Never throws (a store failure is logged, and those rows lost). */
  flush (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.pending.length === 0) return
    const rows = this.pending
    this.pending = []
    const before = this.inserts
    try {
      const insert = this.db.prepare(INSERT)
      this.db.transaction(() => {
        for (const record of rows) {
          const requester = record.requester.kind === 'local' ? record.requester.keyId : record.requester.peerId
          insert.run(
            record.id, Math.round(record.ts), record.requester.kind, requester, record.server, record.provider, record.model, record.op,
            Math.round(record.promptTokens), Math.round(record.completionTokens), record.firstTokenMs, record.totalMs,
            record.outcome, record.errorCode, record.price, record.attempts
          )
        }
      })
      this.inserts += rows.length
      if (Math.floor(before / this.pruneEvery) !== Math.floor(this.inserts / this.pruneEvery)) this.prune()
    } catch (err) {
      this.log?.warn({ rows: rows.length, ids: rows.slice(0, 3).map(r => r.id), err: messageOf(err) }, 'cannot store the metering rows')
    }
  }

  /** Write what is pending (the node is stopping; call before the store closes). */
  stop (): void {
    this.flush()
  }

  /** Rows, newest first. */
  list (query: RequestQuery = {}): RequestRecord[] {
    const where: string[] = []
    const args: Array<string | number> = []
    if (query.before !== undefined) { where.push('ts < ?'); args.push(query.before) }
    if (query.model !== undefined) { where.push('model = ?'); args.push(query.model) }
    if (query.outcome !== undefined) { where.push('outcome = ?'); args.push(query.outcome) }
    if (query.server !== undefined) { where.push('server = ?'); args.push(query.server) }
    const limit = Math.min(1000, Math.max(1, Math.floor(query.limit ?? 50)))
    this.flush()
    const sql = `SELECT * FROM requests ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ts DESC, rowid DESC LIMIT ${limit}`
    return (this.db.prepare(sql).all(...args) as unknown as RequestRow[]).map(toRecord)
  }

  get (id: string): RequestRecord | undefined {
    this.flush()
    const row = this.db.prepare('SELECT * FROM requests WHERE id = ?').get(id) as RequestRow | undefined
    return row === undefined ? undefined : toRecord(row)
  }

  /** Drop the oldest rows beyond maxRows; returns how many. */
  prune (): number {
    this.flush()
    const result = this.db.prepare('DELETE FROM requests WHERE rowid IN (SELECT rowid FROM requests ORDER BY ts DESC, rowid DESC LIMIT -1 OFFSET ?)').run(this.maxRows)
    return Number(result.changes)
  }

  private count (record: RequestRecord): void {
    const m = this.metrics
    if (m === undefined) return
    const route = record.server === 'local' ? 'local' : record.server === 'none' ? 'none' : 'remote'
    m.requests.inc({ outcome: record.outcome, route })
    if (record.promptTokens > 0) m.tokens.inc({ direction: 'prompt' }, record.promptTokens)
    if (record.completionTokens > 0) m.tokens.inc({ direction: 'completion' }, record.completionTokens)
    if (record.firstTokenMs !== null) m.firstToken.observe({ route }, record.firstTokenMs / 1000)
    m.duration.observe({ route }, record.totalMs / 1000)
    m.attempts.observe(record.attempts)
  }
}

function toRecord (row: RequestRow): RequestRecord {
  return {
    id: row.id,
    ts: row.ts,
    requester: row.requester_kind === 'peer' ? { kind: 'peer', peerId: row.requester ?? '' } : { kind: 'local', keyId: row.requester },
    server: row.server,
    provider: row.provider,
    model: row.model,
    op: row.op,
    promptTokens: row.prompt_tokens,
    completionTokens: row.completion_tokens,
    firstTokenMs: row.first_token_ms,
    totalMs: row.total_ms,
    outcome: row.outcome,
    errorCode: row.error_code,
    price: row.price,
    attempts: row.attempts
  }
}
