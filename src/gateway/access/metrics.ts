/**
 * Access-control metrics, on the node's registry. A registry that already
 * holds a metric (two nodes on one registry in tests) shares it.
 */
import type { Counter} from 'prom-client';
import { type Registry } from 'prom-client'
import { counter } from '../../observability/metrics.ts'

export interface AccessMetrics {
  /** Requests refused, by the code of the rule that refused them (E900–E905). */
  refused: Counter<'code'>
  admitted: Counter
  /** Tokens charged to peers after their requests. */
  charged: Counter
}

export function createAccessMetrics (registry: Registry | undefined): AccessMetrics | undefined {
  if (registry === undefined) return undefined
  return {
    refused: counter(registry, 'agora_access_refused_total', 'Peer requests refused by access control, by the refusing rule\'s code', ['code']),
    admitted: counter(registry, 'agora_access_admitted_total', 'Peer requests admitted by access control', []),
    charged: counter(registry, 'agora_access_tokens_charged_total', 'Tokens charged to peers for work done on this node', [])
  }
}
