/**
 * After a restart: the captures of subtasks committed just before a crash
 * are booked again, by the same JobPayments.capture() as at commit, so a
 * provisional result's pay is split the same way — the part recorded as
 * held back (verify.holdback, heldBackPart) set aside in `audit:<receipt>`,
 * the rest captured — and a cheat whose result lands just before a crash
 * does not escape the audit deposit.
 *
 * What is on disk at each crash point of the commit path, and what this
 * does about it (the ledger writes in posting order, so a later step on
 * disk means every earlier one is):
 *   1. before the commit transaction: the attempt is open, nothing is owed;
 *      resetInterrupted re-dispatches it, nothing here.
 *   2. after it (subtask committed + the audit row, one transaction), before
 *      the ledger's commit: no set-aside, no capture. Here: the set-aside,
 *      then the capture of the price less the part.
 *   3. the set-aside on disk, the capture not (a ledger commit between the
 *      two): the set-aside answers 'duplicate' from its key (whatever the
 *      source holds now), the capture of the rest is booked.
 *   4. the capture on disk: captured() is true, nothing is done (the
 *      set-aside, posted before it, is on disk too).
 * A crash during this recovery leaves one of 2–4, and the next start does
 * the same again: the audit row is one per receipt (its key), the
 * set-aside one per `audit:<receipt>` hold, the capture one per receipt, so
 * nothing is paid twice and the held part is neither lost nor held twice.
 */
import { taskReceiptId } from '../protocol/receipt.ts'
import type { JobStore } from '../store/job-store.ts'
import { JobPayments, type JobMarket, type PaymentAudits } from './job-payments.ts'

export interface RecaptureComponents {
  store: JobStore
  market: JobMarket | undefined
  audits?: PaymentAudits | undefined
  selfPeerId: string
}

/** Book again the captures of job `jobId`'s committed subtasks (no-ops where they are booked); how many subtasks were looked at. */
export function recaptureCommitted (c: RecaptureComponents, jobId: string): number {
  const job = c.store.get(jobId)
  if (c.market === undefined || job === undefined) return 0
  const payments = new JobPayments(c.market, { jobId, selfPeerId: c.selfPeerId, budget: job.constraints.budget, contracts: job.constraints.contracts, audits: c.audits })
  let looked = 0
  for (const subtask of c.store.subtasks(jobId)) {
    if (subtask.state !== 'committed' || subtask.worker === null || subtask.price === null) continue
    looked++
    payments.recapture({
      subtaskId: subtask.id, attempt: subtask.attempts, worker: subtask.worker, type: subtask.type, price: subtask.price,
      receiptId: taskReceiptId(`${c.selfPeerId}/${jobId}/${subtask.id}`)
    })
  }
  return looked
}
