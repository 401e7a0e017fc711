/**
 * Market benchmark, one core, file databases in a temp dir:
 * 1. ledger postings per second, durable: rounds of hold, capture, release
 *    (three postings) on the Ledger, group-committed with synchronous=FULL,
 *    BATCH rounds per turn of the event loop, each turn awaiting durable() —
 *    bar ≥ 20,000/s; beside it, same run: the same postings with
 *    synchronous=NORMAL, a single-row INSERT loop (one row per posting, same
 *    transactions, FULL) as the floor SQLite sets, and the same rounds through
 *    Escrow (hold rows, owed receipts) for information;
 * 2. payment proofs verified and booked per second (Payee.accept from wire
 *    bytes), one payer — bar ≥ 5,000/s; beside it PAYERS payers at once as
 *    the PAYMENT handler serves them, and bare Ed25519 verifications per
 *    second of the same signed bytes (bench/market-proofs.ts);
 * 3. the cost of paying: no-op subtasks/s of a priced job (budget held,
 *    each receipt captured, proofs sent and booked) against the same job
 *    free, interleaved run by run, coordinator in process and two sets of
 *    three worker daemons that differ only in their price — bar ≥ 0.9×
 *    (bench/market-pay.ts);
 * 4. a direct request round between two nodes on loopback (real libp2p,
 *    stores on disk): request → accept → one delivery → payment — bar p50
 *    < 5 ms; baseline: the bare /agora/info/1 round trip on the same
 *    connection, same run (bench/market-direct.ts).
 * Figures are medians over RUNS runs after a warm-up, by the wall clock (the
 * bars); the detail adds the rate per CPU-second of the process, which is
 * what one idle core does when the machine is shared (fsync waits are not CPU).
 *
 * Run: PATH=$PWD/node_modules/.bin:$PATH node bench/market.bench.ts
 * (BENCH_ONLY=ledger|payments|pay|direct runs one part; BENCH_RUNS=n; BENCH_NOOP_COUNT=n for part 3; BENCH_ROUNDS=n for part 4.)
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { Escrow } from '../src/market/escrow/index.ts'
import { capturePosting, holdPosting, Ledger, releasePosting } from '../src/market/ledger/index.ts'
import { silentLogger } from '../src/observability/logger.ts'
import { Database } from '../src/store/index.ts'
import { tempDir } from '../test/harness/temp.ts'
import { median, report, round, type BenchRow } from './lib.ts'
import { directRoundTrips } from './market-direct.ts'
import { PAYERS, proofRates, type Rate } from './market-proofs.ts'
import { payCost } from './market-pay.ts'

const RUNS = Number(process.env.BENCH_RUNS ?? 5)
/** Rounds (hold, capture, release) per run. */
const ROUNDS = 10_000
/** Rounds per turn of the event loop (one group commit). */
const BATCH = 100
const PROOFS = 1_500
const RECEIPTS_PER_PROOF = 16
const GRANT = 1_000_000 * 1_000_000
const SELLER = '12D3KooWSeLLerSeLLerSeLLerSeLLerSeLLerSeLLerSeLLer'
const rows: BenchRow[] = []
const dir = tempDir('agora-bench-market-')
let files = 0

function freshDb (): Database {
  return new Database({ path: join(dir, `bench-${files++}.db`) })
}

function startedLedger (db: Database, synchronous: 'FULL' | 'NORMAL'): Ledger {
  const ledger = new Ledger({ db, logger: silentLogger() }, { grant: GRANT, synchronous })
  ledger.start()
  return ledger
}

/** Start timing; the returned function turns a count into rates. */
function startClock (): (count: number) => Rate {
  const wall = performance.now()
  const cpu = process.cpuUsage()
  return (count: number) => {
    const used = process.cpuUsage(cpu)
    return { wall: count / ((performance.now() - wall) / 1000), cpu: count / ((used.user + used.system) / 1e6) }
  }
}

