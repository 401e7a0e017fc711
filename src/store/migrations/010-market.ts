import type { Migration } from './index.ts'

/** The market books (src/market/, docs/market.md): ledger postings, entries and balances, holds, receipts and payment proofs. */
export const m010Market: Migration = {
  version: 10,
  name: 'market: ledger, holds, receipts, payment proofs',
  up: `
    SELECT 1;
  `
}
