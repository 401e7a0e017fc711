/**
 * A job that buys its subtasks by auction (`constraints.auction`,
 * docs/market.md "Auctions"): before it runs, one NEED per task type —
 * the quantity its subtasks of that type, the budget what the job has left
 * — decided at the end of the window; each decision is a contract with its
 * winner, whose hold pays that worker's receipts first. The job then runs
 * on the winners only (`constraints.workers`). When one task type finds no
 * seller the job is refused (E1134) and the contracts already made are
 * cancelled (their holds released).
 */
import { AgoraError } from '../../errors.ts'
import type { Micro } from '../../market/amount.ts'
import type { MarketApi } from '../../market/types.ts'

export type AuctionMarket = Pick<MarketApi, 'auction' | 'contract' | 'cancel'>

export interface AuctionBought {
  /** The winners, one per task type (a seller winning two types appears once). */
  workers: string[]
  contracts: string[]
  /** What the contracts hold in all (micro-credits): the job's own hold is the budget less this. */
  contracted: Micro
}

/** A contract bought for a job without a deadline lives this long (its hold is released when the job ends, or at this expiry after a crash). */
export const AUCTION_CONTRACT_TTL_MS = 3600_000

export async function buyByAuction (market: AuctionMarket, input: { quantities: Map<string, number>, budget: Micro, windowMs: number, deadline?: number | undefined, signal?: AbortSignal }): Promise<AuctionBought> {
  if (input.budget <= 0) throw new AgoraError('E1013', 'a job bought by auction needs a budget', { why: 'the budget is what a NEED offers sellers' })
  const workers = new Set<string>()
  const contracts: string[] = []
  let contracted = 0
  try {
    for (const [taskType, quantity] of input.quantities) {
      const left = input.budget - contracted
      if (left <= 0) throw new AgoraError('E1134', `the auction for ${taskType} was not decided`, { why: 'the contracts for the job\'s other task types took its whole budget' })
      // the contract lasts as long as the job may run: to its deadline, else an hour
      const contractExpiresAt = input.deadline ?? Date.now() + AUCTION_CONTRACT_TTL_MS
      const need = await market.auction({ taskType, quantity, budget: left, deadline: Date.now() + input.windowMs, contractExpiresAt }, input.signal === undefined ? {} : { signal: input.signal })
      if (need.seller === null || need.contractId === null) throw new AgoraError('E1134', `the auction for ${taskType} was not decided`)
      contracts.push(need.contractId)
      workers.add(need.seller)
      contracted += market.contract(need.contractId).maxTotal
    }
  } catch (err) {
    await Promise.allSettled(contracts.map(async id => await market.cancel(id)))
    throw err
  }
  return { workers: [...workers], contracts, contracted }
}

/** The job ended: what its auction's contracts still hold goes back (a contract used up is settled already). */
export function endAuction (market: AuctionMarket | undefined, contracts: readonly string[] | undefined, onError: (err: unknown) => void): void {
  if (market === undefined || contracts === undefined) return
  for (const id of contracts) {
    let state: string
    try {
      state = market.contract(id).state
    } catch (err) {
      onError(err)
      continue
    }
    if (state === 'accepted') market.cancel(id).catch(onError)
  }
}

/** Subtasks per task type, in plan order. */
export function quantitiesOf (subtasks: ReadonlyArray<{ type: string }>): Map<string, number> {
  const quantities = new Map<string, number>()
  for (const s of subtasks) quantities.set(s.type, (quantities.get(s.type) ?? 0) + 1)
  return quantities
}
