/** The ledger room's door: double-entry books in integer micro-credits, group-committed with synchronous=FULL. */
export { Ledger } from './ledger.ts'
export type { Entry, PostingInput, PostOutcome, LedgerComponents, LedgerInit, LedgerSummary } from './ledger.ts'
export type { HistoryQuery } from './journal.ts'
export {
  accountSign, assertAmount, held, payable, receivable,
  GRANT, AVAILABLE, SPENT, EARNED, SETTLEMENT, HELD_PREFIX, PAYABLE_PREFIX, RECEIVABLE_PREFIX
} from './accounts.ts'
export type { AccountSign } from './accounts.ts'
export {
  grantPosting, holdPosting, releasePosting, capturePosting, earnPosting, setAsidePosting, holdKey, releaseKey, captureKey, earnKey
} from './postings.ts'
