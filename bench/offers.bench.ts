/**
 * Offers benchmark, real libp2p nodes on loopback in one process (2 cores
 * here: every figure includes 10 or 30 nodes sharing one JS thread):
 * - propagation: a node re-announces; time until every other node holds the
 *   new Lamport (the slowest node per sample; p50 and p99 over 60 / 120
 *   samples after 10 warm-up ones), 10 and 30 nodes, against a baseline in
 *   the same swarm: the same bytes on /agora/needs/1 (gossip alone, no
 *   validation) — bar: p99 < 250 ms at 30 nodes;
 * - convergence after a partition heals, 30 nodes cut 15 | 15 (every link
 *   across hung up and refused), heal = those links re-dialled (at most 3
 *   per node; nodes without a link across get the news hop by hop):
 *   A) 300 offers — the 30 nodes' own plus 270 signed by generated
 *      identities, known everywhere before the cut (pulled from a seeder
 *      node that only answers /agora/sync/1); while apart every node
 *      re-announces and one per side withdraws — bar: < 2 s to one table;
 *   B) as A, plus 270 more offers reach only the right half while apart, so
 *      each left node must pull and verify 285 (info: CPU-bound in one
 *      process, ~4,300 Ed25519 verifications);
 * - memory per node with 30 nodes holding 3,000 offers (2,970 seeded): heap
 *   growth per node over the same swarm holding 30 (after GC);
 * - a late joiner: a new node outside the gossip mesh (not subscribed to the
 *   topic, so anti-entropy alone) dials one node of a 10-node swarm; time
 *   from the dial until it holds all 10 offers (fresh node per sample) —
 *   bar: slowest < 3 s (the bar the integration test used to hold);
 * - a flood: one peer publishes 3,000 of its own signed offers straight
 *   through gossipsub at a victim (rate-limited per origin, never banned
 *   here); /agora/info/1 round trips from an honest peer to the victim
 *   every 250 ms during the flood, against the same idle — bar: p99 < 500 ms.
 * The DHT is off in these swarms: in one process 30 routing-table loops
 * compete for the one JS thread (the integration tests cover capability records).
 *
 * Run: PATH=$PWD/node_modules/.bin:$PATH node bench/offers.bench.ts
 * (BENCH_ONLY=propagation|convergence|memory|late|flood runs one part; BENCH_SAMPLES=n.)
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { generateIdentity, encodeEnvelope, signEnvelope } from '../src/identity/index.ts'
import { buildLocalOffer, syncProtocol } from '../src/offers/index.ts'
import { servePage } from '../src/offers/sync/round.ts'
import { OfferTable, type OfferEntry } from '../src/offers/table.ts'
import { NEEDS_TOPIC } from '../src/p2p/index.ts'
import { ReqResp } from '../src/protocols/index.ts'
import { silentLogger } from '../src/observability/logger.ts'
import { createTestNode, type TestNode } from '../test/harness/libp2p-nodes.ts'
import { OFFERS_TOPIC } from '../src/p2p/index.ts'
import { OfferSwarm, tableOf, TestSource, type OfferNode, type OfferNodeOptions } from '../test/harness/offer-nodes.ts'
import { offerFor } from '../test/unit/offers/fixtures.ts'
import { waitFor } from '../test/harness/wait.ts'
import { median, percentile, report, round, type BenchRow } from './lib.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 60)
/** Samples run first and not counted (JIT, first gossipsub mesh). */
const WARMUP = 10
const NODE_OPTIONS: OfferNodeOptions = {
  // no DHT: in one process 30 routing-table loops compete for the one JS thread (capability records are in the integration tests)
  network: { dht: { enabled: false } },
  offers: { provideOnDht: false, ttlMs: 10 * 60_000, reannounceMs: 10 * 60_000, syncIntervalMs: 60_000, perOriginPerMinute: 6000 }
}
/** Links per node restored at the heal (a peer manager tops up the rest later). */
const HEAL_LINKS = 3
const rows: BenchRow[] = []

