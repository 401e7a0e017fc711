/**
 * The node's typed event bus. Rooms emit, the API's event socket and the
 * dashboard listen. Adding an event is one line in `AgoraEventMap`.
 */
import { EventEmitter } from 'node:events'
import type { TransferProgress } from './packages/types.ts'

export interface AgoraEventMap {
  'node:started': { peerId: string, addresses: string[] }
  'node:stopping': { reason: string }
  'peer:connected': { peerId: string, address: string | undefined }
  'peer:disconnected': { peerId: string }
  'peer:latency': { peerId: string, latencyMs: number }
  /** The reputation (0..1) moved by at least 0.01 since the last event for this peer. */
  'peer:reputation': { peerId: string, reputation: number, previous: number }
  /** `until` null: until unbanned; `auto`: banned for a low reputation, not by the operator. */
  'peer:banned': { peerId: string, reason: string, until: number | null, auto: boolean }
  'peer:unbanned': { peerId: string }
  'peer:trusted': { peerId: string }
  'peer:untrusted': { peerId: string }
  /** A node's offer entered the table (first seen, or back after a withdraw or expiry). */
  'offer:added': OfferEvent
  /** A node re-announced its offer (higher Lamport). */
  'offer:updated': OfferEvent
  /** A node withdrew its offer (WITHDRAW tombstone). */
  'offer:withdrawn': OfferEvent
  /** An offer passed its expiry without being re-announced. */
  'offer:expired': OfferEvent
  'job:submitted': JobEvent
  'job:progress': JobEvent & { total: number, committed: number, running: number, failed: number }
  'job:completed': JobEvent
  'job:failed': JobEvent & { code: string, message: string }
  'job:cancelled': JobEvent
  /** Offered to a worker (attempt counts from 1). */
  'subtask:assigned': SubtaskEvent & { worker: string, attempt: number }
  'subtask:committed': SubtaskEvent & { worker: string, attempt: number }
  /** An attempt failed (refused, failed, timed out, bad result); the subtask goes to another candidate. */
  'subtask:retrying': SubtaskEvent & { worker: string, attempt: number, code: string }
  /** A subtask's result was compared with its replicas (redundancy, adaptive replication) or with this node's own (a canary): agreed, outvoted (another result stands), inconclusive or unverified (no replica could run). */
  'subtask:verified': SubtaskEvent & { verdict: 'agreed' | 'outvoted' | 'inconclusive' | 'unverified', method: 'replicas' | 'canary' | 'quorum', worker: string, replicas: number, outliers: string[] }
  'subtask:failed': SubtaskEvent & { code: string, message: string }
  /** The wallet moved: amounts in credits, six decimals. */
  'wallet:update': WalletEvent
  /** A contract entered a state: proposed (requested or queued for the operator), accepted, rejected, settled, refunded, expired, cancelled. */
  'contract:proposed': ContractEvent
  'contract:accepted': ContractEvent
  'contract:rejected': ContractEvent & { reason: string }
  'contract:settled': ContractEvent
  'contract:refunded': ContractEvent
  'contract:expired': ContractEvent
  'contract:cancelled': ContractEvent
  /** A payment proof sent to a payee, accepted from a payer, or refused (ours by the payee, or theirs by us). */
  'payment:sent': PaymentEvent
  'payment:received': PaymentEvent
  'payment:refused': PaymentEvent & { code: string, message: string }
  /** The open auction. Buyer: a NEED put out, a proposal kept, the need decided (a contract made) or ended without one. */
  'need:created': { needId: string, taskType: string, quantity: number, budget: string, deadline: number }
  'need:proposal': { needId: string, seller: string, unitPrice: string, etaMs: number, capacity: number }
  'need:decided': { needId: string, seller: string, contractId: string, unitPrice: string, epoch: number }
  'need:failed': { needId: string, state: string, reason: string }
  /** Seller: a proposal this node sent, and the buyer's decision on a need it proposed for. */
  'need:proposed': { thread: string, buyer: string, unitPrice: string }
  'need:awarded': { thread: string, buyer: string, winner: string, won: boolean, epoch: number }
  /** A decision booked (this node's or a peer's): `won` it stands now, `lost` another stands; `orphaned`: decisions it displaced that named another result. */
  'verify:decision': VerifyDecisionEvent
  /** A peer's CHALLENGE, checked: `accused` lowered (upheld), or `refuted` (why) and the challenger lowered. */
  'verify:challenge': { challenger: string, thread: string, accused: string | null, refuted: string | null }
  /** The quorum changed: mode, K or the active verifiers counted. */
  'verify:quorum': { mode: 'bootstrap' | 'quorum', k: number, active: number }
  /** A decision was finalized (this node's: its pay captured; a peer's: its FINALIZE taken). `amount` in credits. */
  'verify:finalized': { thread: string, epoch: number, result: string, decider: string, amount: string }
  /** A decision was orphaned and its pay refunded (this node's, or a peer's RECONCILE); `winnerEpoch`: the decision's that displaced it, when known. */
  'verify:reconciled': { thread: string, epoch: number, result: string, decider: string, refund: string, winnerEpoch: number | null }
  /** A gateway request finished (served here or by a peer, or failed): what `agora requests` lists, as it happens. */
  'request:completed': { id: string, op: string, model: string, server: string, outcome: string, errorCode: string | null, totalMs: number, promptTokens: number, completionTokens: number, price: string }
  /** A provider's health changed (`previous` null: just added; `status` removed: gone). */
  'provider:status': { provider: string, kind: string, status: 'healthy' | 'degraded' | 'unhealthy' | 'removed', previous: string | null, models: number, error: string | null }
  /** A provisional result's held-back pay settled after its audit window: `paid` to the worker, or `forfeited` (refunded); `audited` says how. */
  'verify:audited': { jobId: string, subtaskId: string, worker: string, amount: string, outcome: 'paid' | 'forfeited', audited: string }
  /** The config changed at run time (PATCH /api/v1/config): every changed key, those applied now and those written for the next start. */
  'config:changed': { keys: string[], applied: string[], restart: string[] }
  /** A package version entered the catalogue (published here, or learned by gossip or sync); `from`: 'local' or the peer that handed it over. */
  'package:announced': { cid: string, name: string, version: string, kind: string, publisher: string, from: string }
  /** This node published a package (`recipients`: peers the PACKAGE envelope reached by gossip). */
  'package:published': { cid: string, name: string, version: string, size: number, recipients: number }
  /** A publish or an install moved on (at most 4 a second per operation, and every change of phase). */
  'package:progress': TransferProgress
  'package:installed': { cid: string, name: string, version: string, size: number, dir: string, pinned: boolean }
  'package:removed': { cid: string, name: string, version: string, size: number }
}

