/**
 * How a buyer ranks the proposals for one need: the jobs router's
 * deterministic score (src/jobs/router/score.ts) — reputation, price
 * (min–max over the proposals), latency (ping EWMA) and load — with the
 * load term read from the proposal: the share of the need the seller says
 * it cannot take at once (capacity below quantity), and recency 1 (a
 * proposal is fresh evidence). Ties: cheaper first, then peer id.
 */
import { ROUTER_DEFAULTS } from '../../jobs/router/constants.ts'
import { scoreWorkers } from '../../jobs/router/score.ts'
import type { ProposalRecord } from './repository.ts'

export interface SellerFacts {
  reputation: number
  latencyMs: number | null
}

export interface RankedProposal extends ProposalRecord {
  score: number
}

export function rankProposals (proposals: readonly ProposalRecord[], quantity: number, facts: (seller: string) => SellerFacts): RankedProposal[] {
  const inputs = proposals.map(p => {
    const f = facts(p.seller)
    // a seller that takes the whole need at once is idle for it; one that takes a tenth is "ten deep"
    const inFlight = Math.max(0, Math.ceil(quantity / Math.max(1, p.capacity)) - 1)
    return { reputation: f.reputation, price: p.unitPrice, latencyMs: f.latencyMs, inFlight, slotsIdle: 1, recency: 1 }
  })
  const scores = scoreWorkers(inputs, { weights: ROUTER_DEFAULTS.weights, latencyScaleMs: ROUTER_DEFAULTS.latencyScaleMs })
  return proposals
    .map((p, i) => ({ ...p, score: scores[i] ?? 0 }))
    .sort((a, b) => b.score - a.score || a.unitPrice - b.unitPrice || (a.seller < b.seller ? -1 : a.seller > b.seller ? 1 : 0))
}
