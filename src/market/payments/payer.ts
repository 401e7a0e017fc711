/**
 * The payer side of payments (docs/market.md "Payments"): receipts this node
 * captured are owed to their payee until an acknowledged proof covers them.
 * `next(payee)` signs the next cumulative proof — or returns the outstanding
 * one again, unchanged, until the payee acknowledges it; only then is the
 * next one signed, so the payee never sees two proofs with one nonce.
 *
 * A proof is stored in the ledger's group commit after the captures it
 * lists: wait for `ledger.durable()` before sending it, so a crash cannot
 * make this node sign a different proof under a nonce the payee has seen.
 */
import { signEnvelope, parseEnvelope, type Envelope, type NodeIdentity } from '../../identity/index.ts'
import type { AgoraLogger, Logger } from '../../observability/logger.ts'
import type { Database } from '../../store/index.ts'
import { addMicro, formatCredits, type Micro } from '../amount.ts'
import type { Ledger } from '../ledger/index.ts'
import { GENESIS_ROOT, MAX_RECEIPTS_PER_PROOF, PAYMENT_EPOCH } from './constants.ts'
import { PayerRepository, type OwedRow, type SentRow } from './payer-repository.ts'
import { chainRoot, parsePaymentPayload, type PaymentPayload } from './proof.ts'

export interface PayerComponents {
  db: Database
  ledger: Ledger
  identity: NodeIdentity
  logger: AgoraLogger
}

export interface PayerInit {
  /** Receipts one proof lists at most (default 512). */
  maxReceiptsPerProof?: number
  now?: () => number
}

/** A proof this node signed for a payee. */
export interface SentProof {
  payee: string
  epoch: number
  nonce: number
  cumulative: Micro
  /** What this proof adds: the sum of its receipts. */
  amount: Micro
  receipts: number
  envelope: Envelope
}

/** Where the payer stands with one payee. */
export interface PayeeState {
  payee: string
  /** The last proof the payee acknowledged (nonce 0: none yet). */
  acked: { nonce: number, cumulative: Micro, root: string }
  /** The proof signed and not acknowledged yet (resent unchanged). */
  outstanding: SentProof | undefined
  /** When `next()` last handed out the outstanding proof. */
  sentAt: number | undefined
  /** Captured receipts that no proof lists yet: count, total, and when the oldest was captured. */
  unlisted: number
  unlistedAmount: Micro
  oldestAt: number | undefined
}

interface Book {
  acked: { nonce: number, cumulative: Micro, root: string }
  outstanding: SentProof | undefined
  sentAt: number | undefined
  unlisted: OwedRow[]
  unlistedAmount: Micro
}

export class Payer {
  private readonly ledger: Ledger
  private readonly repo: PayerRepository
  private readonly identity: NodeIdentity
  private readonly log: Logger
  private readonly maxReceipts: number
  private readonly now: () => number
  private books = new Map<string, Book>()

  constructor (components: PayerComponents, init: PayerInit = {}) {
    this.ledger = components.ledger
    this.repo = new PayerRepository(components.db)
    this.identity = components.identity
    this.log = components.logger.forComponent('agora:market:payer')
    this.maxReceipts = Math.min(init.maxReceiptsPerProof ?? MAX_RECEIPTS_PER_PROOF, MAX_RECEIPTS_PER_PROOF)
    this.now = init.now ?? Date.now
    this.load()
    components.ledger.onReload(() => this.load())
  }

  /** A captured receipt, now owed to `payee` (Escrow calls this once per applied capture, in the same commit). */
  owe (receipt: { receiptId: string, payee: string, amount: Micro, at: number, partOf?: string | undefined }): void {
    const book = this.book(receipt.payee)
    book.unlisted.push({ id: receipt.receiptId, amount: receipt.amount, at: receipt.at, partOf: receipt.partOf })
    book.unlistedAmount += receipt.amount
    this.ledger.write(() => this.repo.owe(receipt.receiptId, receipt.payee, receipt.amount, receipt.at, receipt.partOf))
  }

  /** The proof to send `payee` now: the outstanding one again, or a new one over the unlisted receipts; undefined when nothing is owed. */
  next (payee: string): SentProof | undefined {
    const book = this.book(payee)
    const now = this.now()
    if (book.outstanding !== undefined) {
      book.sentAt = now
      return book.outstanding
    }
    if (book.unlisted.length === 0) return undefined
    const receipts = proofBatch(book.unlisted, this.maxReceipts)
    let amount = 0
    for (const r of receipts) amount = addMicro(amount, r.amount, 'payment proof')
    const cumulative = addMicro(book.acked.cumulative, amount, 'cumulative payment')
    const nonce = book.acked.nonce + 1
    const listed = receipts.map(r => r.partOf ?? r.id)
    const root = chainRoot(book.acked.root, listed)
    const payload: PaymentPayload = {
      payer: this.identity.peerIdString,
      payee,
      epoch: PAYMENT_EPOCH,
      nonce,
      cumulative: formatCredits(cumulative),
      root,
      receipts: receipts.map(r => ({ id: r.partOf ?? r.id, amount: formatCredits(r.amount) }))
    }
    const envelope = signEnvelope(this.identity, { kind: 'PAYMENT', payload, to: payee }, now)
    const proof: SentProof = { payee, epoch: PAYMENT_EPOCH, nonce, cumulative, amount, receipts: receipts.length, envelope }
    // the batch is the oldest rows unless a second part of a receipt waited for the next proof
    if (receipts.every((r, i) => book.unlisted[i] === r)) book.unlisted.splice(0, receipts.length)
    else {
      const taken = new Set(receipts)
      book.unlisted = book.unlisted.filter(r => !taken.has(r))
    }
    book.unlistedAmount -= amount
    const ids = receipts.map(r => r.id)
    book.outstanding = proof
    book.sentAt = now
    const row: SentRow = { epoch: PAYMENT_EPOCH, nonce, cumulative, root, envelope: JSON.stringify(envelope), ackedAt: null }
    this.ledger.write(() => this.repo.insertProof(payee, row, ids, now))
    this.log.debug({ payee, nonce, cumulative: formatCredits(cumulative), receipts: receipts.length }, 'payment proof signed')
    return proof
  }

