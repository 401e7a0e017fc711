/**
 * Search part of the packages benchmark, over a synthetic catalogue of
 * COUNT signed packages (realistic names, descriptions and tags from a
 * fixed seed, bench/lib.ts `seeded`; 20 publishers of random reputation):
 *
 * (a) local search: one store holding the whole catalogue, SearchIndex
 *     answering a mix of one- and two-word queries, prefixes, kind filters
 *     and the no-text listing. Bar: p50 < 20 ms. Baselines, same run, same
 *     table: a plain `SELECT … LIMIT 20` and a bare FTS5 `MATCH … LIMIT 20`
 *     without ranking.
 * (b) across 5 nodes (real libp2p on loopback, a fifth of the catalogue on
 *     each, no anti-entropy): PackageSearch on one node asks the 4 others
 *     over /agora/search/1, verifies and stores every envelope they send,
 *     and ranks — each query new to the asker. Bar: p95 < 500 ms. Baseline:
 *     the bare reqresp round trip (an empty request and answer) to a peer.
 * (c) publish → found: 10 nodes with gossip and anti-entropy (each dials
 *     the 3 after it, a ring with chords); a node signs a new manifest,
 *     takes it into its catalogue and gossips it (catalog `announce`); the
 *     time until a local search on another node, not its neighbour, finds
 *     it. Bar: p95 < 2 s. Baseline: the bare reqresp round trip from the
 *     finding node to one of its neighbours (one hop of the path).
 *
 * Alone: PATH=$PWD/node_modules/.bin:$PATH node bench/packages-search.ts
 * (BENCH_SEARCH_PACKAGES=n, default 10000; BENCH_SEARCH_QUERIES=n local
 * queries, default 400; BENCH_RUNS=n network searches and publishes,
 * default 60; BENCH_ONLY=local|nodes|found runs one part.)
 */
import { z } from 'zod'
import { generateIdentity, type NodeIdentity } from '../src/identity/index.ts'
import type { Manifest } from '../src/packages/manifest.ts'
import { signPackage } from '../src/packages/package-envelope.ts'
import { PackageRepository } from '../src/packages/repository.ts'
import { SearchIndex } from '../src/packages/search-index.ts'
import { defineProtocol, type ReqResp } from '../src/protocols/index.ts'
import { openStore } from '../src/store/index.ts'
import { connectNodes } from '../test/harness/libp2p-nodes.ts'
import { manifestFor, syntheticFields } from '../test/harness/search-catalog.ts'
import { createSearchNodes, type SearchNode } from '../test/harness/search-nodes.ts'
import { waitFor } from '../test/harness/wait.ts'
import { median, percentile, report, round, seeded, timeMs, type BenchRow } from './lib.ts'
import type { Envelope } from '../src/identity/index.ts'

const SUBJECTS = ['summarize', 'translate', 'classify', 'extract', 'rewrite', 'chat', 'sql', 'sentiment', 'ocr', 'rag', 'agent', 'router', 'embed', 'vision', 'speech', 'legal', 'medical', 'finance', 'support']
const FAMILIES = ['llama', 'mistral', 'qwen', 'phi', 'gemma', 'falcon', 'olmo', 'granite']
const LANGS = ['en', 'de', 'fr', 'es', 'ja', 'zh', 'pt', 'it', 'nl', 'ko']

interface SignedPackage { cid: string, manifest: Manifest, envelope: Envelope, bytes: Uint8Array, publisher: string }

/** The bare round trip the network figures stand beside. */
const pingProtocol = defineProtocol({
  id: '/agora/bench/ping/1',
  request: z.object({}).strict(),
  response: z.object({}).strict(),
  maxRequestBytes: 64,
  maxResponseBytes: 64,
  rateLimit: { perSecond: 100_000, burst: 100_000 }
})

async function catalogue (count: number): Promise<{ packages: SignedPackage[], publishers: NodeIdentity[], reputation: (peer: string) => number }> {
  const random = seeded(15)
  const publishers = await Promise.all(Array.from({ length: 20 }, async () => await generateIdentity()))
  const reputations = new Map(publishers.map(p => [p.peerIdString, round(0.2 + 0.7 * random())]))
  const packages: SignedPackage[] = []
  for (let i = 0; i < count; i++) {
    const identity = publishers[i % publishers.length] as NodeIdentity
    const manifest = manifestFor(identity.peerIdString, syntheticFields(random, i))
    const { envelope, cid, bytes } = await signPackage(identity, manifest)
    packages.push({ cid: cid.toString(), manifest, envelope, bytes, publisher: identity.peerIdString })
  }
  return { packages, publishers, reputation: peer => reputations.get(peer) ?? 0.5 }
}