/** Postings per second of `rounds` hold/capture/release rounds on the bare ledger. */
async function ledgerRate (synchronous: 'FULL' | 'NORMAL'): Promise<Rate> {
  const db = freshDb()
  const ledger = startedLedger(db, synchronous)
  await ledger.durable()
  const stop = startClock()
  for (let i = 0; i < ROUNDS; i += BATCH) {
    for (let j = i; j < i + BATCH; j++) {
      ledger.post(holdPosting(`h${j}`, 1000))
      ledger.post(capturePosting({ holdId: `h${j}`, receiptId: `r${j}`, seller: SELLER, amount: 600 }))
      ledger.post(releasePosting(`h${j}`, 400))
    }
    await ledger.durable()
  }
  const rate = stop(3 * ROUNDS)
  db.close()
  return rate
}

/** The same rounds through Escrow: hold rows and owed receipts ride the same commits. */
async function escrowRate (): Promise<Rate> {
  const db = freshDb()
  const ledger = startedLedger(db, 'FULL')
  const escrow = new Escrow({ db, ledger, logger: silentLogger(), owed: { owe: () => {} } })
  await ledger.durable()
  const stop = startClock()
  for (let i = 0; i < ROUNDS; i += BATCH) {
    for (let j = i; j < i + BATCH; j++) {
      escrow.hold(`h${j}`, 1000)
      escrow.capture({ holdId: `h${j}`, receiptId: `r${j}`, seller: SELLER, amount: 600 })
      escrow.release(`h${j}`)
    }
    await ledger.durable()
  }
  const rate = stop(3 * ROUNDS)
  db.close()
  return rate
}

/** The floor: one single-row INSERT per posting, in the same transactions, synchronous=FULL. */
function insertRate (): Rate {
  const db = freshDb()
  db.sqlite.exec('CREATE TABLE bench_rows (id INTEGER PRIMARY KEY, key TEXT NOT NULL, amount INTEGER NOT NULL)')
  const insert = db.sqlite.prepare('INSERT INTO bench_rows (key, amount) VALUES (?, ?)')
  const stop = startClock()
  for (let i = 0; i < ROUNDS; i += BATCH) {
    db.sqlite.exec('PRAGMA synchronous = FULL')
    db.sqlite.exec('BEGIN IMMEDIATE')
    for (let j = 0; j < 3 * BATCH; j++) insert.run(`k${3 * i + j}`, j)
    db.sqlite.exec('COMMIT')
    db.sqlite.exec('PRAGMA synchronous = NORMAL')
  }
  const rate = stop(3 * ROUNDS)
  db.close()
  return rate
}

async function ledgerPostings (): Promise<void> {
  await ledgerRate('FULL') // warm-up
  const full: Rate[] = []
  const normal: Rate[] = []
  const inserts: Rate[] = []
  const escrow: Rate[] = []
  for (let run = 0; run < RUNS; run++) {
    full.push(await ledgerRate('FULL'))
    normal.push(await ledgerRate('NORMAL'))
    inserts.push(insertRate())
    escrow.push(await escrowRate())
  }
  const rate = median(full.map(r => r.wall))
  const detail = `${ROUNDS} rounds × 3, ${BATCH} rounds (${3 * BATCH} postings) per commit; runs ${full.map(r => round(r.wall, 0)).join(', ')}; ${perCpu(full)}`
  rows.push({ metric: 'ledger postings/s (hold, capture, release), synchronous=FULL', value: rate, unit: '/s', target: '≥ 20000/s', pass: rate >= 20_000, detail })
  rows.push({ metric: 'baseline: the same postings, synchronous=NORMAL', value: median(normal.map(r => r.wall)), unit: '/s', target: 'info', pass: true, detail: `FULL is ${round(100 * rate / median(normal.map(r => r.wall)), 0)} % of it; ${perCpu(normal)}` })
  rows.push({ metric: 'baseline: single-row INSERT loop, same transactions, FULL', value: median(inserts.map(r => r.wall)), unit: '/s', target: 'info', pass: true, detail: `one row per posting (a posting writes 3-5 rows); ${perCpu(inserts)}` })
  rows.push({ metric: 'escrow rounds as postings/s (holds and owed rows too), FULL', value: median(escrow.map(r => r.wall)), unit: '/s', target: 'info', pass: true, detail: perCpu(escrow) })
}

