/** The escrow room's door: holds, captures and releases on top of the ledger. */
export { Escrow } from './escrow.ts'
export type {
  EscrowComponents, EscrowInit, HoldOptions, HoldRecord, ReleaseResult, OwedReceipts, ExpiredListener
} from './escrow.ts'
export type { HoldRow } from './holds-repository.ts'
