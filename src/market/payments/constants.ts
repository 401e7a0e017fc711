/** Fixed values of payment proofs (docs/market.md "Payments"). */

/**
 * The epoch of every proof this version signs and accepts. docs/market.md
 * names the field without saying when it changes; it is kept for a later
 * reset of a pair's chain (after an external settlement, say), and a proof
 * of any other epoch is refused (E1120).
 */
export const PAYMENT_EPOCH = 1

/** The root before the first proof of a pair: 32 zero bytes, hex. */
export const GENESIS_ROOT = '0'.repeat(64)

/** Receipts one proof lists at most (~90 bytes each on the wire); the rest go in the next one. */
export const MAX_RECEIPTS_PER_PROOF = 512

/** Longest receipt id accepted. */
export const MAX_RECEIPT_ID_LENGTH = 256
