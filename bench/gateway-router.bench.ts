/**
 * What the gateway's router adds to a request: candidate lookup, scoring,
 * the attempt loop, the wrapped stream and the metering row (SQLite, WAL,
 * on disk). Baseline: the same instant provider called directly, in the
 * same run. Also: routing among 50 peers' offers (load-balance), and a
 * failover (first candidate fails before its first token, backoff 0).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AgoraError } from '../src/errors.ts'
import { formatCredits, MICRO_PER_CREDIT } from '../src/market/amount.ts'
import { InferenceGateway, Metering, type GatewayProvider } from '../src/gateway/index.ts'
import { silentLogger } from '../src/observability/logger.ts'
import { collectChat, type ChatEvent, type ChatRequest } from '../src/providers/index.ts'
import { Database } from '../src/store/index.ts'
import { median, percentile, report, round, timeMs, type BenchRow } from './lib.ts'
import type { Offer } from '../src/offers/index.ts'
import type { PeerView } from '../src/peers/index.ts'

const MODEL = 'bench-model'
const ROUNDS = 2_000
const peerId = (i: number): string => `12D3KooW${String.fromCharCode(65 + (i % 26)).repeat(40)}${String(1000 + i).replace(/0/g, 'z')}`

async function * answer (): AsyncGenerator<ChatEvent> {
  for (let i = 0; i < 20; i++) yield { type: 'delta', text: 'tok ' }
  yield { type: 'done', finishReason: 'stop', usage: { promptTokens: 10, completionTokens: 20 } }
}

function broken (): AsyncIterable<ChatEvent> {
  return { [Symbol.asyncIterator]: () => ({ next: async () => { throw new AgoraError('E700', 'down') } }) }
}

const provider: GatewayProvider = {
  id: 'instant',
  kind: 'ollama',
  models: () => [{ name: MODEL, provider: 'instant', kind: 'chat', contextLength: 4096 }],
  health: () => ({ status: 'healthy', checkedAt: 0 }),
  chatStream: () => answer(),
  embeddings: async () => ({ vectors: [], usage: { promptTokens: 0 } })
}

/** An offer asking `credits` per 1k completion tokens. */
function offer (node: string, credits: number): Offer {
  return {
    id: `offer-${node.slice(-8)}`, node, models: [{ name: MODEL, provider: 'ollama', kind: 'chat', contextLength: 4096 }],
    taskTypes: [], tags: [], capacity: { slotsTotal: 1, slotsIdle: 1 },
    prices: { perTask: '0.000000', per1kPromptTokens: '0.000000', per1kCompletionTokens: formatCredits(credits * MICRO_PER_CREDIT), currency: 'credits' },
    zone: '', trustMode: 'public', policyHash: '', expiresAt: Date.now() + 3_600_000, lamport: 1
  } as Offer
}

const dir = mkdtempSync(join(tmpdir(), 'agora-'))
try {
  const db = new Database({ path: join(dir, 'agora.db') })
  const metering = new Metering({ db })
  const request: ChatRequest = { model: MODEL, messages: [{ role: 'user', content: 'hi' }] }
  const ctx = { requester: { kind: 'local' as const, keyId: null }, signal: new AbortController().signal }
  const peers = Array.from({ length: 50 }, (_, i) => peerId(i))
  let failing = ''
  const build = (locals: GatewayProvider[], offers: Offer[]): InferenceGateway => new InferenceGateway({
    selfPeerId: peerId(99),
    local: { providers: () => locals, providerFor: () => locals },
    remote: { chatStream: (peer) => peer === failing ? broken() : answer(), embeddings: async () => ({ vectors: [], usage: { promptTokens: 0 } }) },
    offers: { list: () => offers },
    peerBook: { view: (id: string) => ({ peerId: id, latencyMs: 5, banned: false }) as PeerView, reputation: () => 0.7, record: () => 0.7 },
    metering,
    logger: silentLogger()
  }, { backoffMs: 0, breakerFailures: 1_000_000, random: () => 0 })
  const local = build([provider], [])
  const network = build([], peers.map((p, i) => offer(p, 1 + (i % 5))))

  const measure = async (fn: () => Promise<unknown>): Promise<number[]> => {
    for (let i = 0; i < 200; i++) await fn()
    const samples: number[] = []
    for (let i = 0; i < ROUNDS; i++) samples.push(await timeMs(fn))
    return samples
  }
  const direct = await measure(async () => await collectChat(provider.chatStream(request)))
  const viaLocal = await measure(async () => await collectChat((await local.chat(request, ctx)).events))
  const viaNetwork = await measure(async () => await collectChat((await network.chat(request, { ...ctx, strategy: 'load-balance' })).events))
  const failover = await measure(async () => {
    failing = peers[0] as string
    return await collectChat((await network.chat(request, { ...ctx, target: undefined, strategy: 'load-balance' })).events)
  })
  failing = ''

  const overhead = median(viaLocal) - median(direct)
  const rows: BenchRow[] = [
    { metric: 'direct provider call (baseline)', value: median(direct) * 1000, unit: 'µs', target: 'baseline', pass: true, detail: `p90 ${round(percentile(direct, 90) * 1000)} µs` },
    { metric: 'gateway, local route, metered', value: median(viaLocal) * 1000, unit: 'µs', target: '-', pass: true, detail: `p90 ${round(percentile(viaLocal, 90) * 1000)} µs` },
    { metric: 'gateway overhead per request', value: overhead * 1000, unit: 'µs', target: '< 1000 µs', pass: overhead < 1, detail: 'candidates + scoring + stream wrap + SQLite row' },
    { metric: 'gateway, 50 peers, load-balance', value: median(viaNetwork) * 1000, unit: 'µs', target: '< 2000 µs', pass: median(viaNetwork) < 2, detail: `p90 ${round(percentile(viaNetwork, 90) * 1000)} µs` },
    { metric: 'gateway, 50 peers, one failover', value: median(failover) * 1000, unit: 'µs', target: '< 3000 µs', pass: median(failover) < 3, detail: 'first candidate fails before its first token (backoff 0)' }
  ]
  report('gateway-router', rows, { rounds: ROUNDS, lastFailoverAttempts: metering.list({ limit: 1 })[0]?.attempts })
  db.close()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
