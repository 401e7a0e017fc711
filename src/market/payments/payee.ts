/**
 * The payee side of payments (docs/market.md "Payments"): receipts this node
 * signed are recorded with `issue`; a payer's PAYMENT proof is checked —
 * signature and addressee, epoch, nonce = last + 1, cumulative = last +
 * the receipts listed, each of them issued by us to this payer and paid at
 * most up to its amount (in full at once, or in parts: a buyer may hold part
 * of a provisional result's pay back for an audit), root chained on — and
 * then booked (the earn posting) in the same commit that stores the proof.
 * Every proof is kept, not only the last.
 *
 * No age window applies: a proof is resent unchanged until acknowledged and
 * may be old; the nonce is the replay protection. A proof identical to one
 * accepted before (the last, or an older one arriving late) is answered
 * 'duplicate' and changes nothing; a different one under a used nonce is
 * refused. Wait for `ledger.durable()` before answering OK.
 */
import { AgoraError } from '../../errors.ts'
import { decodeEnvelope, parseEnvelope, verifySignatureOnly, type Envelope } from '../../identity/index.ts'
import { formatCredits, type Micro } from '../amount.ts'
import { assertAmount, earnPosting, type Ledger } from '../ledger/index.ts'
import type { Database } from '../../store/index.ts'
import { GENESIS_ROOT, MAX_RECEIPT_ID_LENGTH, PAYMENT_EPOCH } from './constants.ts'
import { PayeeRepository, type IssuedRow, type ReceivedRow } from './payee-repository.ts'
import { chainRoot, paymentRefused, parsePaymentPayload, payloadDigest, type PaymentProof, type PaymentRule } from './proof.ts'
import { checkedVoid } from './void.ts'

export interface PayeeComponents {
  db: Database
  ledger: Ledger
}

export interface PayeeInit {
  /** This node's peer id: proofs must be addressed to it. */
  self: string
  now?: () => number
}

export interface VoidOutcome {
  outcome: 'applied' | 'duplicate'
  payer: string
  receiptId: string
  amount: Micro
}

export interface AcceptedProof {
  outcome: 'applied' | 'duplicate'
  payer: string
  nonce: number
  cumulative: Micro
  /** What this proof paid (0 for a duplicate). */
  amount: Micro
  receipts: number
}

interface PayerBook {
  nonce: number
  cumulative: Micro
  root: string
  digest: string
  /** Digests of proofs accepted since the last commit (not readable from disk yet). */
  recent: Map<number, string>
}

export class Payee {
  private readonly ledger: Ledger
  private readonly repo: PayeeRepository
  private readonly self: string
  private readonly now: () => number
  /** Unpaid receipts per buyer, plus those paid since the last commit. */
  private issued = new Map<string, Map<string, IssuedRow>>()
  private unpaidBy = new Map<string, Micro>()
  private voidedBy = new Map<string, Micro>()
  private paidPending: IssuedRow[] = []
  private books = new Map<string, PayerBook>()
  /** Books with digests in `recent`. */
  private readonly dirty = new Set<PayerBook>()

  constructor (components: PayeeComponents, init: PayeeInit) {
    this.ledger = components.ledger
    this.repo = new PayeeRepository(components.db)
    this.self = init.self
    this.now = init.now ?? Date.now
    this.load()
    components.ledger.onReload(() => this.load())
    components.ledger.onCommit(() => this.committed())
  }

  /** Record a receipt this node signed for `buyer` (before handing it over); idempotent; E1123 when the id was issued with other terms. */
  issue (receipt: { receiptId: string, buyer: string, amount: Micro }): 'applied' | 'duplicate' {
    assertAmount(receipt.amount, 'receipt')
    if (typeof receipt.receiptId !== 'string' || receipt.receiptId.length === 0 || receipt.receiptId.length > MAX_RECEIPT_ID_LENGTH) {
      throw new AgoraError('E1123', 'a receipt needs an id', { why: `1 to ${MAX_RECEIPT_ID_LENGTH} characters, got ${JSON.stringify(receipt.receiptId)}` })
    }
    const before = this.issued.get(receipt.buyer)?.get(receipt.receiptId) ?? this.repo.issued(receipt.buyer, receipt.receiptId)
    if (before !== undefined) {
      if (before.amount === receipt.amount) return 'duplicate'
      throw new AgoraError('E1123', `receipt ${receipt.receiptId} was issued before for ${formatCredits(before.amount)} credits`, {
        why: `now ${formatCredits(receipt.amount)}`, details: { receiptId: receipt.receiptId, buyer: receipt.buyer }
      })
    }
    const row: IssuedRow = { buyer: receipt.buyer, id: receipt.receiptId, amount: receipt.amount, paid: 0, voided: 0, paidNonce: null }
    this.remember(row)
    this.unpaidBy.set(row.buyer, (this.unpaidBy.get(row.buyer) ?? 0) + row.amount)
    const at = this.now()
    this.ledger.write(() => this.repo.issue(row, at))
    return 'applied'
  }