function perCpu (rates: Rate[]): string {
  return `${round(median(rates.map(r => r.cpu)), 0)} per CPU-second`
}

async function paymentProofs (): Promise<void> {
  const rig = { freshDb, startedLedger, startClock }
  const { served, single, verifies } = await proofRates(rig, RUNS, PROOFS, RECEIPTS_PER_PROOF)
  const rate = median(single.map(r => r.wall))
  const verify = median(verifies.map(r => r.wall))
  rows.push({
    metric: `payment proofs verified and booked/s (${RECEIPTS_PER_PROOF} receipts each), FULL`,
    value: rate,
    unit: '/s',
    target: '≥ 5000/s',
    pass: rate >= 5_000,
    detail: `${PROOFS} proofs per run from one payer, durable() every 64; runs ${single.map(r => round(r.wall, 0)).join(', ')}; ${perCpu(single)}`
  })
  rows.push({ metric: `the same, ${PAYERS} payers at once, each proof answered after durable()`, value: median(served.map(r => r.wall)), unit: '/s', target: 'info', pass: true, detail: `runs ${served.map(r => round(r.wall, 0)).join(', ')}; ${perCpu(served)}` })
  rows.push({ metric: 'baseline: bare Ed25519 verifications/s (node:crypto), same bytes', value: verify, unit: '/s', target: 'info', pass: true, detail: `a proof costs ${round(verify / rate, 1)}× a bare verify; ${perCpu(verifies)}` })
  const small = await proofRates(rig, RUNS, PROOFS, 1)
  const smallRate = median(small.single.map(r => r.wall))
  rows.push({ metric: 'payment proofs of 1 receipt verified and booked/s, FULL', value: smallRate, unit: '/s', target: 'info', pass: true, detail: `${round(median(small.verifies.map(r => r.wall)) / smallRate, 1)}× a bare verify; ${PAYERS} payers at once: ${round(median(small.served.map(r => r.wall)), 0)}/s; ${perCpu(small.single)}` })
}

/** Part 3: the cost of paying — a priced no-op job against the same job free, same run. */
async function costOfPaying (): Promise<void> {
  const { free, paid, count, cpu } = await payCost(RUNS, Number(process.env.BENCH_NOOP_COUNT ?? 3000))
  const ratio = median(paid) / median(free)
  const cores = (share: { coordinator: number, workers: number, others: number }): string => `cores: coordinator ${round(share.coordinator)}, workers ${round(share.workers)}, others ${round(share.others)}`
  rows.push({ metric: 'no-op subtasks/s, free job (baseline)', value: median(free), unit: 'subtasks/s', target: 'baseline', pass: true, detail: `runs ${free.map(v => round(v, 0)).join(', ')} (${count} subtasks, 3 workers); ${cores(cpu.free)}` })
  rows.push({ metric: 'no-op subtasks/s, priced job (held, captured, paid)', value: median(paid), unit: 'subtasks/s', target: 'info', pass: true, detail: `runs ${paid.map(v => round(v, 0)).join(', ')}; ${cores(cpu.paid)}` })
  rows.push({ metric: 'priced / free', value: ratio, unit: 'x', target: '>= 0.9', pass: ratio >= 0.9 })
}

/** Part 4: direct request rounds on loopback (FULL, as nodes run; NORMAL beside it shows what the fsyncs cost). */
async function directRequests (): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 300)
  rows.push(...await directRoundTrips({ rounds }))
  rows.push(...await directRoundTrips({ rounds, synchronous: 'NORMAL' }))
}

const started = performance.now()
const only = process.env.BENCH_ONLY
try {
  for (const [name, phase] of [['ledger', ledgerPostings], ['payments', paymentProofs], ['pay', costOfPaying], ['direct', directRequests]] as const) {
    if (only !== undefined && !name.startsWith(only)) continue
    const t = performance.now()
    await phase()
    console.error(`${name}: ${round((performance.now() - t) / 1000)} s`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
report('market', rows, { runs: RUNS, seconds: round((performance.now() - started) / 1000) })