function fill (repository: PackageRepository, db: { exec: (sql: string) => void }, packages: readonly SignedPackage[]): void {
  db.exec('BEGIN')
  for (const p of packages) repository.put({ cid: p.cid, manifest: p.manifest, envelope: p.envelope, bytes: p.bytes }, Date.now(), [p.publisher])
  db.exec('COMMIT')
}

/** Queries as users type them: one word, two words, a prefix, a kind filter, nothing. */
function queries (count: number): Array<{ text: string, kind?: Manifest['kind'] }> {
  const random = seeded(42)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
  return Array.from({ length: count }, (_, i) => {
    switch (i % 6) {
      case 0: return { text: pick(SUBJECTS) }
      case 1: return { text: `${pick(SUBJECTS)} ${pick(FAMILIES)}` }
      case 2: return { text: pick(SUBJECTS).slice(0, 4) }
      case 3: return { text: `${pick(FAMILIES)} ${pick(LANGS)}`, kind: 'prompt' }
      case 4: return { text: `pub${Math.floor(random() * 97)}/${pick(SUBJECTS)}` }
      default: return { text: '' }
    }
  })
}

async function localRows (packages: readonly SignedPackage[], reputation: (peer: string) => number): Promise<BenchRow[]> {
  const store = openStore(':memory:')
  try {
    const db = store.db.sqlite
    fill(new PackageRepository(db), db, packages)
    const index = new SearchIndex({ db, reputation }, { self: 'bench-self' })
    const plain = db.prepare('SELECT cid, name, version, description FROM packages WHERE kind = ? LIMIT 20')
    const bareFts = db.prepare('SELECT p.cid, p.name FROM packages_fts JOIN packages p ON p.rowid = packages_fts.rowid WHERE packages_fts MATCH ? LIMIT 20')
    const mix = queries(Number(process.env.BENCH_SEARCH_QUERIES ?? 400))
    for (const q of mix.slice(0, 50)) index.search(q) // warm-up
    const ranked: number[] = []
    const selects: number[] = []
    const matches: number[] = []
    let found = 0
    for (const q of mix) {
      ranked.push(await timeMs(() => { found += index.search(q).length }))
      selects.push(await timeMs(() => plain.all(q.kind ?? 'prompt')))
      matches.push(await timeMs(() => bareFts.all(q.text === '' ? '"en"' : `"${q.text.split(/[^a-z0-9]+/)[0] ?? 'en'}"*`)))
    }
    const p50 = median(ranked)
    return [{
      metric: `local search p50, ${packages.length} packages`,
      value: p50,
      unit: 'ms',
      target: '< 20 ms',
      pass: p50 < 20,
      detail: `p95 ${round(percentile(ranked, 95))} ms; baseline plain SELECT … LIMIT 20 p50 ${round(median(selects), 3)} ms, bare FTS5 MATCH … LIMIT 20 p50 ${round(median(matches), 3)} ms; ${mix.length} queries, ${round(found / mix.length, 1)} results each`
    }]
  } finally {
    store.close()
  }
}

async function ping (reqresp: ReqResp, peer: string): Promise<number> {
  return await timeMs(async () => await reqresp.request(peer, pingProtocol, {}))
}

async function servePing (nodes: readonly SearchNode[]): Promise<void> {
  await Promise.all(nodes.map(async n => { await n.reqresp.handle(pingProtocol, async () => ({})) }))
}

