/** The ledger's metrics: postings by kind, group commits and their failures. */
import { counter, histogram } from '../../observability/metrics.ts'
import type { Counter, Histogram, Registry } from 'prom-client'

export interface LedgerMetrics {
  /** Postings by kind and outcome (applied, duplicate, refused). */
  postings: Counter<'kind' | 'outcome'>
  /** Group commits by outcome (ok, failed). */
  commits: Counter<'outcome'>
  /** One group commit: postings of a turn of the event loop, fsynced. */
  commitSeconds: Histogram
}

export function createLedgerMetrics (registry: Registry | undefined): LedgerMetrics | undefined {
  if (registry === undefined) return undefined
  return {
    postings: counter(registry, 'agora_market_postings_total', 'Ledger postings by kind and outcome (applied, duplicate, refused)', ['kind', 'outcome']),
    commits: counter(registry, 'agora_market_ledger_commits_total', 'Ledger group commits by outcome (ok, failed)', ['outcome']),
    commitSeconds: histogram(registry, 'agora_market_ledger_commit_seconds', 'One ledger group commit (synchronous=FULL)', [],
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1])
  }
}
