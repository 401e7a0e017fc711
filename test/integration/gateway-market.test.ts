/**
 * The gateway pays through the market, between real nodes (docs/market.md,
 * "Jobs and the gateway"): A's OpenAI API routes chat and embeddings to B,
 * whose offer asks a price per 1k tokens and whose models come from a fake
 * OpenAI-compatible server. Each request holds the most it can cost on A,
 * B issues its receipt at the price of the usage, A captures it; B is paid
 * by payment proofs and both books agree to the micro-credit, as do the
 * metering rows on both sides. A wallet that cannot cover a hold, and a
 * seller's credit limit, refuse the request and leave nothing held.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { priceOwed } from '../../src/gateway/index.ts'
import { offerPrices } from '../../src/offers/index.ts'
import { TestSwarm, clientOf, firstAddress, waitForPeers } from '../harness/nodes.ts'
import { waitFor } from '../harness/wait.ts'
import { startFakeOpenAI, type FakeEngine } from '../fixtures/fake-openai.ts'
import type { AgoraNode } from '../../src/node.ts'
import type { PeerBalance, Wallet } from '../../src/market/index.ts'

const CHAT = 'llama-paid'
const EMBED = 'embed-paid'
const REPLY = ['The', ' answer', ' is', ' 42', '.']
const MARKET = { paymentEveryReceipts: 1, paymentEveryMs: 200 }

function pair (wallet: Wallet, peer: string): PeerBalance | undefined {
  return wallet.peers.find(p => p.peer === peer)
}

/** grant + earned − spent = available + held, to the micro-credit. */
function assertWalletIdentity (w: Wallet, who: string): void {
  assert.equal(BigInt(w.grant) + BigInt(w.earned) - BigInt(w.spent), BigInt(w.available) + BigInt(w.held), `${who}: ${JSON.stringify(w)}`)
}