  /** The payee answered OK to proof `nonce`: it is covered, and the next proof may be signed. False when that is not the outstanding proof. */
  acknowledged (payee: string, nonce: number): boolean {
    const book = this.book(payee)
    const proof = book.outstanding
    if (proof === undefined || proof.nonce !== nonce) return false
    const root = (proof.envelope.payload as PaymentPayload).root
    book.acked = { nonce, cumulative: proof.cumulative, root }
    book.outstanding = undefined
    book.sentAt = undefined
    const at = this.now()
    this.ledger.write(() => this.repo.acked(payee, proof.epoch, nonce, at))
    return true
  }

  state (payee: string): PayeeState {
    const book = this.book(payee)
    return {
      payee,
      acked: { ...book.acked },
      outstanding: book.outstanding,
      sentAt: book.sentAt,
      unlisted: book.unlisted.length,
      unlistedAmount: book.unlistedAmount,
      oldestAt: book.unlisted[0]?.at
    }
  }

  /** Payees owed something no acknowledged proof covers. */
  payees (): string[] {
    return [...this.books].filter(([, book]) => book.outstanding !== undefined || book.unlisted.length > 0).map(([payee]) => payee)
  }

  /** The latest proof signed for `payee` (outstanding, else the last acknowledged). */
  lastSent (payee: string): { nonce: number, cumulative: Micro } {
    const book = this.book(payee)
    return book.outstanding !== undefined
      ? { nonce: book.outstanding.nonce, cumulative: book.outstanding.cumulative }
      : { nonce: book.acked.nonce, cumulative: book.acked.cumulative }
  }

  /** Every proof sent to `payee`, oldest first (evidence for a dispute). */
  sent (payee: string, limit = 1000): SentRow[] {
    this.ledger.flush()
    return this.repo.sent(payee, limit)
  }

  private book (payee: string): Book {
    let book = this.books.get(payee)
    if (book === undefined) {
      book = this.loadBook(payee)
      this.books.set(payee, book)
    }
    return book
  }

  private loadBook (payee: string): Book {
    const acked = this.repo.lastAcked(payee, PAYMENT_EPOCH)
    const open = this.repo.outstanding(payee, PAYMENT_EPOCH)
    const unlisted = this.repo.unlisted(payee)
    return {
      acked: acked === undefined ? { nonce: 0, cumulative: 0, root: GENESIS_ROOT } : { nonce: acked.nonce, cumulative: acked.cumulative, root: acked.root },
      outstanding: open === undefined ? undefined : sentProof(payee, open),
      sentAt: undefined,
      unlisted,
      unlistedAmount: unlisted.reduce((sum, r) => sum + r.amount, 0)
    }
  }

  /** Start (and after a failed commit) from disk: the payees with something open are loaded, the rest on first use. */
  private load (): void {
    this.books = new Map()
    for (const payee of this.repo.openPayees()) this.books.set(payee, this.loadBook(payee))
  }
}

/**
 * The owed rows the next proof lists, oldest first, at most `max`: a proof
 * names a receipt once, so a second part of a receipt already in the batch
 * waits for the next proof.
 */
function proofBatch (unlisted: readonly OwedRow[], max: number): OwedRow[] {
  const batch: OwedRow[] = []
  let parts: Set<string> | undefined
  for (const row of unlisted) {
    if (batch.length === max) break
    // ids are tracked only from the first part on: whole receipts alone (the common case) need no set
    if (row.partOf !== undefined || parts !== undefined) {
      parts ??= new Set(batch.map(r => r.id))
      const listed = row.partOf ?? row.id
      if (parts.has(listed)) continue
      parts.add(listed)
    }
    batch.push(row)
  }
  return batch
}

function sentProof (payee: string, row: SentRow): SentProof {
  const envelope = parseEnvelope(JSON.parse(row.envelope))
  const { proof } = parsePaymentPayload(envelope.payload)
  const amount = proof.receipts.reduce((sum, r) => sum + r.amount, 0)
  return { payee, epoch: row.epoch, nonce: row.nonce, cumulative: row.cumulative, amount, receipts: proof.receipts.length, envelope }
}
