/**
 * Part 3 of bench/verify.bench.ts: DECIDE latency. Ten real libp2p nodes on
 * loopback, all verifiers, node 0 also the coordinator; K = 3 (quorumSize
 * of 10). Each round all ten attest one result of a fresh thread; measured
 * from the first ATTEST (the first commitment signed) to the moment the
 * last of the ten books the DECIDE. Backends side by side, same nodes:
 * quorum (the decider publishes at once) and etcd (the decider's
 * compare-and-set on a real etcd first).
 */
import { EtcdDecider, quorumSize } from '../src/verify/index.ts'
import { startEtcd } from '../test/harness/etcd.ts'
import { verifyNodes, type VerifyNode } from '../test/harness/verify-nodes.ts'
import { within } from '../test/harness/wait.ts'
import { median, percentile, round, type BenchRow } from './lib.ts'

const NODES = 10
const HASH = 'a'.repeat(64)

async function rounds (nodes: VerifyNode[], backend: string, count: number): Promise<number[]> {
  const samples: number[] = []
  const worker = nodes[NODES - 1]?.peerId as string
  for (let r = 0; r < count; r++) {
    const thread = `${backend}-${r}`
    const seen = Promise.all(nodes.map(async v => await new Promise<void>(resolve => {
      const off = v.network.onDecision(decision => {
        if (decision.thread !== thread) return
        off()
        resolve()
      })
    })))
    const started = performance.now()
    await Promise.all(nodes.map(async v => { await v.network.attest({ thread, epoch: 1, subtask: 's', worker, resultHash: HASH, verdict: 'valid' }) }))
    await within(`round ${r} (${backend}) to be decided everywhere`, seen, 30_000)
    samples.push(performance.now() - started)
  }
  return samples
}

function row (backend: string, samples: number[], detail = ''): BenchRow {
  const p95 = percentile(samples, 95)
  return {
    metric: `DECIDE latency, first ATTEST → DECIDE seen by all ${NODES} verifiers (${backend}), p95`,
    value: p95,
    unit: 'ms',
    target: '< 2000 ms',
    pass: p95 < 2000,
    detail: `p50 ${round(median(samples))} ms, max ${round(Math.max(...samples))} ms; ${samples.length} rounds; K = ${quorumSize(NODES)}${detail}`
  }
}

export async function decideLatency (count: number): Promise<BenchRow[]> {
  const rows: BenchRow[] = []
  const k = quorumSize(NODES)
  const quorum = await verifyNodes({ count: NODES, k, decider: 0 })
  try {
    await rounds(quorum.nodes, 'warm', 3)
    rows.push(row('quorum', await rounds(quorum.nodes, 'quorum', count)))
  } finally {
    await quorum.stop()
  }
  let etcd
  try {
    etcd = await startEtcd()
  } catch (err) {
    rows.push({ metric: `DECIDE latency (etcd), p95`, value: Number.NaN, unit: 'ms', target: '< 2000 ms', pass: false, detail: `etcd could not start: ${(err as Error).message}` })
    return rows
  }
  const decider = new EtcdDecider({ endpoints: [etcd.endpoint], prefix: `/agora/bench-${Date.now()}` })
  const withEtcd = await verifyNodes({ count: NODES, k, decider: 0, etcd: decider })
  try {
    await rounds(withEtcd.nodes, 'warm', 3)
    rows.push(row('etcd', await rounds(withEtcd.nodes, 'etcd', count), '; one compare-and-set on a real etcd per decision'))
  } finally {
    await withEtcd.stop()
    decider.close()
    await etcd.stop()
  }
  return rows
}
