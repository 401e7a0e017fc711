/**
 * A coordinator's books for the recapture crash test: the job store, the
 * audits of provisional results and the JobMarket view of one real books
 * node (test/unit/market/books-nodes.ts), as the node builds them — shared
 * by the test and its child (test/fixtures/recapture-writer.ts) so both
 * sides of the crash run the same code.
 */
import { JobAudits } from '../../../src/jobs/audit/audits.ts'
import type { JobMarket } from '../../../src/jobs/coordinator/job-payments.ts'
import { taskReceiptId } from '../../../src/jobs/protocol/receipt.ts'
import { JobStore } from '../../../src/jobs/store/job-store.ts'
import { captureKey } from '../../../src/market/ledger/index.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { CREDIT, type BooksNode } from '../market/books-nodes.ts'

export const JOB = 'j1'
export const SUBTASK = 's1'
/** Its price: a fifth is held back (verify.holdback's default). */
export const PRICE = 3 * CREDIT + 7
export const BUDGET = 10 * CREDIT
export const HOLDBACK = 0.2
export const WINDOW_MS = 60_000
export const GRANT = 1000 * CREDIT

export interface CoordinatorBooks {
  store: JobStore
  audits: JobAudits
  market: JobMarket
  receiptId: string
}

export function coordinatorBooks (books: BooksNode): CoordinatorBooks {
  const market: JobMarket = {
    hold: (holdId, amount, options) => { books.escrow.hold(holdId, amount, options) },
    capture: input => { books.escrow.capture(input) },
    captured: receiptId => books.ledger.has(captureKey(receiptId)),
    release: holdId => { books.escrow.release(holdId) },
    contractFor: () => undefined,
    durable: async () => { await books.ledger.durable() }
  }
  const audits = new JobAudits({
    db: books.db,
    market: {
      setAside: (from, to, amount, options) => { books.escrow.setAside(from, to, amount, options) },
      capture: market.capture,
      release: market.release,
      durable: market.durable,
      voidPart: async () => { throw new Error('not used: audits are not drawn here') }
    },
    rerun: async () => 'agreed',
    caught: () => {},
    events: { emit: () => {} } as never,
    log: silentLogger().forComponent('test')
  }, { holdback: HOLDBACK, windowMs: WINDOW_MS, rate: 0, random: () => 1, now: () => books.clock.now })
  return { store: new JobStore(books.db), audits, market, receiptId: taskReceiptId(`${books.peerId}/${JOB}/${SUBTASK}`) }
}
