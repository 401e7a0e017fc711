/**
 * Which models the network serves (listModels, for /v1/models) and who
 * could serve a request: the local providers serving the model, then
 * the peers whose valid offer lists it. Filters run in a fixed order, each
 * with its own error when it leaves nothing, so the client learns the
 * actual reason:
 *
 *   unknown model (E930, with close names) → wrong kind for the call (E941)
 *   → explicit target (E935) → local-only strategy (E932)
 *   → X-Agora-Max-Price (E931, naming the cheapest price)
 *   → availability: banned peer, open breaker (E934); unhealthy local
 *     providers only when no other candidate is left
 */
import { editDistance } from '../config/suggest.ts'
import { AgoraError } from '../errors.ts'
import { formatCredits, type Micro } from '../market/amount.ts'
import { FREE_PRICES, offerPrice, offerPrices, type Prices } from '../offers/index.ts'
import type { CircuitBreakers } from './breaker.ts'
import type { GatewayProvider, LocalProvidersLike } from './router-options.ts'
import type { GatewayModel, RoutingStrategy } from './types.ts'
import type { OfferService } from '../offers/index.ts'
import type { PeerBook } from '../peers/index.ts'
import type { ChatFeature, ModelKind } from '../providers/index.ts'

/** Retry-After for a model whose engine is down: its health is checked again within this or the next discovery round. */
const ENGINE_RETRY_AFTER_MS = 10_000

/** Prices of the serving offer in micro-credits (all zero for a local provider). */
export type { Prices }

interface CandidateBase {
  /** Circuit-breaker and latency key: `local:<providerId>` or `<peerId>:<model>`. */
  key: string
  /** Model id on the serving node (without any `@peer` suffix). */
  model: string
  kind: ModelKind
  /** Provider id on the serving node. */
  providerId: string
  /** The price X-Agora-Max-Price is compared with (see offerPrice), micro-credits; 0 locally. */
  price: Micro
  prices: Prices
  /** What the model does there beyond plain text. */
  features: readonly ChatFeature[]
}

export interface LocalCandidate extends CandidateBase {
  route: 'local'
  server: 'local'
  provider: GatewayProvider
}

export interface RemoteCandidate extends CandidateBase {
  route: 'remote'
  /** The serving peer id. */
  server: string
}

export type Candidate = LocalCandidate | RemoteCandidate

export type Operation = 'chat' | 'embeddings'

export interface CandidateSources {
  selfPeerId: string
  local: LocalProvidersLike
  offers: Pick<OfferService, 'list'>
  peerBook: Pick<PeerBook, 'view'>
  breakers: Pick<CircuitBreakers, 'allows'>
}

export interface CandidateQuery {
  /** Model id without suffix. */
  model: string
  op: Operation
  strategy: RoutingStrategy
  /** 'local', our own peer id, or a peer id. */
  target?: string | undefined
  /** Micro-credits. */
  maxPrice?: Micro | undefined
  /** What the request uses beyond plain text: only engines offering all of it are candidates. */
  features?: readonly ChatFeature[]
}

/** Each feature as a person reads it, and the request field that asks for it. */
const FEATURE_NAMES: Record<ChatFeature, string> = { tools: 'tools (function calling)', json: 'JSON output (response_format json_object)', json_schema: 'structured output (response_format json_schema)', logprobs: 'log-probabilities (logprobs)' }
const FEATURE_PARAMS: Record<ChatFeature, string> = { tools: 'tools', json: 'response_format', json_schema: 'response_format', logprobs: 'logprobs' }

const PEER_ID = /^(12D3KooW|Qm)[1-9A-HJ-NP-Za-km-z]{40,60}$/

/** Split `model@peerId` (or `model@local`); a suffix that is no peer id stays part of the model name. */
export function parseModelRef (model: string): { model: string, target?: string } {
  const at = model.lastIndexOf('@')
  if (at <= 0) return { model }
  const suffix = model.slice(at + 1)
  if (suffix !== 'local' && !PEER_ID.test(suffix)) return { model }
  return { model: model.slice(0, at), target: suffix }
}