async function swarmOf (count: number): Promise<{ swarm: OfferSwarm, nodes: OfferNode[] }> {
  const swarm = new OfferSwarm()
  const nodes = await swarm.add(count, NODE_OPTIONS)
  await swarm.mesh(nodes, 3)
  await swarm.topicReady(nodes, 3, 20_000)
  await waitFor('every node to hold every offer', () => nodes.every(n => n.offers.list().length === count), { timeoutMs: 20_000 })
  return { swarm, nodes }
}

/** Time until the slowest node has the origin's offer at `lamport`, from `t0`. */
function arrivals (nodes: OfferNode[], origin: OfferNode): { until: (lamport: number, t0: number) => Promise<number>, close: () => void } {
  const waiting = new Map<number, { left: number, resolve: (at: number) => void }>()
  const offs = nodes.filter(n => n !== origin).map(node => {
    const on = (event: { node: string, lamport: number }): void => {
      if (event.node !== origin.peerId) return
      const w = waiting.get(event.lamport)
      if (w !== undefined && --w.left === 0) w.resolve(performance.now())
    }
    node.events.on('offer:updated', on)
    return () => { node.events.off('offer:updated', on) }
  })
  return {
    until: async (lamport, t0) => {
      const at = await new Promise<number>((resolve, reject) => {
        waiting.set(lamport, { left: nodes.length - 1, resolve })
        setTimeout(() => { reject(new Error(`lamport ${lamport} did not reach every node in 10 s`)) }, 10_000).unref()
      })
      waiting.delete(lamport)
      return at - t0
    },
    close: () => { for (const off of offs) off() }
  }
}

