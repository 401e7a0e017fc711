/**
 * Package search's metrics, on the node's registry. A registry that already
 * holds a metric (a second search on the same registry) shares it.
 */
import type { Counter, Histogram, Registry } from 'prom-client'
import { counter, histogram } from '../observability/metrics.ts'

/** How one peer's answer to our search ended. */
export type AnswerOutcome = 'ok' | 'malformed' | 'forged' | 'refused' | 'timeout' | 'error'

export interface SearchMetrics {
  /** Searches this node ran, local only or with peers. */
  searches: Counter<'scope'>
  /** Whole search time, peers included. */
  seconds: Histogram
  /** Peers' answers to our searches, by outcome. */
  answers: Counter<'outcome'>
  /** /agora/search/1 queries from peers: ok, limited (over the per-peer limit), invalid (E1420) or error. */
  served: Counter<'outcome'>
}

export function createSearchMetrics (registry: Registry | undefined): SearchMetrics | undefined {
  if (registry === undefined) return undefined
  return {
    searches: counter(registry, 'agora_packages_searches_total', 'Package searches run by this node, local only or with peers', ['scope']),
    seconds: histogram(registry, 'agora_packages_search_seconds', 'Time of a package search, peers included', [], [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2, 5]),
    answers: counter(registry, 'agora_packages_search_answers_total', 'Peers\' answers to this node\'s package searches, by outcome', ['outcome']),
    served: counter(registry, 'agora_packages_search_served_total', '/agora/search/1 queries from peers, by outcome (ok, limited, invalid, error)', ['outcome'])
  }
}
