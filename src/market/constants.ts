/**
 * Defaults of the market service (the config schema's `market` section holds
 * the user-facing ones; these fill what an init leaves out) and fixed
 * values of contracts.
 */
import { newCliSafeId } from '../ids.ts'

export const MARKET_DEFAULTS = {
  /** Credits a new wallet starts with, in micro-credits (market.initialCredits). */
  initialCredits: 1000_000_000,
  /** What a peer may owe this node (market.creditLimit). */
  creditLimit: 100_000_000,
  /** What a trusted peer may owe this node (market.trustedCreditLimit). */
  trustedCreditLimit: 1000_000_000,
  /** Direct requests: decided by policy, or queued for the operator (market.acceptMode). */
  acceptMode: 'auto' as 'auto' | 'manual',
  /** A request (and its contract) lives this long when the buyer does not say (market.requestTtlMs). */
  requestTtlMs: 10 * 60_000,
  /** Requests waiting for the operator at most (market.maxPending). */
  maxPending: 100,
  /** A payee gets a new proof after this many captured receipts… (market.paymentEveryReceipts) */
  paymentEveryReceipts: 16,
  /** …or this long after the first unproven one (market.paymentEveryMs). */
  paymentEveryMs: 5000,
  /** First retry delay of a payment the payee did not acknowledge; doubles up to the cap. */
  paymentRetryMinMs: 1000,
  /** Longest delay between two sends of an unacknowledged proof (Interledger caps its retries at 1 h). */
  paymentRetryMaxMs: 10 * 60_000,
  /** A payment request to a payee is given up after this long (then retried with backoff). */
  paymentTimeoutMs: 10_000,
  /** The longest a contract may last, whatever the buyer asks: its credit room is tied up until then. */
  maxContractTtlMs: 7 * 24 * 3600_000,
  /** The seller holds a poll on a pending request this long for the operator's decision before answering "pending". */
  pendingWaitMs: 15_000,
  /** The expiry sweep runs at least this often (and at the next expiry when sooner). */
  expirySweepMs: 30_000,
  /** The furthest deadline a NEED may carry (and a node answers). */
  maxNeedWindowMs: 24 * 3600_000,
  /** Finished contracts listed at most by one query. */
  maxListed: 1000
} as const

/** A new contract, request or need id (never starting with '-': src/ids.ts). */
export function newMarketId (): string {
  return newCliSafeId()
}

/** The hold that pays for a contract on the buyer's node. */
export function contractHoldId (contractId: string): string {
  return `contract:${contractId}`
}

/** The contract id behind a hold id, if it is a contract's. */
export function contractOfHold (holdId: string): string | undefined {
  return holdId.startsWith('contract:') ? holdId.slice('contract:'.length) : undefined
}
