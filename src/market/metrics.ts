/**
 * The market's metrics, on the node's registry. Amounts are exported in
 * credits (micro-credits / 1e6: Prometheus values are floats anyway).
 */
import { type Counter, type Gauge, type Registry } from 'prom-client'
import { counter, gauge } from '../observability/metrics.ts'
import { MICRO_PER_CREDIT, type Micro } from './amount.ts'

export interface MarketMetrics {
  /** Contracts by side and state (set from the table after each change). */
  contracts: Gauge<'role' | 'state'>
  /** Direct requests decided, by side and outcome (accepted, pending, or the reject reason). */
  requests: Counter<'role' | 'outcome'>
  /** Credits held in escrow now. */
  held: Gauge
  /** Credits captured from holds (buyer side: paid for checked receipts). */
  captured: Counter
  /** Credits released back from holds (cancel, expiry, completion). */
  refunded: Counter
  /** Payment proofs, by direction (sent, received) and outcome (ok, refused, failed). */
  payments: Counter<'direction' | 'outcome'>
  /** Market messages from peers refused, by error code (forged, replayed, out of order…). */
  refused: Counter<'code'>
  /** What each buyer may still owe against its limit: exposure, in credits. */
  creditUsed: Gauge<'peer'>
}

export function createMarketMetrics (registry: Registry | undefined): MarketMetrics | undefined {
  if (registry === undefined) return undefined
  return {
    contracts: gauge(registry, 'agora_market_contracts', 'Market contracts held, by side and state', ['role', 'state']),
    requests: counter(registry, 'agora_market_requests_total', 'Direct requests decided, by side and outcome (accepted, pending or the reject reason)', ['role', 'outcome']),
    held: gauge(registry, 'agora_market_held_credits', 'Credits held in escrow now', []),
    captured: counter(registry, 'agora_market_captured_credits_total', 'Credits captured from holds for checked receipts (buyer side)', []),
    refunded: counter(registry, 'agora_market_refunded_credits_total', 'Credits released back from holds (cancel, expiry, completion)', []),
    payments: counter(registry, 'agora_market_payments_total', 'Payment proofs, by direction (sent, received) and outcome (ok, refused, failed)', ['direction', 'outcome']),
    refused: counter(registry, 'agora_market_refused_total', 'Market messages from peers refused, by error code', ['code']),
    creditUsed: gauge(registry, 'agora_market_credit_used_credits', 'Exposure of each buyer at this node (what it owes plus what its open contracts may take), in credits', ['peer'])
  }
}

/** Micro-credits as the float credits a metric holds. */
export function credits (micro: Micro): number {
  return micro / MICRO_PER_CREDIT
}
