/**
 * Which offers can run a request, and why none can. Every offer (this
 * node's own included, marked local) is checked against the request's
 * requirements: the task type, every model (request.models ∪
 * constraints.models), every constraint tag, the zone when set; and its
 * standing: a banned peer or a peer whose offer is private (serves only its
 * owner) is not usable, this node always is. Then the price: the per-task
 * price must be at or under the max price per subtask and the job's
 * remaining budget.
 *
 * None left after the requirements: E1020, `why` saying what is missing and
 * `details.closest` the offers that came closest (fewest lacks) with what
 * each lacks. Candidates left, but all above a price limit: E1021 naming the
 * cheapest price and the limit.
 */
import { AgoraError } from '../../errors.ts'
import { formatCredits, MAX_MICRO, type Micro } from '../../market/amount.ts'
import { offerPrices } from '../../offers/prices.ts'
import type { RouteRequest } from './types.ts'
import type { Offer } from '../../offers/index.ts'

export interface Requirements {
  taskType: string
  models: string[]
  tags: string[]
  zone: string | undefined
  /** Only these nodes (a job that bought its subtasks by auction names its sellers). */
  workers?: string[] | undefined
}

/** An offer with what the router knows of its node. */
export interface OfferCandidate {
  offer: Offer
  local: boolean
  banned: boolean
}

export interface ClosestOffer {
  node: string
  name?: string
  /** What it lacks, e.g. `model 'llama3.2:3b'`, `tag 'gpu'`, `banned`. */
  lacks: string[]
}

export function requirementsOf (request: RouteRequest): Requirements {
  const models = [...new Set([...request.models, ...(request.constraints.models ?? [])])]
  const tags = [...new Set(request.constraints.tags ?? [])]
  return { taskType: request.taskType, models, tags, zone: request.constraints.zone, workers: request.constraints.workers }
}

/** What the offer lacks to run the requirements (capabilities only). */
export function capabilityLacks (offer: Offer, req: Requirements): string[] {
  const lacks: string[] = []
  if (!offer.taskTypes.includes(req.taskType)) lacks.push(`task type '${req.taskType}'`)
  for (const model of req.models) {
    if (!offer.models.some(m => m.name === model)) lacks.push(`model '${model}'`)
  }
  for (const tag of req.tags) {
    if (!offer.tags.includes(tag)) lacks.push(`tag '${tag}'`)
  }
  if (req.zone !== undefined && offer.zone !== req.zone) lacks.push(`zone '${req.zone}'`)
  if (req.workers !== undefined && !req.workers.includes(offer.node)) lacks.push('one of the job\'s workers')
  return lacks
}

/** Why the node may not be used whatever it serves (never for this node). */
export function standingLacks (c: OfferCandidate): string[] {
  if (c.local) return []
  const lacks: string[] = []
  if (c.banned) lacks.push('banned')
  if (c.offer.trustMode === 'private') lacks.push('private (serves only its owner)')
  return lacks
}

/** The candidates able to run the request, in their input order; throws E1020 when none. */
export function capableOffers (all: readonly OfferCandidate[], req: Requirements, closestCount: number): OfferCandidate[] {
  const checked = all.map(c => ({ c, lacks: [...capabilityLacks(c.offer, req), ...standingLacks(c)] }))
  const capable = checked.filter(x => x.lacks.length === 0).map(x => x.c)
  if (capable.length > 0) return capable

  const closest: ClosestOffer[] = checked
    .sort((a, b) => a.lacks.length - b.lacks.length || compare(a.c.offer.node, b.c.offer.node))
    .slice(0, closestCount)
    .map(x => x.c.offer.name === undefined || x.c.offer.name === ''
      ? { node: x.c.offer.node, lacks: x.lacks }
      : { node: x.c.offer.node, name: x.c.offer.name, lacks: x.lacks })
  const { why, missing } = explain(all, req)
  const first = closest[0]
  const hint = first === undefined ? '' : `; closest: ${first.node} lacks ${first.lacks.join(', ')}`
  throw new AgoraError('E1020', `no worker can run task type '${req.taskType}'`, {
    why: why + hint,
    details: { taskType: req.taskType, models: req.models, tags: req.tags, zone: req.zone, offers: all.length, missing, closest }
  })
}