  /**
   * Check and book a payer's proof (wire bytes or a decoded envelope). Throws
   * the refusal with `details.rule`: E110/E111 (bytes), E113 (kind), E117
   * (addressee), E112 (signature), E1117 (malformed, payer), E1100 (an
   * amount), E1120 (epoch, nonce, cumulative lowered, root), E1121 (receipts).
   */
  accept (input: Uint8Array | Envelope): AcceptedProof {
    const envelope = this.verified(input)
    const { payload, proof } = parsePaymentPayload(envelope.payload)
    const ctx = { payer: envelope.from, nonce: proof.nonce }
    if (proof.payer !== envelope.from) throw paymentRefused('E1117', 'payer', 'payment proof signed by another node than its payer', `payer ${proof.payer}, signed by ${envelope.from}`, ctx)
    if (proof.payer === this.self) throw paymentRefused('E1117', 'payer', 'payment proof from this node to itself', 'a node does not pay itself', ctx)
    if (proof.payee !== this.self) throw paymentRefused('E117', 'addressee', 'payment proof for another payee', `it pays ${proof.payee}`, ctx)
    if (proof.epoch !== PAYMENT_EPOCH) throw paymentRefused('E1120', 'epoch', `payment proof of epoch ${proof.epoch}`, `this node accepts epoch ${PAYMENT_EPOCH}`, ctx)
    const book = this.book(proof.payer)
    const digest = payloadDigest(payload)
    if (proof.nonce <= book.nonce) {
      const stored = proof.nonce === book.nonce ? book.digest : book.recent.get(proof.nonce) ?? this.repo.digestOf(proof.payer, proof.epoch, proof.nonce)
      if (stored === digest) return { outcome: 'duplicate', payer: proof.payer, nonce: proof.nonce, cumulative: proof.cumulative, amount: 0, receipts: proof.receipts.length }
      const rule: PaymentRule = proof.nonce === book.nonce ? 'replayed' : 'backwards'
      throw paymentRefused('E1120', rule, `payment proof ${proof.nonce} differs from the one accepted under that nonce`, `the last accepted is ${book.nonce}; a nonce is used once`, ctx)
    }
    if (proof.nonce > book.nonce + 1) throw paymentRefused('E1120', 'skipped', `payment proof ${proof.nonce} skips a nonce`, `the next one is ${book.nonce + 1}`, ctx)
    if (proof.cumulative < book.cumulative) {
      throw paymentRefused('E1120', 'cumulative-lowered', 'payment proof lowers the cumulative amount', `${formatCredits(proof.cumulative)} < ${formatCredits(book.cumulative)} credits`, ctx)
    }
    const paid = this.checkReceipts(proof, ctx)
    let sum = 0n
    for (const receipt of proof.receipts) sum += BigInt(receipt.amount)
    if (BigInt(book.cumulative) + sum !== BigInt(proof.cumulative)) {
      throw paymentRefused('E1121', 'sum', 'payment proof amounts do not add up',
        `${formatCredits(book.cumulative)} + ${formatCredits(sum)} listed ≠ cumulative ${formatCredits(proof.cumulative)} credits`, ctx)
    }
    const ids = proof.receipts.map(r => r.id)
    if (chainRoot(book.root, ids) !== proof.root) throw paymentRefused('E1120', 'root', 'payment proof root does not chain on the last one', 'root ≠ sha256(previous root ‖ ids)', ctx)
    const amount = Number(sum)
    const at = this.now()
    // the earn key and the stored proof share one commit, so the key is new whenever the nonce is: no lookup
    if (this.ledger.post(earnPosting({ payer: proof.payer, epoch: proof.epoch, nonce: proof.nonce, amount, at }), { absent: true }) === 'duplicate') {
      return { outcome: 'duplicate', payer: proof.payer, nonce: proof.nonce, cumulative: proof.cumulative, amount: 0, receipts: ids.length }
    }
    const whole: string[] = []
    const parts: IssuedRow[] = []
    for (let i = 0; i < paid.length; i++) {
      const row = paid[i] as IssuedRow
      const part = (proof.receipts[i] as { amount: Micro }).amount
      this.unpaidBy.set(row.buyer, (this.unpaidBy.get(row.buyer) ?? 0) - part)
      // paid in full by this proof alone: one statement for all of them; a part: a row of its own
      if (row.paid === 0 && part === row.amount) whole.push(row.id)
      else parts.push(row)
      row.paid += part
      if (row.paid + row.voided === row.amount) {
        row.paidNonce = proof.nonce
        this.paidPending.push(row)
      }
    }
    Object.assign(book, { nonce: proof.nonce, cumulative: proof.cumulative, root: proof.root, digest })
    book.recent.set(proof.nonce, digest)
    this.dirty.add(book)
    const stored: ReceivedRow = { epoch: proof.epoch, nonce: proof.nonce, cumulative: proof.cumulative, root: proof.root, digest, envelope: JSON.stringify(envelope), receivedAt: at }
    // copies: the rows in memory may take another part before the commit writes these
    const partRows = parts.map(row => ({ ...row }))
    this.ledger.write(() => this.repo.insertProof(proof.payer, stored, whole, partRows))
    return { outcome: 'applied', payer: proof.payer, nonce: proof.nonce, cumulative: proof.cumulative, amount, receipts: ids.length }
  }

