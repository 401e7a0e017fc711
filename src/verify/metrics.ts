/** agora_verify_* (docs/verification.md): the quorum as this node sees it, and the decisions it booked. */
import { Counter, Gauge, type Registry } from 'prom-client'
import type { QuorumState } from './quorum.ts'

export interface VerifyMetrics {
  decisions: Counter<'outcome'>
  challenges: Counter<'outcome'>
  settlements: Counter<'outcome'>
  observe: (state: QuorumState) => void
}

export function createVerifyMetrics (registry: Registry | undefined): VerifyMetrics | undefined {
  if (registry === undefined) return undefined
  const active = new Gauge({ name: 'agora_verify_active_verifiers', help: 'Verifiers counted active (nodes whose live offer carries the verify tag)', registers: [registry] })
  const k = new Gauge({ name: 'agora_verify_quorum_k', help: 'Agreeing attestations a decision needs now', registers: [registry] })
  const bootstrap = new Gauge({ name: 'agora_verify_bootstrap', help: '1 while the network is in bootstrap mode (K = 1, decisions provisional)', registers: [registry] })
  const decisions = new Counter({ name: 'agora_verify_decisions_total', help: 'Decisions booked, by outcome (won: it stands; lost: another stands)', labelNames: ['outcome'] as const, registers: [registry] })
  const challenges = new Counter({ name: 'agora_verify_challenges_total', help: 'Challenges from peers, by outcome (upheld: the accused was lowered; refuted: the challenger was)', labelNames: ['outcome'] as const, registers: [registry] })
  const settlements = new Counter({ name: 'agora_verify_settlements_total', help: 'This node\'s decisions that held pay, settled: finalized (captured) or refunded (orphaned by a later decision)', labelNames: ['outcome'] as const, registers: [registry] })
  return {
    decisions,
    challenges,
    settlements,
    observe: state => {
      active.set(state.active)
      k.set(state.k)
      bootstrap.set(state.mode === 'bootstrap' ? 1 : 0)
    }
  }
}
