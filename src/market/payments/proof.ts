/**
 * The PAYMENT proof's one schema and its pieces: the payload on the wire
 * (amounts as six-decimal strings), the hash chain over receipt ids, the
 * digest that tells an identical proof from a different one with the same
 * nonce, and the refusals with the rule each one broke. The payee runs these
 * for every proof it books, so they avoid per-call overheads where it counts.
 *
 *   root_n = sha256(root_{n−1} ‖ for each id: u32be(byte length) ‖ UTF-8 id)
 *
 * (length-prefixed so no two lists of ids chain to the same bytes; root_0 is
 * 32 zero bytes).
 */
import { hash } from 'node:crypto'
import { z } from 'zod'
import { AgoraError, type ErrorCode } from '../../errors.ts'
import { MICRO_PER_CREDIT, parseCredits, type Micro } from '../amount.ts'
import { MAX_RECEIPT_ID_LENGTH, MAX_RECEIPTS_PER_PROOF } from './constants.ts'

/** The six-decimal wire form (amount.ts creditsWire; its range is checked by parseCredits). */
const WIRE_AMOUNT = /^(\d{1,10})\.(\d{6})$/
const peerId = z.string().regex(/^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/, 'expected an Ed25519 peer id (12D3KooW…)')
const counter = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)

export const paymentPayloadSchema = z.object({
  payer: peerId,
  payee: peerId,
  epoch: counter,
  /** 1 for the first proof of the pair, then +1 each. */
  nonce: counter,
  /** Everything the payer has ever owed the payee, "12.500000". */
  cumulative: z.string(),
  /** Hex sha256 hash chain over the receipt ids of every proof so far. */
  root: z.string().regex(/^[0-9a-f]{64}$/, 'expected 32 bytes in lowercase hex'),
  /** The receipts captured since the previous proof. */
  receipts: z.array(z.object({ id: z.string().min(1).max(MAX_RECEIPT_ID_LENGTH), amount: z.string() }).strict()).max(MAX_RECEIPTS_PER_PROOF)
}).strict()

/** The payload as signed. */
export type PaymentPayload = z.infer<typeof paymentPayloadSchema>

/** The payload with amounts in micro-credits. */
export interface PaymentProof {
  payer: string
  payee: string
  epoch: number
  nonce: number
  cumulative: Micro
  root: string
  receipts: Array<{ id: string, amount: Micro }>
}

/** The rule a refused proof broke (the caller counts it against the payer). */
export type PaymentRule =
  | 'malformed' | 'kind' | 'addressee' | 'signature' | 'payer' | 'amount-format'
  | 'epoch' | 'backwards' | 'skipped' | 'replayed' | 'cumulative-lowered' | 'root'
  | 'empty' | 'duplicate-receipt' | 'unknown-receipt' | 'already-paid' | 'amount' | 'sum'

export function chainRoot (previous: string, ids: readonly string[]): string {
  // one buffer, one hash update: per-call overhead dominates for short ids
  let size = 32
  for (const id of ids) size += 4 + Buffer.byteLength(id, 'utf8')
  const bytes = Buffer.allocUnsafe(size)
  bytes.write(previous, 0, 32, 'hex')
  let at = 32
  for (const id of ids) {
    const length = bytes.write(id, at + 4, 'utf8')
    bytes.writeUInt32BE(length, at)
    at += 4 + length
  }
  return hash('sha256', bytes, 'hex')
}

/**
 * What tells one proof from another under the same nonce, however it was
 * re-encoded or re-signed: sha256 over its fields. The ids are in the root
 * (a hash chain over them), so the amounts beside it are enough.
 */
export function payloadDigest (payload: PaymentPayload): string {
  let text = `${payload.payer}|${payload.payee}|${payload.epoch}|${payload.nonce}|${payload.cumulative}|${payload.root}`
  for (const receipt of payload.receipts) text += `|${receipt.amount}`
  return hash('sha256', text, 'hex')
}

/** The payload of a PAYMENT envelope, checked (E1117 'malformed', E1100 'amount-format'). */
export function parsePaymentPayload (value: unknown): { payload: PaymentPayload, proof: PaymentProof } {
  const result = paymentPayloadSchema.safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]
    const field = issue === undefined || issue.path.length === 0 ? '(payload)' : issue.path.map(String).join('.')
    throw paymentRefused('E1117', 'malformed', `malformed payment proof: field ${field}`, issue?.message ?? 'invalid')
  }
  const payload = result.data
  const proof: PaymentProof = {
    payer: payload.payer,
    payee: payload.payee,
    epoch: payload.epoch,
    nonce: payload.nonce,
    cumulative: wireAmount(payload.cumulative, 'cumulative'),
    root: payload.root,
    receipts: payload.receipts.map(r => ({ id: r.id, amount: wireAmount(r.amount, `amount of receipt ${r.id}`) }))
  }
  return { payload, proof }
}

/** An amount on the wire: exactly six decimals (E1100 saying why otherwise). */
export function wireAmount (text: string, what: string): Micro {
  const match = WIRE_AMOUNT.exec(text)
  if (match !== null) {
    // exact in doubles: whole < 2^34, so whole × 10^6 + fraction stays exact up to the safe range checked here
    const whole = Number(match[1])
    const fraction = Number(match[2])
    const micro = whole * MICRO_PER_CREDIT + fraction
    if (Number.isSafeInteger(micro)) return micro
  }
  try {
    parseCredits(text, what)
  } catch (err) {
    if (err instanceof AgoraError) throw paymentRefused('E1100', 'amount-format', err.what, err.why ?? 'invalid')
    throw err
  }
  throw paymentRefused('E1100', 'amount-format', `invalid ${what}: ${JSON.stringify(text)}`, 'amounts on the wire have exactly six decimals, e.g. "0.500000"')
}

/** A refused proof: the code, and in details the rule it broke. */
export function paymentRefused (code: ErrorCode, rule: PaymentRule, what: string, why: string, details: Record<string, unknown> = {}): AgoraError {
  return new AgoraError(code, what, { why, details: { ...details, rule } })
}

/** The rule behind a refusal from `Payee.accept`, if it is one. */
export function refusedRule (err: unknown): PaymentRule | undefined {
  if (!(err instanceof AgoraError)) return undefined
  const rule = err.details?.rule
  return typeof rule === 'string' ? rule as PaymentRule : undefined
}