describe('gateway: requests served by a peer are paid through the market', () => {
  const swarm = new TestSwarm()
  let a: AgoraNode
  let b: AgoraNode
  let upstream: FakeEngine
  let client: OpenAI

  before(async () => {
    upstream = await startFakeOpenAI({ models: [{ name: CHAT, kind: 'chat' }, { name: EMBED, kind: 'embedding' }], reply: REPLY })
    a = await swarm.add({ config: { market: MARKET, gateway: { backoffMs: 10 } } })
    b = await swarm.add({
      config: {
        access: { trustMode: 'public' },
        offers: { reannounceMs: 1000, prices: { per1kPromptTokens: '0.5', per1kCompletionTokens: '2' } },
        market: MARKET,
        network: { bootstrap: [firstAddress(a)] }
      }
    })
    await b.components.providers.add({ name: 'fake-openai', kind: 'openai', url: upstream.url })
    await waitForPeers(a, 1)
    await waitFor(`A to learn that B serves ${CHAT} and ${EMBED} at its price`, () => {
      const models = a.components.gateway.models().filter(m => m.ownedBy === b.peerId && m.price > 0).map(m => m.id)
      return models.includes(CHAT) && models.includes(EMBED)
    }, { timeoutMs: 15_000 })
    client = new OpenAI({ baseURL: `${a.apiUrl}/v1`, apiKey: 'sk-local', maxRetries: 0 })
  })

  after(async () => {
    await swarm.stop()
    await upstream.close()
  })

  test('chat and embeddings: A spends what it captured, B is paid by proofs, both books and both metering rows agree', async () => {
    const ids: string[] = []
    const answer = await client.chat.completions.create({ model: CHAT, messages: [{ role: 'user', content: 'What is the answer?' }], max_tokens: 64 }).withResponse()
    assert.equal(answer.data.choices[0]?.message.content, REPLY.join(''))
    assert.equal(answer.response.headers.get('x-agora-server'), b.peerId)
    ids.push(answer.response.headers.get('x-request-id') ?? '')

    const stream = await client.chat.completions.create({ model: CHAT, messages: [{ role: 'user', content: 'Again?' }], stream: true, stream_options: { include_usage: true } }).withResponse()
    let text = ''
    for await (const chunk of stream.data) text += chunk.choices[0]?.delta.content ?? ''
    assert.equal(text, REPLY.join(''))
    ids.push(stream.response.headers.get('x-request-id') ?? '')

    const embedded = await client.embeddings.create({ model: EMBED, input: ['The cat sat on the mat.', 'A kitten was sitting on the rug.'] }).withResponse()
    assert.equal(embedded.data.data.length, 2)
    assert.equal(embedded.response.headers.get('x-agora-server'), b.peerId)
    ids.push(embedded.response.headers.get('x-request-id') ?? '')

    // A's rows: the price captured, which is what B's offer makes of the usage B reported
    const prices = offerPrices(b.components.offers.local() ?? assert.fail('B has an offer'))
    const rows = ids.map(id => a.components.metering.get(id) ?? assert.fail(`no metering row for ${id}`))
    for (const row of rows) {
      assert.equal(row.outcome, 'ok')
      assert.equal(row.server, b.peerId)
      assert.ok(row.price > 0, `request ${row.id} was paid`)
      assert.equal(row.price, priceOwed(prices, row), `request ${row.id}: the price of its usage`)
    }
    const total = rows.reduce((sum, row) => sum + row.price, 0)

    const mine = await waitFor('A\'s holds to be released', () => {
      const w = a.components.market.wallet()
      return w.held === 0 ? w : undefined
    })
    assert.equal(mine.spent, total)
    assert.equal(pair(mine, b.peerId)?.payable, total)
    assertWalletIdentity(mine, 'A')
    // newest first: the request's own hold was placed, captured from, and released
    assert.deepEqual(a.components.market.history({ account: `held:infer:${ids[0] ?? ''}#1` }).map(e => e.kind), ['release', 'capture', 'hold'])

    // payment proofs reach B: then each side's book mirrors the other's
    const theirs = await waitFor('B to be paid by A\'s proofs', () => {
      const w = b.components.market.wallet()
      return pair(w, a.peerId)?.receivable === total ? w : undefined
    }, { timeoutMs: 20_000 })
    assert.equal(theirs.earned, total)
    assert.equal(pair(theirs, a.peerId)?.unpaid, 0)
    assert.equal(pair(theirs, a.peerId)?.receivable, pair(mine, b.peerId)?.payable)
    assertWalletIdentity(theirs, 'B')
    assert.deepEqual((await clientOf(a).reconcile(b.peerId)).differences, [])

    // B's rows name A and show the same prices
    const served = b.components.metering.list({ server: 'local' })
      .filter(r => r.requester.kind === 'peer' && r.requester.peerId === a.peerId && r.outcome === 'ok')
    assert.deepEqual(served.map(r => r.price).sort((x, y) => x - y), rows.map(r => r.price).sort((x, y) => x - y))
  })

  test('a hold the wallet cannot cover: 402 E1101, nothing sent to B, nothing held', async () => {
    const before = upstream.stats.requests
    // a million completion tokens at 2 credits per 1k: 2000 credits, more than the wallet's 1000
    await assert.rejects(client.chat.completions.create({ model: CHAT, messages: [{ role: 'user', content: 'a long story' }], max_tokens: 1_000_000 }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.APIError, String(err))
      assert.equal(err.status, 402)
      assert.equal(err.code, 'E1101')
      return true
    })
    assert.equal(upstream.stats.requests, before)
    assert.equal(a.components.market.wallet().held, 0)
  })

  test('past B\'s credit limit for A: B refuses (E1102) before any compute, A holds nothing after', async () => {
    const spent = a.components.market.wallet().spent
    const before = upstream.stats.requests
    b.components.market.setLimit(a.peerId, 0)
    try {
      await assert.rejects(client.chat.completions.create({ model: CHAT, messages: [{ role: 'user', content: 'one more?' }] }), (err: unknown) => {
        assert.ok(err instanceof OpenAI.APIError, String(err))
        assert.equal(err.code, 'E933')
        assert.match(JSON.stringify(err.error), /E1102/)
        return true
      })
    } finally {
      b.components.market.setLimit(a.peerId, null)
    }
    assert.equal(upstream.stats.requests, before)
    const w = await waitFor('A\'s hold to be released', () => {
      const wallet = a.components.market.wallet()
      return wallet.held === 0 ? wallet : undefined
    })
    assert.equal(w.spent, spent)
  })
})