/** The capable candidates within the price limits (micro-credits); throws E1021 when every one is above a limit. */
export function affordableOffers (capable: readonly OfferCandidate[], limits: { maxPrice?: Micro | undefined, remainingBudget?: Micro | undefined }, taskType: string): OfferCandidate[] {
  const limit = Math.min(limits.maxPrice ?? MAX_MICRO, limits.remainingBudget ?? MAX_MICRO)
  const priceOf = (c: OfferCandidate): Micro => offerPrices(c.offer).perTask
  const affordable = capable.filter(c => priceOf(c) <= limit)
  if (affordable.length > 0 || capable.length === 0) return affordable

  const cheapest = capable.reduce((best, c) => priceOf(c) < priceOf(best) ? c : best)
  const price = priceOf(cheapest)
  const over: string[] = []
  if (limits.maxPrice !== undefined && price > limits.maxPrice) over.push(`the max price per subtask (${formatCredits(limits.maxPrice)})`)
  if (limits.remainingBudget !== undefined && price > limits.remainingBudget) over.push(`the job's remaining budget (${formatCredits(limits.remainingBudget)})`)
  throw new AgoraError('E1021', `every worker for task type '${taskType}' asks more than the job may pay`, {
    why: `the cheapest (${cheapest.offer.node}) asks ${formatCredits(price)} credits per subtask, above ${over.join(' and ')}`,
    details: {
      taskType,
      cheapest: formatCredits(price),
      cheapestNode: cheapest.offer.node,
      limit: formatCredits(limit),
      maxPricePerSubtask: limits.maxPrice === undefined ? null : formatCredits(limits.maxPrice),
      remainingBudget: limits.remainingBudget === undefined ? null : formatCredits(limits.remainingBudget),
      candidates: capable.length
    }
  })
}

/** What is missing: requirements no offer meets, else offers that match but may not be used, else no single offer has them all. */
function explain (all: readonly OfferCandidate[], req: Requirements): { why: string, missing: string[] } {
  if (all.length === 0) {
    return { why: 'no offer is known: this node offers nothing for jobs and no peer\'s offer has arrived', missing: [`task type '${req.taskType}'`] }
  }
  const checks: Array<{ label: string, phrase: string, met: (o: Offer) => boolean }> = [
    { label: `task type '${req.taskType}'`, phrase: `no offer runs task type '${req.taskType}'`, met: o => o.taskTypes.includes(req.taskType) },
    ...req.models.map(m => ({ label: `model '${m}'`, phrase: `no offer serves model '${m}'`, met: (o: Offer) => o.models.some(x => x.name === m) })),
    ...req.tags.map(t => ({ label: `tag '${t}'`, phrase: `no offer has tag '${t}'`, met: (o: Offer) => o.tags.includes(t) })),
    ...(req.zone === undefined ? [] : [{ label: `zone '${req.zone}'`, phrase: `no offer is in zone '${req.zone}'`, met: (o: Offer) => o.zone === req.zone }]),
    ...(req.workers === undefined ? [] : [{ label: 'one of the job\'s workers', phrase: `no offer of the job's workers (${req.workers.join(', ')}) is known`, met: (o: Offer) => req.workers?.includes(o.node) === true }])
  ]
  const missing = checks.filter(check => !all.some(c => check.met(c.offer)))
  if (missing.length > 0) return { why: missing.map(m => m.phrase).join('; '), missing: missing.map(m => m.label) }
  const blocked = all.filter(c => capabilityLacks(c.offer, req).length === 0)
  if (blocked.length > 0) {
    return { why: `the ${blocked.length} offer(s) that match are banned or private`, missing: ['a usable (not banned, not private) offer'] }
  }
  return { why: `no single offer has all of ${checks.map(c => c.label).join(', ')}`, missing: [] }
}

function compare (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
