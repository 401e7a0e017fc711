/**
 * The offers room's metrics, on the node's registry. A registry that already
 * holds a metric (a second offer service on the same registry) shares it.
 */
import type { Counter, Gauge} from 'prom-client';
import { type Registry } from 'prom-client'
import { counter, gauge } from '../observability/metrics.ts'

export interface OfferMetrics {
  /** Offers and withdrawals refused, by reason (see validator.ts). */
  rejected: Counter<'reason'>
  /** Offers and withdrawals taken into the table, by path (gossip, sync, local). */
  accepted: Counter<'source'>
  /** Copies of what the table already holds (same Lamport): dropped quietly. */
  duplicates: Counter<'source'>
  /** Entries in the table, by kind (OFFER, WITHDRAW). */
  entries: Gauge<'kind'>
  /** Anti-entropy rounds this node started, by outcome. */
  syncRounds: Counter<'outcome'>
  /** Entries pulled by anti-entropy. */
  syncPulled: Counter
  /** Offers that expired or were evicted from the table. */
  expired: Counter
}

export function createOfferMetrics (registry: Registry | undefined): OfferMetrics | undefined {
  if (registry === undefined) return undefined
  return {
    rejected: counter(registry, 'agora_offers_rejected_total', 'Offer messages refused, by reason', ['reason']),
    accepted: counter(registry, 'agora_offers_accepted_total', 'Offers and withdrawals taken into the offer table, by path', ['source']),
    duplicates: counter(registry, 'agora_offers_duplicate_total', 'Offer messages already held (same Lamport), dropped quietly', ['source']),
    entries: gauge(registry, 'agora_offers_entries', 'Entries in the offer table, by kind (OFFER or WITHDRAW tombstone)', ['kind']),
    syncRounds: counter(registry, 'agora_offers_sync_rounds_total', 'Anti-entropy rounds started by this node, by outcome', ['outcome']),
    syncPulled: counter(registry, 'agora_offers_sync_pulled_total', 'Offers and withdrawals pulled by anti-entropy', []),
    expired: counter(registry, 'agora_offers_expired_total', 'Offers dropped from the table at expiry or evicted by offers.maxOffers', [])
  }
}
