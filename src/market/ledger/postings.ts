/**
 * The postings of docs/market.md, built in one place so every room books
 * the same entries under the same idempotency keys. Each has a wallet half
 * (the first two entries) and, for capture and earn, a trust-line half (the
 * last two), each summing to zero. `normalise` checks a posting's shape
 * before the ledger applies it.
 */
import { AgoraError } from '../../errors.ts'
import type { Micro } from '../amount.ts'
import { accountSign, AVAILABLE, EARNED, GRANT, held, payable, receivable, SETTLEMENT, SPENT } from './accounts.ts'
import type { Entry, PostingInput } from './ledger.ts'

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

/** held:from −x, held:to +x: part of a hold set aside as a hold of its own (its key is `to`'s hold key). */
export function setAsidePosting (from: string, to: string, amount: Micro, ref?: string, at?: number): PostingInput {
  return {
    key: holdKey(to),
    kind: 'set-aside',
    entries: [{ account: held(from), amount: -amount }, { account: held(to), amount }],
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

const MAX_KEY_LENGTH = 1024

/** Check the posting's shape; its nonzero entries (a zero moves nothing and is not stored). */
export function normalise (input: PostingInput): Entry[] {
  if (typeof input.key !== 'string' || input.key.length === 0 || input.key.length > MAX_KEY_LENGTH) {
    throw new AgoraError('E1103', 'a posting needs an idempotency key', { why: `got ${JSON.stringify(input.key)}`, details: { kind: input.kind } })
  }
  const seen = new Set<string>()
  const out: Entry[] = []
  for (const entry of input.entries) {
    if (accountSign(entry.account) === undefined) {
      throw new AgoraError('E1103', `posting ${input.key} names an unknown account`, { why: `no account ${JSON.stringify(entry.account)}`, details: { key: input.key } })
    }
    if (seen.has(entry.account)) {
      throw new AgoraError('E1103', `posting ${input.key} names ${entry.account} twice`, { why: 'one entry per account', details: { key: input.key } })
    }
    seen.add(entry.account)
    if (!Number.isSafeInteger(entry.amount)) {
      throw new AgoraError('E1100', `invalid amount for ${entry.account}: ${String(entry.amount)} micro-credits`, {
        why: 'not a whole number of micro-credits within the safe range', details: { key: input.key, account: entry.account }
      })
    }
    if (entry.amount !== 0) out.push({ account: entry.account, amount: entry.amount })
  }
  return out
}

/** Whether two postings under one key move the same amounts on the same accounts. */
export function sameEntries (a: readonly Entry[], b: readonly Entry[]): boolean {
  if (a.length !== b.length) return false
  const byAccount = new Map(a.map(entry => [entry.account, entry.amount]))
  return b.every(entry => byAccount.get(entry.account) === entry.amount)
}
