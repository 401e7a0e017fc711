/**
 * Part 2 of the market benchmark: payment proofs verified and booked per
 * second by a payee (`Payee.accept`: decode, signature, checks, the earn
 * posting, the proof stored, its receipts marked paid; synchronous=FULL).
 * - The bar, as measured since the market landed: one payer's proofs, a
 *   `durable()` every PROOF_BATCH.
 * - Beside it, same run: PAYERS payers at once, each sending its next
 *   proof once the last was answered (as a node's payment sender does),
 *   each answered after `durable()` as the node's PAYMENT handler does —
 *   one commit and one WAL sync per turn of the event loop for all of them.
 *   Each payer's rows (its receipts, its account, its proofs) sit on pages
 *   of their own, so a commit of many payers' proofs writes several times
 *   the log a commit of one payer's does (measured with /proc/self/io:
 *   ~40 KB against ~12 KB per proof, checkpoints included).
 * - Bare Ed25519 verifications of the same signed bytes.
 */
import { verify as cryptoVerify } from 'node:crypto'
import { decodeEnvelope, generateIdentity, encodeEnvelope, peerIdToPublicKey, signingBytes, type NodeIdentity } from '../src/identity/index.ts'
import { Escrow } from '../src/market/escrow/index.ts'
import type { Ledger } from '../src/market/ledger/index.ts'
import { Payee, Payer } from '../src/market/payments/index.ts'
import { silentLogger } from '../src/observability/logger.ts'
import type { Database } from '../src/store/index.ts'

export const PAYERS = 32
const PROOF_BATCH = 64

/** A rate by the wall clock (the bar) and per CPU-second of this process (what one idle core would do; this machine is shared). */
export interface Rate { wall: number, cpu: number }

export interface ProofRig {
  freshDb: () => Database
  startedLedger: (db: Database, synchronous: 'FULL' | 'NORMAL') => Ledger
  startClock: () => (count: number) => Rate
}

interface PayerProofs { identity: NodeIdentity, proofs: Uint8Array[] }

/** `payer` buys from the payee: `count` proofs of `receipts` receipts each, signed in order (the payee has issued every receipt). */
async function prepare (rig: ProofRig, payer: NodeIdentity, self: string, payee: Payee, ledger: Ledger, count: number, receipts: number): Promise<PayerProofs> {
  const db = rig.freshDb()
  const payerLedger = rig.startedLedger(db, 'NORMAL')
  const books = new Payer({ db, ledger: payerLedger, identity: payer, logger: silentLogger() })
  const escrow = new Escrow({ db, ledger: payerLedger, logger: silentLogger(), owed: books })
  const proofs: Uint8Array[] = []
  for (let p = 0; p < count; p++) {
    escrow.hold(`h${p}`, receipts * 1000)
    for (let k = 0; k < receipts; k++) {
      const receiptId = `task:${p.toString(36)}-${k}#1`
      payee.issue({ receiptId, buyer: payer.peerIdString, amount: 1000 })
      escrow.capture({ holdId: `h${p}`, receiptId, seller: self, amount: 1000 })
    }
    const proof = books.next(self)
    if (proof === undefined) throw new Error('no proof')
    books.acknowledged(self, proof.nonce)
    proofs.push(encodeEnvelope(proof.envelope))
    if (p % 100 === 99) await Promise.all([payerLedger.durable(), ledger.durable()])
  }
  await Promise.all([payerLedger.durable(), ledger.durable()])
  db.close()
  return { identity: payer, proofs }
}

export interface ProofRates {
  /** PAYERS payers at once, the handler's path. */
  served: Rate[]
  /** One payer, a durable() every PROOF_BATCH. */
  single: Rate[]
  /** Bare Ed25519 verifications of the same bytes. */
  verifies: Rate[]
}

/** `perRun` proofs of `receipts` receipts each per run and mode, `runs` runs. */
export async function proofRates (rig: ProofRig, runs: number, perRun: number, receipts: number): Promise<ProofRates> {
  const self = await generateIdentity()
  const db = rig.freshDb()
  const ledger = rig.startedLedger(db, 'FULL')
  const payee = new Payee({ db, ledger }, { self: self.peerIdString })
  const perPayer = Math.ceil(perRun / PAYERS)
  const warm = 8
  const payers: PayerProofs[] = []
  for (let i = 0; i < PAYERS; i++) payers.push(await prepare(rig, await generateIdentity(), self.peerIdString, payee, ledger, warm + perPayer * runs, receipts))
  const lone = await prepare(rig, await generateIdentity(), self.peerIdString, payee, ledger, warm * PAYERS + perRun * runs, receipts)
  // what the PAYMENT handler does for each request, PAYERS requests in flight
  const served = async (from: number, to: number): Promise<Rate> => {
    const stop = rig.startClock()
    await Promise.all(payers.map(async ({ proofs }) => {
      for (let i = from; i < to; i++) {
        if (payee.accept(proofs[i] as Uint8Array).outcome !== 'applied') throw new Error('proof not applied')
        await ledger.durable()
      }
    }))
    return stop((to - from) * PAYERS)
  }
  const single = async (from: number, to: number): Promise<Rate> => {
    const stop = rig.startClock()
    for (let i = from; i < to; i++) {
      payee.accept(lone.proofs[i] as Uint8Array)
      if ((i - from) % PROOF_BATCH === PROOF_BATCH - 1) await ledger.durable()
    }
    await ledger.durable()
    return stop(to - from)
  }
  await served(0, warm)
  await single(0, warm * PAYERS)
  const key = peerIdToPublicKey(lone.identity.peerIdString)
  const signed = lone.proofs.map(bytes => {
    const { sig, ...unsigned } = decodeEnvelope(bytes)
    return { data: signingBytes(unsigned), sig: Buffer.from(sig, 'base64url') }
  })
  const rates: ProofRates = { served: [], single: [], verifies: [] }
  for (let run = 0; run < runs; run++) {
    rates.served.push(await served(warm + run * perPayer, warm + (run + 1) * perPayer))
    const from = warm * PAYERS + run * perRun
    rates.single.push(await single(from, from + perRun))
    const stop = rig.startClock()
    for (let i = from; i < from + perRun; i++) {
      const s = signed[i] as { data: Uint8Array, sig: Buffer }
      if (!cryptoVerify(null, s.data, key, s.sig)) throw new Error('bad signature')
    }
    rates.verifies.push(stop(perRun))
  }
  db.close()
  return rates
}
