/**
 * The package catalogue's metrics, on the node's registry. A registry that
 * already holds a metric (a second catalogue on the same registry) shares it.
 */
import type { Counter, Registry } from 'prom-client'
import { counter } from '../observability/metrics.ts'

export interface CatalogMetrics {
  /** Manifests taken into the catalogue, by path (local, gossip, sync). */
  accepted: Counter<'source'>
  /** PACKAGE envelopes refused, by reason (see REFUSE_REASONS in catalog.ts) and path. */
  refused: Counter<'reason' | 'source'>
  /** Copies of a manifest already held: dropped quietly. */
  duplicates: Counter<'source'>
  /** Anti-entropy rounds this node started, by outcome. */
  syncRounds: Counter<'outcome'>
  /** Manifests pulled by anti-entropy. */
  syncPulled: Counter
}

export function createCatalogMetrics (registry: Registry | undefined): CatalogMetrics | undefined {
  if (registry === undefined) return undefined
  return {
    accepted: counter(registry, 'agora_packages_accepted_total', 'Package manifests taken into the catalogue, by path', ['source']),
    refused: counter(registry, 'agora_packages_refused_total', 'PACKAGE envelopes refused, by reason and path', ['reason', 'source']),
    duplicates: counter(registry, 'agora_packages_duplicate_total', 'PACKAGE envelopes already held, dropped quietly', ['source']),
    syncRounds: counter(registry, 'agora_packages_sync_rounds_total', 'Catalogue anti-entropy rounds started by this node, by outcome', ['outcome']),
    syncPulled: counter(registry, 'agora_packages_sync_pulled_total', 'Package manifests pulled by anti-entropy', [])
  }
}
