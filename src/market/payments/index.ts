/** The payments room's door: receipts and signed cumulative payment proofs, payer and payee sides. */
export { Payer } from './payer.ts'
export type { PayerComponents, PayerInit, SentProof, PayeeState } from './payer.ts'
export { Payee } from './payee.ts'
export type { PayeeComponents, PayeeInit, AcceptedProof, VoidOutcome } from './payee.ts'
export { checkedVoid, signVoid, voidPayloadSchema, voidReasonSchema } from './void.ts'
export type { VoidInput, VoidPayload, VoidReason } from './void.ts'
export { paymentDue, duePayees } from './policy.ts'
export type { PaymentPolicy } from './policy.ts'
export { balanceView } from './view.ts'
export type { PairBooks } from './view.ts'
export {
  chainRoot, payloadDigest, parsePaymentPayload, paymentPayloadSchema, paymentRefused, refusedRule, wireAmount
} from './proof.ts'
export type { PaymentPayload, PaymentProof, PaymentRule } from './proof.ts'
export type { SentRow } from './payer-repository.ts'
export type { ReceivedRow } from './payee-repository.ts'
export { PAYMENT_EPOCH, GENESIS_ROOT, MAX_RECEIPTS_PER_PROOF, MAX_RECEIPT_ID_LENGTH } from './constants.ts'
