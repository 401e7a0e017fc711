/**
 * When a payee is due a proof (docs/market.md "Payments"): after
 * `market.paymentEveryReceipts` captured receipts, or `market.paymentEveryMs`
 * after the oldest one no proof lists; an outstanding proof is due again
 * `paymentEveryMs` after it was last handed out (resent unchanged until the
 * payee answers).
 */
import type { PayeeState } from './payer.ts'

export interface PaymentPolicy {
  /** market.paymentEveryReceipts */
  everyReceipts: number
  /** market.paymentEveryMs */
  everyMs: number
}

export function paymentDue (state: PayeeState, policy: PaymentPolicy, now: number): boolean {
  if (state.outstanding !== undefined) return state.sentAt === undefined || now - state.sentAt >= policy.everyMs
  if (state.unlisted === 0) return false
  return state.unlisted >= policy.everyReceipts || now - (state.oldestAt ?? now) >= policy.everyMs
}

/** Every payee of `payer` due a proof at `now`. */
export function duePayees (payer: { payees(): string[], state(payee: string): PayeeState }, policy: PaymentPolicy, now: number): string[] {
  return payer.payees().filter(payee => paymentDue(payer.state(payee), policy, now))
}
