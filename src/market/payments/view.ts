/** One side's view of a pair's balance (`agora wallet reconcile` sends it to the other side). */
import { payable, receivable, type Ledger } from '../ledger/index.ts'
import type { BalanceView } from '../types.ts'
import type { Payee } from './payee.ts'
import type { Payer } from './payer.ts'
import type { SentVoids } from './voids-sent.ts'

export interface PairBooks {
  ledger: Pick<Ledger, 'balance'>
  payer: Pick<Payer, 'lastSent'>
  payee: Pick<Payee, 'last' | 'voided'>
  voids: Pick<SentVoids, 'voided'>
}

export function balanceView (books: PairBooks, peer: string): BalanceView {
  const received = books.payee.last(peer)
  return {
    peer,
    receivable: books.ledger.balance(receivable(peer)),
    // payable is kept negative; the view shows magnitudes (0 - x: never -0)
    payable: 0 - books.ledger.balance(payable(peer)),
    sent: books.payer.lastSent(peer),
    received: { nonce: received.nonce, cumulative: received.cumulative },
    voided: { sent: books.voids.voided(peer), received: books.payee.voided(peer) }
  }
}