/** Payload of the offer:* events. */
export interface OfferEvent { offerId: string, node: string, lamport: number }
export interface JobEvent { jobId: string, type: string, state: string }
export interface SubtaskEvent { jobId: string, subtaskId: string, type: string }
export interface WalletEvent { balance: string, available: string, held: string, earned: string, spent: string }
export interface ContractEvent { contractId: string, role: 'buyer' | 'seller', buyer: string, seller: string, state: string }
export interface PaymentEvent { payer: string, payee: string, nonce: number, cumulative: string, amount: string }
export interface VerifyDecisionEvent { thread: string, epoch: number, decider: string, result: string, outcome: 'won' | 'lost', orphaned: number }

export type AgoraEventName = keyof AgoraEventMap

/** Every event name, so the event socket can subscribe to all of them. */
export const AGORA_EVENT_NAMES: readonly AgoraEventName[] = [
  'node:started', 'node:stopping', 'peer:connected', 'peer:disconnected', 'peer:latency',
  'peer:reputation', 'peer:banned', 'peer:unbanned', 'peer:trusted', 'peer:untrusted',
  'offer:added', 'offer:updated', 'offer:withdrawn', 'offer:expired',
  'job:submitted', 'job:progress', 'job:completed', 'job:failed', 'job:cancelled',
  'subtask:assigned', 'subtask:committed', 'subtask:retrying', 'subtask:verified', 'subtask:failed',
  'wallet:update', 'contract:proposed', 'contract:accepted', 'contract:rejected', 'contract:settled', 'contract:refunded',
  'contract:expired', 'contract:cancelled', 'payment:sent', 'payment:received', 'payment:refused',
  'need:created', 'need:proposal', 'need:decided', 'need:failed', 'need:proposed', 'need:awarded',
  'verify:decision', 'verify:challenge', 'verify:quorum', 'verify:finalized', 'verify:reconciled', 'verify:audited',
  'request:completed', 'provider:status', 'config:changed', 'package:announced',
  'package:published', 'package:progress', 'package:installed', 'package:removed'
]

type EmitterMap = { [K in AgoraEventName]: [AgoraEventMap[K]] }

export class AgoraEvents extends EventEmitter<EmitterMap> {
  constructor () {
    super()
    // many API sockets may listen at once; each removes itself on close
    this.setMaxListeners(1000)
  }
}