  /** Receipts issued to `buyer` that no proof has paid yet (less what its VOIDs settled). */
  unpaid (buyer: string): Micro {
    return this.unpaidBy.get(buyer) ?? 0
  }

  /** What `buyer`'s VOIDs settled of receipts issued to it: neither paid nor unpaid. */
  voided (buyer: string): Micro {
    return this.voidedBy.get(buyer) ?? 0
  }

  /**
   * Check and book a payer's VOID (wire bytes or a decoded envelope): the
   * receipt it names was issued by us to its signer (else E1391), and the
   * amount is at most what is still unpaid of it (else E1392); then that
   * much of the receipt is settled by the VOID, which is kept. A VOID of a
   * receipt voided before for the same amount is 'duplicate' and changes
   * nothing; for another amount, E1393. Also E110–E117 and E1390
   * (src/market/payments/void.ts). Wait for `ledger.durable()` before
   * answering OK.
   */
  applyVoid (input: Uint8Array | Envelope): VoidOutcome {
    const { envelope, payload, amount } = checkedVoid(input, this.self)
    const buyer = envelope.from
    const details = { payer: buyer, receiptId: payload.receiptId }
    const row = this.issued.get(buyer)?.get(payload.receiptId) ?? this.repo.issued(buyer, payload.receiptId)
    if (row === undefined) throw new AgoraError('E1391', `VOID of receipt ${payload.receiptId}`, { why: 'this node issued no such receipt to the payer', details })
    const outcome = { payer: buyer, receiptId: row.id, amount }
    if (row.voided > 0) {
      if (row.voided === amount) return { ...outcome, outcome: 'duplicate' }
      throw new AgoraError('E1393', `VOID of receipt ${row.id} for ${formatCredits(amount)} credits`, { why: `it was voided before for ${formatCredits(row.voided)}`, details })
    }
    const left = row.paidNonce === null ? row.amount - row.paid : 0
    if (amount > left) {
      throw new AgoraError('E1392', `VOID of receipt ${row.id} for ${formatCredits(amount)} credits`, {
        why: `it was issued for ${formatCredits(row.amount)}, of which ${formatCredits(row.amount - left)} is paid: ${formatCredits(left)} is left`, details
      })
    }
    row.voided = amount
    this.unpaidBy.set(buyer, (this.unpaidBy.get(buyer) ?? 0) - amount)
    this.voidedBy.set(buyer, (this.voidedBy.get(buyer) ?? 0) + amount)
    // settled: forgotten here once the commit has it, as a receipt paid in full is
    if (row.paid + row.voided === row.amount) this.paidPending.push(row)
    const at = this.now()
    const json = JSON.stringify(envelope)
    this.ledger.write(() => { this.repo.void(buyer, row.id, amount, json, at) })
    return { ...outcome, outcome: 'applied' }
  }

  /** The VOID booked against a receipt issued to `buyer` (evidence), if any. */
  voidOf (buyer: string, receiptId: string): Envelope | undefined {
    this.ledger.flush()
    const json = this.repo.voidEnvelope(buyer, receiptId)
    return json === undefined ? undefined : parseEnvelope(JSON.parse(json))
  }

  /** The last proof accepted from `payer` (nonce 0: none yet). */
  last (payer: string): { nonce: number, cumulative: Micro, root: string } {
    const book = this.book(payer)
    return { nonce: book.nonce, cumulative: book.cumulative, root: book.root }
  }

  /** Every proof accepted from `payer`, oldest first (evidence for a dispute). */
  received (payer: string, limit = 1000): ReceivedRow[] {
    this.ledger.flush()
    return this.repo.received(payer, limit)
  }

