/**
 * Reputation costs. (1) The pure formula as the simulator runs it: AGENTS
 * agents each folding OBS observations with `observe` (no I/O). (2)
 * `PeerBook.record` on a file-backed store (read, decay, write, ban check),
 * against the bare counter update `PeersRepository.recordOutcome` on the
 * same store as the baseline. (3) `appSpecificScore`, which gossipsub calls
 * for every peer once per heartbeat. Medians over ROUNDS rounds.
 */
import { rmSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { median, report, round } from './lib.ts'
import { AgoraEvents } from '../src/events.ts'
import { silentLogger } from '../src/observability/logger.ts'
import { PeerBook, observe, type BetaState, type Outcome } from '../src/peers/index.ts'
import { openStore } from '../src/store/index.ts'

const AGENTS = 10_000
const OBS = 100
const PEERS = 1000
const RECORDS = Number(process.env.BENCH_RECORDS ?? 20_000)
const ROUNDS = 5
const OUTCOMES: Outcome[] = ['success', 'success', 'success', 'failure', 'timeout', 'success', 'invalid', 'success']
const HALF_LIFE = 6 * 60 * 60 * 1000

function pureRound (): number {
  const states: Array<BetaState | undefined> = new Array(AGENTS)
  const start = performance.now()
  for (let o = 0; o < OBS; o++) {
    const now = o * 1000
    for (let a = 0; a < AGENTS; a++) states[a] = observe(states[a], OUTCOMES[(a + o) % OUTCOMES.length] as Outcome, now, HALF_LIFE)
  }
  return (AGENTS * OBS) / ((performance.now() - start) / 1000)
}

const dir = mkdtempSync(join(tmpdir(), 'agora-bench-'))
try {
  const store = openStore(join(dir, 'agora.db'))
  // minObservations out of reach: measure the update path, not a pile of bans
  const book = new PeerBook({ peers: store.peers, events: new AgoraEvents(), logger: silentLogger() }, { minObservations: 1_000_000 })
  const ids = Array.from({ length: PEERS }, (_, i) => `peer-${i}`)
  for (const id of ids) store.peers.seen(id, ['/ip4/127.0.0.1/tcp/4001'])
  const rate = (count: number, ms: number): number => count / (ms / 1000)

  pureRound()
  const pure: number[] = []
  const record: number[] = []
  const baseline: number[] = []
  const score: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    pure.push(pureRound())
    let start = performance.now()
    for (let i = 0; i < RECORDS; i++) store.peers.recordOutcome(ids[i % PEERS] as string, OUTCOMES[i % OUTCOMES.length] as Outcome)
    baseline.push(rate(RECORDS, performance.now() - start))
    start = performance.now()
    for (let i = 0; i < RECORDS; i++) book.record(ids[i % PEERS] as string, OUTCOMES[i % OUTCOMES.length] as Outcome)
    record.push(rate(RECORDS, performance.now() - start))
    start = performance.now()
    for (let i = 0; i < RECORDS; i++) book.appSpecificScore(ids[i % PEERS] as string)
    score.push(rate(RECORDS, performance.now() - start))
  }
  store.close()
  const recordRate = median(record)
  const baselineRate = median(baseline)
  report('reputation', [
    { metric: `observe() (pure), ${AGENTS} agents × ${OBS}`, value: median(pure), unit: 'obs/s', target: '> 1,000,000', pass: median(pure) > 1_000_000 },
    { metric: 'PeerBook.record (file store)', value: recordRate, unit: 'rec/s', target: '> 10,000', pass: recordRate > 10_000, detail: `baseline recordOutcome ${round(baselineRate)} /s, ratio ${round(baselineRate / recordRate)}×` },
    { metric: 'appSpecificScore', value: median(score), unit: 'calls/s', target: '> 50,000', pass: median(score) > 50_000 }
  ], { agents: AGENTS, observationsPerAgent: OBS, peers: PEERS, records: RECORDS, rounds: ROUNDS })
} finally {
  rmSync(dir, { recursive: true, force: true })
}
