/**
 * The contract state machine (docs/market.md, Contracts). Pure: what may
 * follow what, and which end a contract reaches.
 *
 *   proposed → accepted      the seller accepted (buyer: its hold is placed)
 *   proposed → rejected      the seller refused, with a reason
 *   proposed → expired       nobody decided before the request's expiry
 *   proposed → cancelled     the buyer gave up before a decision (aborted, or
 *                            could not fund the seller's quote)
 *   accepted → settled       used up (captured = maxTotal), or ended by the
 *                            buyer with something captured
 *   accepted → refunded      ended by the buyer with nothing captured (the
 *                            whole hold goes back)
 *   accepted → expired       its time ran out (the rest of the hold goes back)
 *   accepted → cancelled     the seller withdrew from it (it serves nothing
 *                            more under it; the buyer's hold ends at expiry)
 *
 * Every other move is refused with E1112, naming the state it is in.
 */
import { AgoraError } from '../../errors.ts'
import { FINISHED_CONTRACT_STATES, type Contract, type ContractState } from '../types.ts'

const NEXT: Record<ContractState, readonly ContractState[]> = {
  proposed: ['accepted', 'rejected', 'expired', 'cancelled'],
  accepted: ['settled', 'refunded', 'expired', 'cancelled'],
  rejected: [],
  settled: [],
  refunded: [],
  expired: [],
  cancelled: []
}

/** Whether `to` may follow `from`. */
export function canMove (from: ContractState, to: ContractState): boolean {
  return NEXT[from].includes(to)
}

/** E1112 unless `to` may follow the contract's state. */
export function assertMove (contract: Pick<Contract, 'id' | 'state'>, to: ContractState): void {
  if (canMove(contract.state, to)) return
  throw new AgoraError('E1112', `contract ${contract.id} cannot become ${to}`, {
    why: FINISHED_CONTRACT_STATES.includes(contract.state) ? `it is ${contract.state} already (finished)` : `it is ${contract.state}`,
    details: { contractId: contract.id, state: contract.state, to }
  })
}

export function isFinished (state: ContractState): boolean {
  return FINISHED_CONTRACT_STATES.includes(state)
}

/** Open: may still be accepted or drawn on (counts toward a buyer's exposure). */
export function isOpen (state: ContractState): boolean {
  return state === 'proposed' || state === 'accepted'
}

/** How a buyer's early end of an accepted contract reads: settled when something was captured, refunded when nothing was. */
export function endedByBuyer (captured: number): 'settled' | 'refunded' {
  return captured > 0 ? 'settled' : 'refunded'
}

/** What is still free in an accepted contract. */
export function room (contract: Pick<Contract, 'maxTotal' | 'captured'>): number {
  return Math.max(0, contract.maxTotal - contract.captured)
}
