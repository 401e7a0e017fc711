/**
 * The VOID message's one schema (docs/market.md "Voided parts"): the payer
 * of a receipt tells its payee that a part of it will never be paid — the
 * part a coordinator held back from a provisional result and forfeited when
 * the result's audit disagreed. Signed by the payer as its PAYMENT proofs
 * are, addressed to the payee, carried by /agora/market/1 (`void`).
 */
import { z } from 'zod'
import { AgoraError } from '../../errors.ts'
import { decodeEnvelope, parseEnvelope, signEnvelope, verifySignatureOnly, type Envelope, type NodeIdentity } from '../../identity/index.ts'
import { creditsWire, formatCredits, type Micro } from '../amount.ts'
import { MAX_RECEIPT_ID_LENGTH } from './constants.ts'
import { wireAmount } from './proof.ts'

const peerId = z.string().regex(/^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/, 'expected an Ed25519 peer id (12D3KooW…)')
/** A result hash as the coordinator recorded it (sha256 hex on the wire of /agora/jobs; evidence only, so any short string). */
const hashHex = z.string().min(1).max(128)
const shortId = z.string().min(1).max(128)

/** Why a part is voided: the audit of a provisional result (which subtask, the hashes that disagreed). */
export const voidReasonSchema = z.object({
  kind: z.literal('audit'),
  jobId: shortId,
  subtaskId: shortId,
  /** The worker's result hash. */
  resultHash: hashHex,
  /** The auditor's own result hash; absent when the part is forfeited with another of the worker's that disagreed. */
  auditHash: hashHex.optional(),
  /** `disagreed`: this part's audit; `with-another`: forfeited with the worker's other part that disagreed. */
  audited: z.enum(['disagreed', 'with-another'])
}).strict()

export const voidPayloadSchema = z.object({
  payer: peerId,
  payee: peerId,
  receiptId: z.string().min(1).max(MAX_RECEIPT_ID_LENGTH),
  /** The part of the receipt voided, "0.020000". */
  amount: creditsWire,
  reason: voidReasonSchema
}).strict()

export type VoidReason = z.infer<typeof voidReasonSchema>
export type VoidPayload = z.infer<typeof voidPayloadSchema>

export interface VoidInput {
  payee: string
  receiptId: string
  amount: Micro
  reason: VoidReason
}

/** Sign a VOID from this node (the receipt's payer) to `payee`. */
export function signVoid (identity: NodeIdentity, input: VoidInput, now: number = Date.now()): Envelope {
  const payload: VoidPayload = { payer: identity.peerIdString, payee: input.payee, receiptId: input.receiptId, amount: formatCredits(input.amount), reason: input.reason }
  return signEnvelope(identity, { kind: 'VOID', payload, to: input.payee }, now)
}

/**
 * A VOID as it arrived (wire bytes or a decoded envelope), checked for
 * shape, kind, addressee and signature: E110/E111 (bytes), E113 (kind),
 * E117 (addressee), E112 (signature), E1390 (malformed payload, or a payer
 * other than its signer), E1100 (the amount).
 */
export function checkedVoid (input: Uint8Array | Envelope, self: string): { envelope: Envelope, payload: VoidPayload, amount: Micro } {
  const envelope = input instanceof Uint8Array ? decodeEnvelope(input) : parseEnvelope(input)
  if (envelope.kind !== 'VOID') throw new AgoraError('E113', `unexpected ${envelope.kind} envelope`, { why: 'a void carries a VOID envelope' })
  if (envelope.to !== self) throw new AgoraError('E117', 'VOID envelope addressed to another node', { why: `it is for ${envelope.to ?? 'nobody'}` })
  verifySignatureOnly(envelope)
  const parsed = voidPayloadSchema.safeParse(envelope.payload)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const field = issue === undefined || issue.path.length === 0 ? '(payload)' : issue.path.map(String).join('.')
    throw new AgoraError('E1390', `malformed VOID: field ${field}`, { why: issue?.message ?? 'invalid' })
  }
  const payload = parsed.data
  if (payload.payer !== envelope.from) throw new AgoraError('E1390', 'VOID signed by another node than the receipt\'s payer', { why: `payer ${payload.payer}, signed by ${envelope.from}` })
  if (payload.payee !== self) throw new AgoraError('E117', 'VOID for another payee', { why: `it voids a receipt of ${payload.payee}` })
  const amount = wireAmount(payload.amount, 'voided amount')
  if (amount <= 0) throw new AgoraError('E1390', 'VOID of nothing', { why: 'a VOID settles a positive amount' })
  return { envelope, payload, amount }
}
