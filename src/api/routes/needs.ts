/**
 * The open auction (docs/market.md "Auctions"): put out a need, list needs,
 * see one with its proposals (best first), decide it, cancel it. Amounts
 * become six-decimal strings here. Without a market: 503 E1140.
 */
import type { FastifyInstance } from 'fastify'
import { AgoraError } from '../../errors.ts'
import { ROUTES, API_PREFIX } from '../../client/routes.ts'
import { decideBody, needBody, needIdParam, needsQuery, type NeedJson, type ProposalJson } from '../../client/needs-schemas.ts'
import { formatCredits } from '../../market/amount.ts'
import type { MarketApi, Need, Proposal } from '../../market/types.ts'
import { parse } from './control.ts'

const path = (full: string): string => full.slice(API_PREFIX.length)

export function registerNeedsRoutes (app: FastifyInstance, { market }: { market?: MarketApi | undefined }): void {
  const api = (): MarketApi => {
    if (market === undefined) throw new AgoraError('E1140', 'the market is not available on this node')
    return market
  }

  app.get(path(ROUTES.needs.path), async request => api().needs(parse(needsQuery, request.query, 'query')).map(needJson))
  app.get(path(ROUTES.need.path), async request => {
    const { need, proposals } = api().needView(parse(needIdParam, request.params, 'path').id)
    return { need: needJson(need), proposals: proposals.map(p => proposalJson(p, need.quantity)) }
  })
  app.post(path(ROUTES.createNeed.path), async request => {
    const { taskType, quantity, budget, deadlineInMs, decide } = parse(needBody, request.body, 'body')
    return needJson(await api().need({ taskType, quantity, budget, deadline: Date.now() + deadlineInMs, decide }))
  })
  app.post(path(ROUTES.decideNeed.path), async request => {
    const { id } = parse(needIdParam, request.params, 'path')
    const { seller } = parse(decideBody, request.body ?? {}, 'body')
    return needJson(await api().decideNeed(id, seller))
  })
  app.post(path(ROUTES.cancelNeed.path), async request => needJson(api().cancelNeed(parse(needIdParam, request.params, 'path').id)))
}

function needJson (n: Need): NeedJson {
  return { ...n, budget: formatCredits(n.budget) }
}

function proposalJson (p: Proposal, quantity: number): ProposalJson {
  return {
    needId: p.needId,
    seller: p.seller,
    offerId: p.offerId,
    unitPrice: formatCredits(p.unitPrice),
    total: formatCredits(BigInt(p.unitPrice) * BigInt(quantity)),
    etaMs: p.etaMs,
    capacity: p.capacity,
    state: p.state,
    reason: p.reason,
    score: Math.round(p.score * 1000) / 1000,
    receivedAt: p.receivedAt
  }
}
