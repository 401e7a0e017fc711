/**
 * The serving side of a paid /agora/infer/1 request (src/gateway/remote/
 * charge.ts), over in-memory stream pairs with the real engine, access
 * control, server and client: a request without payment is refused (E950)
 * before any compute, one past the credit limit too (E1102); a completed
 * answer's receipt is issued at our price capped at the buyer's hold, and
 * durable before the final frame carries that price; a request cut short
 * issues nothing.
 */
import { describe, test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { AgoraError } from '../../../src/errors.ts'
import { AccessControl } from '../../../src/gateway/access/index.ts'
import { InferenceServer, RemoteInference, type CallPayment, type PricedChatEvent } from '../../../src/gateway/remote/index.ts'
import type { SellerMarket } from '../../../src/gateway/remote/charge.ts'
import { FREE_PRICES, type Prices } from '../../../src/offers/prices.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { memoryEngines, type MemoryEngines } from '../../harness/memory-engines.ts'
import { FakeLocalInference } from '../../harness/fake-local-inference.ts'
import { waitFor } from '../../harness/wait.ts'
import { isCode } from '../../harness/checks.ts'
import type { Micro } from '../../../src/market/amount.ts'

/** 1 credit per 1k prompt tokens, 2 per 1k completion tokens. */
const PAID: Prices = { perTask: 0, per1kPromptTokens: 1_000_000, per1kCompletionTokens: 2_000_000 }

class PricedLocal extends FakeLocalInference {
  prices: Prices = PAID
  ownPrices (): Prices { return this.prices }
}

/** The seller's side of a market: records admit / issue / durable in order; `refuse` answers E1102; `gate` holds durable() open. */
class SellerBooks implements SellerMarket {
  readonly log: string[] = []
  refuse = false
  gate: Promise<void> | undefined

  admit (buyer: string, amount: Micro, what?: string): () => void {
    if (this.refuse) throw new AgoraError('E1102', `${buyer} would pass its credit limit`)
    this.log.push(`admit ${amount} ${what ?? ''}`)
    return () => { this.released++ }
  }

  /** Releases of the credit admitted (one per admitted request, once it ended). */
  released = 0

  issue (receipt: { receiptId: string, buyer: string, amount: Micro, what?: string }): void {
    this.log.push(`issue ${receipt.receiptId} ${receipt.amount} ${receipt.what ?? ''}`)
  }

  async durable (): Promise<void> {
    this.log.push('durable')
    await this.gate
    this.log.push('durable done')
  }
}

const echo = (content: string): { model: string, messages: Array<{ role: 'user', content: string }> } => ({ model: 'echo', messages: [{ role: 'user', content }] })
const pay = (receiptId: string, maxPrice: Micro): { payment: CallPayment } => ({ payment: { receiptId, maxPrice } })

describe('gateway: paid /agora/infer/1 requests, serving side', () => {
  let engines: MemoryEngines
  let inference: InferenceServer
  let remote: RemoteInference
  let local: PricedLocal
  let books: SellerBooks
  let serverPeer = ''

  before(async () => {
    const clientPeer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    serverPeer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    engines = await memoryEngines(clientPeer)
    local = new PricedLocal()
    books = new SellerBooks()
    const access = new AccessControl({ peerBook: { isTrusted: () => true, isBanned: () => false }, logger: silentLogger() }, { trustMode: 'public' })
    inference = new InferenceServer({ reqresp: engines.server, access, local, market: books, logger: silentLogger() })
    await inference.start()
    remote = new RemoteInference({ reqresp: engines.client, libp2p: { dial: async () => ({}) as never }, logger: silentLogger() },
      { dialMs: 1000, firstTokenMs: 3000, idleMs: 3000, totalMs: 10_000 })
  })

  after(async () => {
    await inference?.stop()
    await engines?.stop()
  })

  beforeEach(() => {
    books.log.length = 0
    books.released = 0
    books.refuse = false
    books.gate = undefined
    local.prices = PAID
  })

  test('no payment → E950 before any compute is spent', async () => {
    const started = local.started
    await assert.rejects(async () => { for await (const _ of remote.chatStream(serverPeer, echo('one two'))) { /* drain */ } }, isCode('E950'))
    await assert.rejects(remote.embeddings(serverPeer, { model: 'embed', input: ['x'] }), isCode('E950'))
    assert.equal(local.started, started)
    assert.deepEqual(books.log, [])
  })

  test('a payment that does not even cover the prompt → E950', async () => {
    await assert.rejects(async () => { for await (const _ of remote.chatStream(serverPeer, echo('one two three'), pay('infer:r0#1', 1))) { /* drain */ } }, isCode('E950'))
    assert.deepEqual(books.log, [])
  })

  test('past the credit limit → E1102 before any compute is spent', async () => {
    books.refuse = true
    const started = local.started
    await assert.rejects(async () => { for await (const _ of remote.chatStream(serverPeer, echo('one two'), pay('infer:r1#1', 1_000_000))) { /* drain */ } }, isCode('E1102'))
    assert.equal(local.started, started)
  })

  test('chat: the receipt is issued at our price and durable before the final frame carries the price', async () => {
    let release = (): void => {}
    books.gate = new Promise<void>(resolve => { release = resolve })
    const events: PricedChatEvent[] = []
    const reading = (async () => {
      for await (const event of remote.chatStream(serverPeer, echo('one two three'), pay('infer:r2#1', 1_000_000))) {
        if (event.type === 'done') books.log.push('done received')
        events.push(event)
      }
    })()
    await waitFor('the server to wait for the books', () => books.log.includes('durable'))
    assert.ok(!books.log.includes('done received'), 'no final frame before the receipt is on disk')
    release()
    await reading
    // usage { promptTokens: 7, completionTokens: 3 }: 7 × 1000 + 3 × 2000
    assert.deepEqual(books.log, ['admit 1000000 echo', 'issue infer:r2#1 13000 echo', 'durable', 'durable done', 'done received'])
    await waitFor('the credit held for the request to be given back', () => books.released === 1)
    assert.deepEqual(events.at(-1), { type: 'done', finishReason: 'stop', usage: { promptTokens: 7, completionTokens: 3 }, price: 13_000 })
  })

  test('the price is capped at the buyer\'s hold', async () => {
    const events: PricedChatEvent[] = []
    for await (const event of remote.chatStream(serverPeer, echo('one two three'), pay('infer:r3#1', 10_000))) events.push(event)
    assert.equal(events.at(-1)?.type === 'done' ? events.at(-1)?.price : undefined, 10_000)
    assert.ok(books.log.includes('issue infer:r3#1 10000 echo'))
  })

  test('embeddings: issued and priced in the final frame (prompt tokens only)', async () => {
    const result = await remote.embeddings(serverPeer, { model: 'embed', input: ['a', 'bb'] }, pay('infer:r4#1', 1_000_000))
    assert.equal(result.price, 4000, '2 tokens per input × 1 credit per 1k')
    assert.deepEqual(books.log, ['admit 1000000 embed', 'issue infer:r4#1 4000 embed', 'durable', 'durable done'])
    await waitFor('the credit held for the request to be given back', () => books.released === 1)
  })

  test('a request cut short (the caller left) issues nothing', async () => {
    const aborted = local.aborted
    let deltas = 0
    for await (const event of remote.chatStream(serverPeer, { model: 'drip', messages: [{ role: 'user', content: 'x' }] }, pay('infer:r5#1', 1_000_000))) {
      if (event.type === 'delta' && ++deltas === 3) break
    }
    await waitFor('the provider to see the cancel', () => local.aborted === aborted + 1)
    assert.deepEqual(books.log, ['admit 1000000 drip'])
    await waitFor('the credit held for the request to be given back', () => books.released === 1)
  })

  test('free prices: no payment needed, none charged', async () => {
    local.prices = FREE_PRICES
    const events: PricedChatEvent[] = []
    for await (const event of remote.chatStream(serverPeer, echo('one'))) events.push(event)
    assert.deepEqual(events.at(-1), { type: 'done', finishReason: 'stop', usage: { promptTokens: 7, completionTokens: 1 } })
    assert.deepEqual(books.log, [])
  })
})