/** Local providers' models (owned by us, free, latency 0), then every model in a peer's offer (banned peers left out), sorted by id. */
export function listModels (sources: Omit<CandidateSources, 'breakers'>): GatewayModel[] {
  const self = sources.selfPeerId
  const out = new Map<string, GatewayModel>()
  for (const provider of sources.local.providers()) {
    for (const m of provider.models()) {
      const key = `${m.name}\0${self}`
      if (!out.has(key)) out.set(key, { id: m.name, kind: m.kind, ownedBy: self, provider: provider.id, price: 0, latencyMs: 0, local: true, features: m.features ?? [] })
    }
  }
  for (const offer of sources.offers.list()) {
    if (offer.node === self) continue
    const view = sources.peerBook.view(offer.node)
    if (view?.banned === true) continue
    for (const m of offer.models) {
      const key = `${m.name}\0${offer.node}`
      if (out.has(key)) continue
      out.set(key, { id: m.name, kind: m.kind, ownedBy: offer.node, provider: m.provider, price: offerPrice(offer, m.name) ?? 0, latencyMs: view?.latencyMs ?? null, local: false, features: m.features ?? [] })
    }
  }
  return [...out.values()].sort((a, b) => a.id.localeCompare(b.id) || Number(b.local) - Number(a.local) || a.ownedBy.localeCompare(b.ownedBy))
}

/** Every candidate for the query, filtered (see the file comment); throws the error of the filter that left none. */
export function findCandidates (sources: CandidateSources, query: CandidateQuery): Candidate[] {
  const { model } = query
  let all: Candidate[] = [...localCandidates(sources.local, model), ...remoteCandidates(sources, model)]
  if (all.length === 0) {
    // served here, by an engine down right now: a pause (503, Retry-After), not an unknown model
    const down = sources.local.providerFor(model).filter(p => p.health().status === 'unhealthy')
    if (down.length > 0) {
      throw new AgoraError('E934', `model '${model}' is unavailable right now`, {
        why: `its engine here (${down.map(p => p.id).join(', ')}) is not answering: ${down[0]?.health().lastError ?? 'unhealthy'}`,
        hint: 'its health is checked again every providers.discoveryIntervalMs; `agora providers test <name>` checks it now',
        details: { model, providers: down.map(p => p.id), retryAfterMs: ENGINE_RETRY_AFTER_MS }
      })
    }
    const suggestions = suggestModels(model, knownModels(sources))
    throw new AgoraError('E930', `unknown model '${model}'`, {
      why: suggestions.length > 0 ? `did you mean ${suggestions.map(s => `'${s}'`).join(', ')}?` : 'no local provider or peer serves it',
      details: { model, suggestions }
    })
  }

  const kind: ModelKind = query.op === 'chat' ? 'chat' : 'embedding'
  const ofKind = all.filter(c => c.kind === kind)
  if (ofKind.length === 0) {
    throw new AgoraError('E941', `model '${model}' is ${all[0]?.kind === 'chat' ? 'a chat' : 'an embedding'} model`, { details: { model, kind: all[0]?.kind } })
  }
  all = ofKind

  const needed = query.features ?? []
  if (needed.length > 0) {
    const able = all.filter(c => needed.every(f => c.features.includes(f)))
    if (able.length === 0) {
      const missing = needed.filter(f => !all.some(c => c.features.includes(f)))
      const first = missing[0] ?? needed[0] as ChatFeature
      throw new AgoraError('E962', `no engine serving '${model}' supports ${needed.map(f => FEATURE_NAMES[f]).join(' with ')}`, {
        why: `${all.length} candidate${all.length === 1 ? '' : 's'}, none offering ${(missing.length > 0 ? missing : needed).map(f => FEATURE_NAMES[f]).join(', ')}`,
        hint: 'leave the option out, or pick a model whose engine supports it (`/v1/models` lists each model\'s features)',
        details: { param: FEATURE_PARAMS[first], model, features: needed }
      })
    }
    all = able
  }

  const target = query.target === sources.selfPeerId ? 'local' : query.target
  if (target !== undefined) {
    all = all.filter(c => target === 'local' ? c.route === 'local' : c.server === target)
    if (all.length === 0) throw new AgoraError('E935', `the target ${target} does not serve model '${model}'`, { details: { model, target } })
  }

  if (query.strategy === 'local-only') {
    all = all.filter(c => c.route === 'local')
    if (all.length === 0) throw new AgoraError('E932', `no local provider serves model '${model}'`, { why: 'the strategy is local-only', details: { model } })
  }

  if (query.maxPrice !== undefined) {
    const cap = query.maxPrice
    const cheapest = formatCredits(Math.min(...all.map(c => c.price)))
    all = all.filter(c => c.price <= cap)
    if (all.length === 0) {
      throw new AgoraError('E931', `every candidate for model '${model}' costs more than ${formatCredits(cap)}`, {
        why: `the cheapest asks ${cheapest} credits per 1k tokens`,
        details: { model, maxPrice: formatCredits(cap), cheapest }
      })
    }
  }

  const skipped: Array<{ server: string, provider: string, reason: string }> = []
  const available = all.filter(c => {
    const reason = unavailable(sources, c)
    if (reason !== undefined) skipped.push({ server: c.server, provider: c.providerId, reason })
    return reason === undefined
  })
  // an unhealthy provider is tried only when nothing else is left (its health may be stale; the attempt tells)
  const healthy = available.filter(c => c.route === 'remote' || c.provider.health().status !== 'unhealthy')
  if (healthy.length > 0) return healthy
  if (available.length === 0) {
    throw new AgoraError('E934', `no candidate for model '${model}' is available now`, {
      why: [...new Set(skipped.map(s => s.reason))].join(', '),
      details: { model, skipped }
    })
  }
  return available
}