  private verified (input: Uint8Array | Envelope): Envelope {
    let envelope: Envelope
    try {
      envelope = input instanceof Uint8Array ? decodeEnvelope(input) : parseEnvelope(input)
    } catch (err) {
      throw withRule(err, 'malformed')
    }
    const ctx = { payer: envelope.from }
    if (envelope.kind !== 'PAYMENT') throw paymentRefused('E113', 'kind', `unexpected ${envelope.kind} envelope`, 'a payment carries a PAYMENT envelope', ctx)
    if (envelope.to !== this.self) throw paymentRefused('E117', 'addressee', 'PAYMENT envelope addressed to another node', `it is for ${envelope.to ?? 'nobody'}`, ctx)
    try {
      return verifySignatureOnly(envelope)
    } catch (err) {
      throw withRule(err, 'signature')
    }
  }

  /** The issued receipts the proof lists, each with room for what it pays (E1121 naming the first that has not). */
  private checkReceipts (proof: PaymentProof, ctx: Record<string, unknown>): IssuedRow[] {
    if (proof.receipts.length === 0) throw paymentRefused('E1121', 'empty', 'payment proof lists no receipts', 'a proof pays for at least one receipt', ctx)
    const seen = new Set<string>()
    const rows: IssuedRow[] = []
    const issued = this.issued.get(proof.payer)
    // details are built only for a refusal: this loop runs per receipt of every proof
    const details = (receiptId: string): Record<string, unknown> => ({ ...ctx, receiptId })
    for (const receipt of proof.receipts) {
      if (seen.has(receipt.id)) throw paymentRefused('E1121', 'duplicate-receipt', `payment proof lists receipt ${receipt.id} twice`, 'each receipt is paid once', details(receipt.id))
      seen.add(receipt.id)
      const row = issued?.get(receipt.id)
      if (row === undefined || row.paidNonce !== null) {
        const known = row ?? this.repo.issued(proof.payer, receipt.id)
        const rule: PaymentRule = known === undefined ? 'unknown-receipt' : 'already-paid'
        const why = known === undefined
          ? 'this node issued no such receipt to the payer'
          : known.paidNonce === null ? `it is settled: ${formatCredits(known.paid)} paid, ${formatCredits(known.voided)} voided` : `it was paid by proof ${String(known.paidNonce)}`
        throw paymentRefused('E1121', rule, `payment proof covers receipt ${receipt.id}`, why, details(receipt.id))
      }
      // the whole price at once, or a part of what is left of it (a buyer that held part back for an audit)
      if (receipt.amount > row.amount - row.paid - row.voided || (receipt.amount === 0 && row.amount > 0)) {
        const why = row.paid === 0 && row.voided === 0
          ? `it was issued for ${formatCredits(row.amount)}`
          : `it was issued for ${formatCredits(row.amount)}, of which ${formatCredits(row.paid)} is paid and ${formatCredits(row.voided)} voided`
        throw paymentRefused('E1121', 'amount', `payment proof pays receipt ${receipt.id} ${formatCredits(receipt.amount)} credits`, why, details(receipt.id))
      }
      rows.push(row)
    }
    return rows
  }

  private book (payer: string): PayerBook {
    let book = this.books.get(payer)
    if (book === undefined) {
      const row = this.repo.last(payer, PAYMENT_EPOCH)
      book = row === undefined
        ? { nonce: 0, cumulative: 0, root: GENESIS_ROOT, digest: '', recent: new Map() }
        : { nonce: row.nonce, cumulative: row.cumulative, root: row.root, digest: row.digest, recent: new Map() }
      this.books.set(payer, book)
    }
    return book
  }

  private remember (row: IssuedRow): void {
    let byId = this.issued.get(row.buyer)
    if (byId === undefined) {
      byId = new Map()
      this.issued.set(row.buyer, byId)
    }
    byId.set(row.id, row)
  }

  /** What was paid since the last commit is on disk now: forget it here. */
  private committed (): void {
    for (const row of this.paidPending) this.issued.get(row.buyer)?.delete(row.id)
    this.paidPending = []
    for (const book of this.dirty) book.recent.clear()
    this.dirty.clear()
  }

  /** From disk: at start, and after a failed commit dropped the queued rows. */
  private load (): void {
    this.issued = new Map()
    this.unpaidBy = new Map()
    for (const row of this.repo.unpaid()) {
      this.remember(row)
      this.unpaidBy.set(row.buyer, (this.unpaidBy.get(row.buyer) ?? 0) + row.amount - row.paid - row.voided)
    }
    this.voidedBy = new Map(this.repo.voidedTotals().map(({ buyer, voided }) => [buyer, voided]))
    this.paidPending = []
    this.books = new Map()
    this.dirty.clear()
  }
}

function withRule (err: unknown, rule: PaymentRule): unknown {
  return err instanceof AgoraError ? paymentRefused(err.code, rule, err.what, err.why ?? '', { ...err.details }) : err
}