async function propagation (count: number, samples: number): Promise<void> {
  const { swarm, nodes } = await swarmOf(count)
  try {
    const offerMs: number[] = []
    for (let i = -WARMUP; i < samples; i++) {
      const origin = nodes[((i + WARMUP) * 7) % count] as OfferNode
      const watch = arrivals(nodes, origin)
      const t0 = performance.now()
      const done = watch.until(origin.offers.stats().lamport + 1, t0)
      await origin.offers.announce()
      const ms = await done
      if (i >= 0) offerMs.push(ms)
      watch.close()
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    // baseline, same swarm: the same bytes as an offer on another topic, delivered without validation
    const rawMs: number[] = []
    let pending: { left: number, resolve: () => void } | undefined
    for (const node of nodes) node.gossip.subscribe(NEEDS_TOPIC, () => { if (pending !== undefined && --pending.left === 0) pending.resolve() })
    await waitFor('needs topic peers', () => nodes.every(n => n.gossip.topicPeers(NEEDS_TOPIC).length >= 3), { timeoutMs: 20_000 })
    for (let i = -WARMUP; i < samples; i++) {
      const origin = nodes[((i + WARMUP) * 7) % count] as OfferNode
      const bytes = new TextEncoder().encode(JSON.stringify(origin.offers.local()) + i)
      const arrived = new Promise<void>(resolve => { pending = { left: count - 1, resolve } })
      const t0 = performance.now()
      await origin.gossip.publish(NEEDS_TOPIC, bytes)
      await arrived
      if (i >= 0) rawMs.push(performance.now() - t0)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    const p99 = percentile(offerMs, 99)
    const base = `baseline (opaque gossip, same swarm) p50 ${round(median(rawMs))} / p99 ${round(percentile(rawMs, 99))} ms; n=${samples} after ${WARMUP} warm-up`
    rows.push({ metric: `propagation to all ${count} nodes (p50)`, value: median(offerMs), unit: 'ms', target: 'info', pass: true, detail: base })
    rows.push({ metric: `propagation to all ${count} nodes (p99)`, value: p99, unit: 'ms', target: '< 250 ms', pass: p99 < 250, detail: `baseline p99 ${round(percentile(rawMs, 99))} ms` })
  } finally {
    await swarm.stop()
  }
}

/** Signed offers of `count` generated identities, as table entries. */
async function foreignEntries (count: number): Promise<OfferEntry[]> {
  const decoder = new TextDecoder()
  const now = Date.now()
  const snapshot = { models: [{ name: 'seeded-chat', provider: 'seed', kind: 'chat' as const, contextLength: 4096 }], taskTypes: ['classify'], tags: ['seed'], capacity: { slotsTotal: 2, slotsIdle: 1 } }
  const out: OfferEntry[] = []
  for (let i = 0; i < count; i++) {
    const identity = await generateIdentity()
    const offer = buildLocalOffer(snapshot, {
      id: `seeded-${String(i).padStart(6, '0')}`, node: identity.peerIdString, prices: { perTask: (i % 7) * 1_000_000, per1kPromptTokens: 1_000_000, per1kCompletionTokens: 2_000_000 },
      zone: 'seed', trustMode: 'public', lamport: 1, expiresAt: now + 9 * 60_000
    })
    const raw = decoder.decode(encodeEnvelope(signEnvelope(identity, { kind: 'OFFER', payload: offer }, now)))
    out.push({ origin: offer.node, offerId: offer.id, lamport: 1, kind: 'OFFER', expiresAt: offer.expiresAt, raw, offer })
  }
  return out
}

/** A node that only answers /agora/sync/1 from a table of seeded offers (no DHT, no gossip of its own). */
async function seeder (entries: OfferEntry[]): Promise<{ node: TestNode, stop: () => Promise<void> }> {
  const node = await createTestNode({ network: { dht: { enabled: false } } })
  const table = new OfferTable({ maxEntries: entries.length + 10 })
  for (const entry of entries) table.apply(entry, Date.now())
  const reqresp = new ReqResp({ libp2p: node.libp2p, logger: silentLogger() })
  await reqresp.handle(syncProtocol, async request => servePage(table, request, { pageSize: 1000, now: Date.now() }))
  await reqresp.start()
  return { node, stop: async () => { await reqresp.stop(); await node.stop() } }
}

/** Each node pulls the seeder's offers by anti-entropy (on connect), a few nodes at a time. */
async function seed (nodes: OfferNode[], seed: { node: TestNode }, expected: number): Promise<void> {
  for (let i = 0; i < nodes.length; i += 5) {
    const batch = nodes.slice(i, i + 5)
    await Promise.all(batch.map(async n => await n.libp2p.dial(seed.node.address, { signal: AbortSignal.timeout(5000) })))
    await waitFor('nodes to pull the seeded offers', () => batch.every(n => n.offers.list().length >= expected), { timeoutMs: 60_000, intervalMs: 20 })
    await Promise.all(batch.map(async n => { await n.libp2p.hangUp(seed.node.libp2p.peerId) }))
  }
}

/** Whether the nodes' tables are equal, recomputing only the tables that changed (offer events) since the last look. */
function tableWatch (nodes: OfferNode[]): { same: (subset?: OfferNode[]) => boolean, close: () => void } {
  const cache = new Map<OfferNode, string>()
  const dirty = new Set(nodes)
  const offs = nodes.map(node => {
    const mark = (): void => { dirty.add(node) }
    for (const name of ['offer:added', 'offer:updated', 'offer:withdrawn', 'offer:expired'] as const) node.events.on(name, mark)
    return () => { for (const name of ['offer:added', 'offer:updated', 'offer:withdrawn', 'offer:expired'] as const) node.events.off(name, mark) }
  })
  return {
    same: (subset = nodes) => {
      for (const node of dirty) cache.set(node, JSON.stringify(tableOf(node)))
      dirty.clear()
      const first = cache.get(subset[0] as OfferNode)
      return subset.every(node => cache.get(node) === first)
    },
    close: () => { for (const off of offs) off() }
  }
}

/** Partition, let `whileApart` change things, heal (HEAL_LINKS per node), and time until all tables agree. */
async function healTime (swarm: OfferSwarm, nodes: OfferNode[], whileApart: (left: OfferNode[], right: OfferNode[]) => Promise<void>): Promise<{ ms: number, dialMs: number, cut: number, held: number }> {
  const left = nodes.slice(0, 15)
  const right = nodes.slice(15)
  await swarm.partition(left, right)
  await whileApart(left, right)
  const watch = tableWatch(nodes)
  try {
    await waitFor('each side to agree', () => watch.same(left) && watch.same(right), { timeoutMs: 30_000 })
    const cut = swarm.cutLinks()
    const t0 = performance.now()
    await swarm.heal(left, right, { maxLinksPerNode: HEAL_LINKS })
    const dialMs = performance.now() - t0
    await waitFor('one table on all 30 nodes', () => watch.same(), { timeoutMs: 30_000, intervalMs: 5 })
    return { ms: performance.now() - t0, dialMs, cut, held: nodes[0]?.offers.list().length ?? 0 }
  } finally {
    watch.close()
  }
}

/** Every node re-announces (new capacity); one node per side withdraws. */
async function changeBothSides (left: OfferNode[], right: OfferNode[], round: number): Promise<void> {
  const nodes = [...left, ...right]
  for (const node of nodes) node.source.slots = { slotsTotal: 4, slotsIdle: round % 4 }
  await Promise.all(nodes.map(async n => await n.offers.announce()))
  await left[round]?.offers.withdraw()
  await right[round]?.offers.withdraw()
}

async function convergence (): Promise<void> {
  const { swarm, nodes } = await swarmOf(30)
  const known = await seeder(await foreignEntries(270))
  const fresh = await seeder(await foreignEntries(270))
  try {
    // A: all 300 offers known everywhere before the split; both sides change while apart
    await seed(nodes, known, 300)
    const a = await healTime(swarm, nodes, async (left, right) => { await changeBothSides(left, right, 1) })
    rows.push({
      metric: 'convergence after a partition heals (30 nodes, 300 offers)', value: a.ms, unit: 'ms', target: '< 2000 ms', pass: a.ms < 2000 && a.held === 298,
      detail: `all re-announced on both sides, 1 withdrawn per side; ${a.cut} links cut, ${HEAL_LINKS} per node re-dialled in ${round(a.dialMs)} ms; ${a.held} valid offers per node`
    })
    // B: 270 more offers reach only the right side while apart (each left node must pull and verify 285)
    const b = await healTime(swarm, nodes, async (left, right) => {
      await seed(right, fresh, 568)
      await changeBothSides(left, right, 2)
    })
    rows.push({
      metric: 'convergence, 270 offers new to one side (30 nodes, 570 offers)', value: b.ms, unit: 'ms', target: 'info', pass: b.held === 568,
      detail: `15 nodes × 285 pulled and verified in one process; ${HEAL_LINKS} links per node re-dialled in ${round(b.dialMs)} ms; ${b.held} valid offers per node`
    })
  } finally {
    await known.stop()
    await fresh.stop()
    await swarm.stop()
  }
}

async function memory (): Promise<void> {
  const { swarm, nodes } = await swarmOf(30)
  const extra = await seeder(await foreignEntries(2970))
  try {
    gc()
    const before = process.memoryUsage().heapUsed
    await seed(nodes, extra, 3000)
    await new Promise(resolve => setTimeout(resolve, 200)) // let the write-behind flush
    gc()
    const after = process.memoryUsage().heapUsed
    const perNode = (after - before) / nodes.length / 1024 / 1024
    rows.push({ metric: 'memory per node for 3,000 offers (30 nodes)', value: perNode, unit: 'MiB', target: '< 12 MiB', pass: perNode < 12, detail: `heap growth over the same swarm holding 30 offers; whole heap ${round(after / 1024 / 1024)} MiB for 30 nodes + seeder` })
  } finally {
    await extra.stop()
    await swarm.stop()
  }
}

async function lateJoiner (samples: number): Promise<void> {
  const { swarm, nodes } = await swarmOf(10)
  try {
    const ms: number[] = []
    for (let i = 0; i < samples; i++) {
      const [late] = await swarm.add(1, { ...NODE_OPTIONS, source: new TestSource({ models: [`late-${i}`] }) }) as [OfferNode]
      late.libp2p.services.pubsub.unsubscribe(OFFERS_TOPIC)
      const target = nodes[i % nodes.length] as OfferNode
      const t0 = performance.now()
      await late.libp2p.dial(target.address, { signal: AbortSignal.timeout(5000) })
      await waitFor('the late node to hold the swarm\'s offers', () => nodes.every(n => late.offers.get(n.peerId) !== undefined), { timeoutMs: 30_000, intervalMs: 2 })
      ms.push(performance.now() - t0)
      await late.stop()
    }
    const slowest = Math.max(...ms)
    rows.push({ metric: 'late joiner (sync only) holds a 10-node table, p50', value: median(ms), unit: 'ms', target: 'info', pass: true, detail: `dial included; n=${samples}` })
    rows.push({ metric: 'late joiner (sync only), slowest', value: slowest, unit: 'ms', target: '< 3000 ms', pass: slowest < 3000 })
  } finally {
    await swarm.stop()
  }
}

/** /agora/info/1 round trips from `from` to `to`, one every 250 ms (its rate limit is 5/s), until `until()` says stop. */
async function infoRtts (from: OfferNode, to: OfferNode, until: () => boolean): Promise<number[]> {
  const out: number[] = []
  while (!until()) {
    const t0 = performance.now()
    await from.info.request(to.peerId, { signal: AbortSignal.timeout(10_000) })
    out.push(performance.now() - t0)
    await new Promise(resolve => setTimeout(resolve, 250))
  }
  return out
}

async function flood (): Promise<void> {
  const swarm = new OfferSwarm()
  const network = { dht: { enabled: false } }
  try {
    const [victim] = await swarm.add(1, { network, offers: { perOriginPerMinute: 60 } }) as [OfferNode]
    const [flooder, honest] = await swarm.add(2, { network }) as [OfferNode, OfferNode]
    await swarm.connect(flooder, victim)
    await swarm.connect(honest, victim)
    await swarm.topicReady([flooder, honest], 1)
    let idleCount = 0
    const idle = await infoRtts(honest, victim, () => ++idleCount > 20)
    const pubsub = flooder.libp2p.services.pubsub
    const start = flooder.offers.local()?.lamport ?? 1
    let flooding = true
    const publishing = (async () => {
      for (let i = 1; i <= 3000; i++) {
        const payload = offerFor(flooder.peerId, { id: flooder.offers.stats().offerId, lamport: start + i, expiresAt: Date.now() + 60_000 })
        await pubsub.publish(OFFERS_TOPIC, encodeEnvelope(signEnvelope(flooder.identity, { kind: 'OFFER', payload })))
        await new Promise(resolve => setImmediate(resolve))
      }
    })().finally(() => { flooding = false })
    const during = await infoRtts(honest, victim, () => !flooding)
    await publishing
    const p99 = percentile(during, 99)
    rows.push({ metric: 'info round trip to a flooded node, p50', value: median(during), unit: 'ms', target: 'info', pass: true, detail: `idle p50 ${round(median(idle))} ms; n=${during.length} during a 3,000-offer flood` })
    rows.push({ metric: 'info round trip to a flooded node, p99', value: p99, unit: 'ms', target: '< 500 ms', pass: p99 < 500, detail: `idle p99 ${round(percentile(idle, 99))} ms` })
  } finally {
    await swarm.stop()
  }
}

const started = performance.now()
const only = process.env.BENCH_ONLY
for (const [name, phase] of [['propagation 10', async () => { await propagation(10, SAMPLES) }], ['propagation 30', async () => { await propagation(30, 2 * SAMPLES) }], ['convergence', convergence], ['memory', memory], ['late', async () => { await lateJoiner(Math.max(5, SAMPLES / 4)) }], ['flood', flood]] as const) {
  if (only !== undefined && !name.startsWith(only)) continue
  const t = performance.now()
  await phase()
  console.error(`${name}: ${round((performance.now() - t) / 1000)} s`)
}
report('offers', rows, { samples: SAMPLES, seconds: round((performance.now() - started) / 1000) })
process.exit(0)
