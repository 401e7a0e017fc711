/**
 * The postings of docs/market.md, built in one place so every room books
 * the same entries under the same idempotency keys. Each has a wallet half
 * (the first two entries) and, for capture and earn, a trust-line half (the
 * last two), each summing to zero.
 */
import type { Micro } from '../amount.ts'
import { AVAILABLE, EARNED, GRANT, held, payable, receivable, SETTLEMENT, SPENT } from './accounts.ts'
import type { PostingInput } from './ledger.ts'

export const holdKey = (holdId: string): string => `hold:${holdId}`
export const releaseKey = (holdId: string): string => `release:${holdId}`
export const captureKey = (receiptId: string): string => `capture:${receiptId}`
export const earnKey = (payer: string, epoch: number, nonce: number): string => `earn:${payer}:${epoch}:${nonce}`

export function grantPosting (amount: Micro): PostingInput {
  return { key: 'grant', kind: 'grant', entries: [{ account: GRANT, amount: -amount }, { account: AVAILABLE, amount }] }
}

/** available −x, held:h +x */
export function holdPosting (holdId: string, amount: Micro, ref?: string, at?: number): PostingInput {
  return {
    key: holdKey(holdId),
    kind: 'hold',
    entries: [{ account: AVAILABLE, amount: -amount }, { account: held(holdId), amount }],
    ...(ref === undefined ? {} : { ref }),
    ...(at === undefined ? {} : { at })
  }
}

/** held:h −x, available +x: what is left of a hold (kind 'expire' when its time ran out). */
export function releasePosting (holdId: string, amount: Micro, kind: 'release' | 'expire' = 'release', ref?: string, at?: number): PostingInput {
  return {
    key: releaseKey(holdId),
    kind,
    entries: [{ account: held(holdId), amount: -amount }, { account: AVAILABLE, amount }],
    ...(ref === undefined ? {} : { ref }),
    ...(at === undefined ? {} : { at })
  }
}

/** Buyer: held:h −x, spent +x, payable:P −x, settlement +x */
export function capturePosting (input: { holdId: string, receiptId: string, seller: string, amount: Micro, at?: number }): PostingInput {
  const x = input.amount
  return {
    key: captureKey(input.receiptId),
    kind: 'capture',
    entries: [
      { account: held(input.holdId), amount: -x }, { account: SPENT, amount: x },
      { account: payable(input.seller), amount: -x }, { account: SETTLEMENT, amount: x }
    ],
    ref: input.receiptId,
    peer: input.seller,
    ...(input.at === undefined ? {} : { at: input.at })
  }
}

/** Seller: available +x, earned −x, receivable:P +x, settlement −x */
export function earnPosting (input: { payer: string, epoch: number, nonce: number, amount: Micro, at?: number }): PostingInput {
  const x = input.amount
  return {
    key: earnKey(input.payer, input.epoch, input.nonce),
    kind: 'earn',
    entries: [
      { account: AVAILABLE, amount: x }, { account: EARNED, amount: -x },
      { account: receivable(input.payer), amount: x }, { account: SETTLEMENT, amount: -x }
    ],
    ref: `proof:${input.epoch}:${input.nonce}`,
    peer: input.payer,
    ...(input.at === undefined ? {} : { at: input.at })
  }
}