function unavailable (sources: CandidateSources, candidate: Candidate): string | undefined {
  if (candidate.route === 'remote' && sources.peerBook.view(candidate.server)?.banned === true) return 'peer banned'
  if (!sources.breakers.allows(candidate.key)) return 'circuit breaker open'
  return undefined
}

function localCandidates (local: LocalProvidersLike, model: string): LocalCandidate[] {
  const out: LocalCandidate[] = []
  for (const provider of local.providerFor(model)) {
    const capability = provider.models().find(m => m.name === model)
    if (capability === undefined) continue
    out.push({
      route: 'local',
      server: 'local',
      key: `local:${provider.id}`,
      model,
      kind: capability.kind,
      providerId: provider.id,
      price: 0,
      prices: FREE_PRICES,
      features: capability.features ?? [],
      provider
    })
  }
  return out
}

function remoteCandidates (sources: CandidateSources, model: string): RemoteCandidate[] {
  const out: RemoteCandidate[] = []
  for (const offer of sources.offers.list({ model })) {
    if (offer.node === sources.selfPeerId) continue
    const served = offer.models.find(m => m.name === model)
    if (served === undefined) continue
    out.push({
      route: 'remote',
      server: offer.node,
      key: `${offer.node}:${model}`,
      model,
      kind: served.kind,
      providerId: served.provider,
      price: offerPrice(offer, model) ?? 0,
      prices: offerPrices(offer),
      features: served.features ?? []
    })
  }
  return out
}

/** Every model id served locally or by a peer. */
export function knownModels (sources: Pick<CandidateSources, 'local' | 'offers'>): string[] {
  const names = new Set<string>()
  for (const provider of sources.local.providers()) for (const m of provider.models()) names.add(m.name)
  for (const offer of sources.offers.list()) for (const m of offer.models) names.add(m.name)
  return [...names]
}

/**
 * Close model ids for an unknown one: those containing it (case-insensitive),
 * then those within a third of its length in edit distance (at least 2), nearest first.
 */
export function suggestModels (input: string, known: Iterable<string>, limit = 5): string[] {
  const needle = input.toLowerCase()
  const maxDistance = Math.max(2, Math.floor(input.length / 3))
  const ranked: Array<{ name: string, rank: number }> = []
  for (const name of known) {
    if (needle.length > 0 && name.toLowerCase().includes(needle)) {
      ranked.push({ name, rank: 0 })
      continue
    }
    const d = editDistance(input, name)
    if (d <= maxDistance) ranked.push({ name, rank: d })
  }
  ranked.sort((a, b) => a.rank - b.rank || a.name.localeCompare(b.name))
  return ranked.slice(0, limit).map(r => r.name)
}
