/**
 * Part 4 of the market benchmark: one direct-request round between two
 * nodes on loopback (real libp2p, stores on disk, ledger commits with
 * synchronous=FULL): REQUEST → ACCEPT (the buyer's hold placed and on
 * disk) → one delivery (the seller issues a receipt, the buyer captures it,
 * which settles the one-unit contract) → the PAYMENT proof acknowledged by
 * the seller. Baseline: a bare /agora/info/1 round trip on the same
 * connection, interleaved with the rounds so both see the same noise.
 * Bar: p50 of a round < 5 ms. The per-peer rate limits of both protocols
 * (market 20/s, info 5/s) are raised for the run on the seller, the same
 * handlers served under the same ids.
 */
import { rmSync } from 'node:fs'
import { createMarketNode, meet, type MarketTestNode } from '../test/harness/market-nodes.ts'
import { tempDir } from '../test/harness/temp.ts'
import { defineProtocol, infoProtocol } from '../src/protocols/index.ts'
import { median, percentile, round, type BenchRow } from './lib.ts'

const PRICE = 10_000

export interface DirectRoundOptions {
  rounds?: number
  warmup?: number
  /** The ledger's commit durability (FULL, as nodes run; NORMAL shows what the fsyncs cost). */
  synchronous?: 'FULL' | 'NORMAL'
}

export async function directRoundTrips (options: DirectRoundOptions = {}): Promise<BenchRow[]> {
  const rounds = options.rounds ?? 300
  const warmup = options.warmup ?? 30
  const dirs = [tempDir('agora-bench-market-'), tempDir('agora-bench-market-')]
  const synchronous = options.synchronous ?? 'FULL'
  const market = { initialCredits: '1000000', creditLimit: '1000000', paymentEveryReceipts: 1, synchronous, rateLimit: { perSecond: 100_000, burst: 100_000 } }
  const nodes: MarketTestNode[] = []
  try {
    const buyer = await createMarketNode({ dataDir: dirs[0], market })
    nodes.push(buyer)
    const seller = await createMarketNode({ dataDir: dirs[1], market, prices: { perTask: '0.01' } })
    nodes.push(seller)
    const offerId = await meet(buyer, seller)
    await seller.node.reqresp.unhandle(infoProtocol.id)
    await seller.node.reqresp.handle(defineProtocol({ ...infoProtocol, rateLimit: { perSecond: 100_000, burst: 100_000 } }), async () => seller.node.info.local())
    const rtt: number[] = []
    const whole: number[] = []
    const accept: number[] = []
    const pay: number[] = []
    for (let i = 0; i < warmup + rounds; i++) {
      const t0 = performance.now()
      await buyer.node.info.request(seller.peerId)
      const t1 = performance.now()
      const contract = await buyer.market.request({ offerId, what: 'classify', quantity: 1, maxUnitPrice: PRICE })
      const t2 = performance.now()
      const paid = nextPayment(buyer, i + 1)
      const receiptId = `bench:${i}`
      seller.market.issue({ receiptId, buyer: buyer.peerId, amount: PRICE, contractId: contract.id })
      buyer.market.capture({ holdId: `contract:${contract.id}`, receiptId, seller: seller.peerId, amount: PRICE })
      await paid
      const t3 = performance.now()
      if (i < warmup) continue
      rtt.push(t1 - t0)
      accept.push(t2 - t1)
      pay.push(t3 - t2)
      whole.push(t3 - t1)
    }
    const b = buyer.market.wallet()
    const s = seller.market.wallet()
    const agree = b.peers[0]?.payable === s.peers[0]?.receivable && b.spent === s.earned && b.spent === (warmup + rounds) * PRICE
    const p50 = median(whole)
    if (synchronous === 'NORMAL') {
      return [{
        metric: 'direct round, ledger synchronous=NORMAL (info), p50',
        value: p50,
        unit: 'ms',
        target: 'info',
        pass: agree,
        detail: `p90 ${round(percentile(whole, 90))} ms; /agora/info/1 p50 ${round(median(rtt))} ms; books agree: ${agree ? 'yes' : 'NO'}`
      }]
    }
    return [
      {
        metric: 'direct round: request → accept → delivery → payment, p50',
        value: p50,
        unit: 'ms',
        target: '< 5 ms',
        pass: p50 < 5 && agree,
        detail: `p90 ${round(percentile(whole, 90))} ms; accept p50 ${round(median(accept))} ms, delivery+payment p50 ${round(median(pay))} ms; ` +
          `/agora/info/1 p50 ${round(median(rtt))} ms (×${round(p50 / median(rtt), 1)}); ${rounds} rounds; books agree: ${agree ? 'yes' : 'NO'}`
      },
      { metric: 'baseline: /agora/info/1 round trip, p50', value: median(rtt), unit: 'ms', target: 'info', pass: true, detail: `p90 ${round(percentile(rtt, 90))} ms` }
    ]
  } finally {
    for (const node of nodes.reverse()) await node.stop()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  }
}

/** Resolves when the buyer's proof `nonce` is acknowledged. */
async function nextPayment (buyer: MarketTestNode, nonce: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { buyer.events.off('payment:sent', onSent); reject(new Error(`proof ${nonce} not acknowledged within 10 s`)) }, 10_000)
    const onSent = (event: { nonce: number }): void => {
      if (event.nonce !== nonce) return
      clearTimeout(timer)
      buyer.events.off('payment:sent', onSent)
      resolve()
    }
    buyer.events.on('payment:sent', onSent)
  })
}