async function nodesRows (packages: readonly SignedPackage[], runs: number): Promise<BenchRow[]> {
  const swarm = await createSearchNodes(5, { catalog: false, perPeerPerMinute: 1_000_000, timeoutMs: 3000 })
  try {
    const [asker, ...holders] = swarm.nodes as [SearchNode, ...SearchNode[]]
    swarm.nodes.forEach((node, n) => { fill(node.repository, node.store.db.sqlite, packages.filter((_, i) => i % swarm.nodes.length === n)) })
    await servePing(holders)
    await Promise.all(holders.map(async holder => { await connectNodes(asker.node, holder.node) }))
    // two-word queries, each new to the asker: every envelope it gets is verified and stored
    const mix = SUBJECTS.flatMap(s => FAMILIES.map(f => `${s} ${f}`)).slice(0, runs + 5)
    for (const text of mix.slice(0, 5)) await asker.search.search({ text })
    const searches: number[] = []
    const pings: number[] = []
    let answered = 0
    for (const text of mix.slice(5)) {
      pings.push(await ping(asker.reqresp, (holders[searches.length % holders.length] as SearchNode).peerId))
      searches.push(await timeMs(async () => { answered += (await asker.search.search({ text })).peersAnswered }))
    }
    const p95 = percentile(searches, 95)
    return [{
      metric: `search across 5 nodes p95, ${packages.length} packages`,
      value: p95,
      unit: 'ms',
      target: '< 500 ms',
      pass: p95 < 500,
      detail: `p50 ${round(median(searches))} ms; baseline bare reqresp round trip p50 ${round(median(pings), 3)} ms, p95 ${round(percentile(pings, 95), 3)} ms; ${searches.length} searches, ${round(answered / searches.length, 1)} of 4 peers answered each`
    }]
  } finally {
    await swarm.stop()
  }
}

/** (c) alone. */
export async function foundRows (runs = Number(process.env.BENCH_RUNS ?? 60)): Promise<BenchRow[]> {
  const swarm = await createSearchNodes(10, { perPeerPerMinute: 1_000_000 })
  try {
    const nodes = swarm.nodes
    await servePing(nodes)
    const links: Array<Promise<void>> = []
    for (let i = 0; i < nodes.length; i++) {
      for (let d = 1; d <= 3; d++) links.push(connectNodes((nodes[i] as SearchNode).node, (nodes[(i + d) % nodes.length] as SearchNode).node))
    }
    await Promise.all(links)
    await waitFor('every node to see packages-topic peers', () => nodes.every(n => n.gossip.topicPeers('/agora/packages/1').length >= 3), { timeoutMs: 30_000 })
    const found: number[] = []
    const pings: number[] = []
    for (let run = 0; run < runs + 3; run++) {
      const from = nodes[run % nodes.length] as SearchNode
      // five steps round the ring: never a neighbour
      const to = nodes[(run + 5) % nodes.length] as SearchNode
      const word = `zq${run}x${Date.now().toString(36)}`
      const started = performance.now()
      await from.publish({ name: `bench/found-${run}-${word}`, description: `found ${word}`, tags: [word] })
      await waitFor(`node ${(run + 5) % nodes.length} to find ${word}`, async () => (await to.search.search({ text: word, localOnly: true })).results.length > 0, { timeoutMs: 30_000, intervalMs: 5 })
      const took = performance.now() - started
      if (run >= 3) {
        found.push(took)
        pings.push(await ping(to.reqresp, (nodes[(run + 6) % nodes.length] as SearchNode).peerId))
      }
    }
    const p95 = percentile(found, 95)
    return [{
      metric: 'publish → found on another node of 10, p95',
      value: p95,
      unit: 'ms',
      target: '< 2000 ms',
      pass: p95 < 2000,
      detail: `p50 ${round(median(found))} ms; baseline reqresp round trip to a neighbour p50 ${round(median(pings), 3)} ms; ${found.length} publishes`
    }]
  } finally {
    await swarm.stop()
  }
}

/**
 * (a) local, (b) across 5 nodes, (c) publish → found. BENCH_ONLY=search
 * runs (a) and (b); found, local or nodes runs that part alone.
 */
export async function searchRows (): Promise<BenchRow[]> {
  const only = process.env.BENCH_ONLY ?? ''
  const runs = Number(process.env.BENCH_RUNS ?? 60)
  const rows: BenchRow[] = []
  const wants = (part: 'local' | 'nodes' | 'found'): boolean => only === '' || only === part || (only === 'search' && part !== 'found')
  if (wants('local') || wants('nodes')) {
    const { packages, reputation } = await catalogue(Number(process.env.BENCH_SEARCH_PACKAGES ?? 10_000))
    if (wants('local')) rows.push(...await localRows(packages, reputation))
    if (wants('nodes')) rows.push(...await nodesRows(packages, runs))
  }
  if (wants('found')) rows.push(...await foundRows(runs))
  return rows
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  report('packages-search', await searchRows())
}
