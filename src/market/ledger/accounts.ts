/**
 * The ledger's accounts and the sign each balance keeps (docs/market.md):
 * assets and expenses are positive, the rest negative, settlement either.
 * Names are fixed (`available`) or a prefix and an id (`held:<hold>`,
 * `payable:<peer>`); any other name is refused, so a typo cannot open an
 * account that no invariant covers.
 */
import { AgoraError } from '../../errors.ts'
import { formatCredits, isMicro, MAX_MICRO, type Micro } from '../amount.ts'

export type AccountSign = 'positive' | 'negative' | 'any'

export const GRANT = 'grant'
export const AVAILABLE = 'available'
export const SPENT = 'spent'
export const EARNED = 'earned'
export const SETTLEMENT = 'settlement'
export const HELD_PREFIX = 'held:'
export const PAYABLE_PREFIX = 'payable:'
export const RECEIVABLE_PREFIX = 'receivable:'

const FIXED: Record<string, AccountSign> = {
  [GRANT]: 'negative',
  [AVAILABLE]: 'positive',
  [SPENT]: 'positive',
  [EARNED]: 'negative',
  [SETTLEMENT]: 'any'
}

const PREFIXED: ReadonlyArray<[string, AccountSign]> = [
  [HELD_PREFIX, 'positive'],
  [PAYABLE_PREFIX, 'negative'],
  [RECEIVABLE_PREFIX, 'positive']
]

export const held = (holdId: string): string => HELD_PREFIX + holdId
export const payable = (peer: string): string => PAYABLE_PREFIX + peer
export const receivable = (peer: string): string => RECEIVABLE_PREFIX + peer

/** The sign an account's balance keeps; undefined for a name the ledger does not know. */
export function accountSign (account: string): AccountSign | undefined {
  const fixed = FIXED[account]
  if (fixed !== undefined) return fixed
  for (const [prefix, sign] of PREFIXED) {
    if (account.length > prefix.length && account.startsWith(prefix)) return sign
  }
  return undefined
}

/** Whether `balance` is allowed for an account of that sign. */
export function signHolds (sign: AccountSign, balance: Micro): boolean {
  return sign === 'any' || (sign === 'positive' ? balance >= 0 : balance <= 0)
}

/** An amount handed to the books: a whole, non-negative micro-credit count within the safe range (E1100 otherwise). */
export function assertAmount (value: unknown, what = 'amount'): Micro {
  if (isMicro(value)) return value
  const why = typeof value !== 'number' || Number.isNaN(value)
    ? 'it is not a number'
    : value < 0
      ? 'it is negative'
      : !Number.isFinite(value) || value > MAX_MICRO
        ? `it is past the largest amount, ${formatCredits(MAX_MICRO)} credits`
        : 'it is not a whole number of micro-credits (more than six decimals)'
  throw new AgoraError('E1100', `invalid ${what}: ${String(value)} micro-credits`, { why, details: { what, value: String(value) } })
}
