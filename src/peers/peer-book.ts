/**
 * The peer book: what this node knows and thinks of every peer. It keeps
 * the reputation (a decayed Beta posterior, see reputation.ts), the ping
 * uptime and the trust and ban flags in the store, bans peers whose
 * reputation falls below the threshold, and answers libp2p's connection
 * gater and gossipsub's application score. No libp2p instance here: the
 * book is built before libp2p so both hooks can go into its options.
 *
 * Every room reports outcomes through `record(peerId, outcome)`:
 * 'success', 'failure', 'timeout', or 'invalid' for a forged or malformed
 * message (weighs three failures).
 */
import { AgoraError, messageOf } from '../errors.ts'
import { AUTO_BAN_REASON, BAN_FOREVER, PEER_BOOK_DEFAULTS, REPUTATION_DEFAULTS } from './constants.ts'
import { createPeerBookMetrics, type PeerBookMetrics } from './metrics.ts'
import { appScore, decayState, evidence, observe, observeUptime, reputationAt, score, shouldBan, uptimeFraction, type BetaState, type Outcome } from './reputation.ts'
import type { AgoraConfig } from '../config/schema.ts'
import type { AgoraEvents } from '../events.ts'
import type { AgoraLogger, Logger } from '../observability/logger.ts'
import type { PeerRecord, PeersRepository } from '../store/index.ts'
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import type { Registry } from 'prom-client'

export type ReputationConfig = AgoraConfig['reputation']

export interface PeerBookComponents {
  peers: PeersRepository
  events: AgoraEvents
  logger: AgoraLogger
  metrics?: Registry | undefined
}

export interface PeerBookInit extends Partial<ReputationConfig> {
  /** The clock (ms); Date.now by default. */
  now?: () => number
}

export interface PeerView extends PeerRecord {
  /** Reputation now, 0..1 (0.5 for a stranger). */
  reputation: number
  /** Decayed, weighted observations behind the reputation. */
  evidence: number
  /** Decayed share of answered pings, null before the first ping. */
  uptime: number | null
  /** Banned now (an expired ban reads false). */
  banned: boolean
}

export interface BanOptions {
  reason: string
  /** How long; undefined bans until `unban`. */
  durationMs?: number
}

export class PeerBook {
  private readonly peers: PeersRepository
  private readonly events: AgoraEvents
  private readonly log: Logger
  private readonly metrics: PeerBookMetrics | undefined
  private readonly init: Required<ReputationConfig>
  private readonly clock: () => number
  /** The score last announced in a `peer:reputation` event, per peer. */
  private readonly announced = new Map<string, number>()

  constructor (components: PeerBookComponents, init: PeerBookInit = {}) {
    this.peers = components.peers
    this.events = components.events
    this.log = components.logger.forComponent('agora:peers')
    this.metrics = createPeerBookMetrics(components.metrics)
    this.clock = init.now ?? Date.now
    this.init = {
      halfLifeMs: init.halfLifeMs ?? REPUTATION_DEFAULTS.halfLifeMs,
      banThreshold: init.banThreshold ?? REPUTATION_DEFAULTS.banThreshold,
      minObservations: init.minObservations ?? REPUTATION_DEFAULTS.minObservations,
      banDurationMs: init.banDurationMs ?? REPUTATION_DEFAULTS.banDurationMs,
      trustedReconnectMinMs: init.trustedReconnectMinMs ?? REPUTATION_DEFAULTS.trustedReconnectMinMs,
      trustedReconnectMaxMs: init.trustedReconnectMaxMs ?? REPUTATION_DEFAULTS.trustedReconnectMaxMs
    }
  }

  /** The settings in force (defaults filled in). */
  get settings (): Readonly<Required<ReputationConfig>> { return this.init }

  now (): number { return this.clock() }

  /**
   * Count one outcome of an interaction with the peer and update its
   * reputation; bans it when the score falls below the threshold with
   * enough evidence (never a trusted peer). Returns the new reputation.
   * Never throws: a store failure is logged and the reputation left as it was.
   */
  record (peerId: string, outcome: Outcome, now = this.clock()): number {
    try {
      this.peers.ensure(peerId, now)
      const record = this.peers.get(peerId)
      const before = record?.reputationState ?? undefined
      const previous = reputationAt(before, now, this.init.halfLifeMs)
      const state = observe(before, outcome, now, this.init.halfLifeMs)
      this.peers.recordObservation(peerId, outcome, state)
      this.metrics?.observations.inc({ outcome })
      const reputation = score(state)
      this.announce(peerId, reputation, previous)
      const trusted = record?.trusted ?? false
      if (!isBannedRecord(record, now) && shouldBan(state, this.init, trusted)) {
        this.banNow(peerId, { reason: AUTO_BAN_REASON, durationMs: this.init.banDurationMs }, now, true)
      }
      return reputation
    } catch (err) {
      this.log.warn({ peerId, outcome, err: messageOf(err) }, 'cannot record the outcome in the peer book')
      return this.safeReputation(peerId, now)
    }
  }

  /** One ping result: latency EWMA (when answered), uptime, and a success or a timeout. */
  recordPing (peerId: string, ok: boolean, latencyMs?: number, now = this.clock()): void {
    try {
      this.peers.ensure(peerId, now)
      if (ok && latencyMs !== undefined) this.peers.recordLatency(peerId, latencyMs)
      const uptime = this.peers.get(peerId)?.uptimeState ?? undefined
      this.peers.setUptime(peerId, observeUptime(uptime, ok, now, this.init.halfLifeMs))
    } catch (err) {
      this.log.warn({ peerId, err: messageOf(err) }, 'cannot record the ping in the peer book')
    }
    this.record(peerId, ok ? 'success' : 'timeout', now)
  }

  /** The peer's reputation now, 0..1 (0.5 for a stranger). */
  reputation (peerId: string, now = this.clock()): number {
    return reputationAt(this.peers.get(peerId)?.reputationState ?? undefined, now, this.init.halfLifeMs)
  }

  view (peerId: string, now = this.clock()): PeerView | undefined {
    const record = this.peers.get(peerId)
    return record === undefined ? undefined : this.toView(record, now)
  }

  /** Known peers, most recently seen first. */
  list (limit?: number, now = this.clock()): PeerView[] {
    return this.peers.list(limit).map(record => this.toView(record, now))
  }

  /** Trusted peers (banned ones included). */
  trusted (now = this.clock()): PeerView[] {
    return this.peers.listTrusted().map(record => this.toView(record, now))
  }

  /** Peers in the book. */
  count (): number {
    return this.peers.count()
  }

  /**
   * Forget the peer (what it did, its reputation, its trust). A banned peer
   * is refused: forgetting it would lift the ban behind the operator's back.
   * Answers whether it was in the book.
   */
  remove (peerId: string, now = this.clock()): boolean {
    if (this.isBanned(peerId, now)) throw new AgoraError('E1350', `peer ${peerId} is banned`, { why: 'removing it would forget the ban too', hint: `lift the ban first: \`agora peers unban ${peerId}\`` })
    this.announced.delete(peerId)
    const removed = this.peers.remove(peerId)
    if (removed) this.log.info({ peerId }, 'peer removed from the book')
    return removed
  }

  /** Mark the peer trusted: never banned automatically, kept connected by the guard. Returns false when it already was. */
  trust (peerId: string): boolean {
    this.peers.ensure(peerId, this.clock())
    if (this.peers.get(peerId)?.trusted === true) return false
    this.peers.setTrusted(peerId, true)
    this.log.info({ peerId }, 'peer trusted')
    this.events.emit('peer:trusted', { peerId })
    return true
  }

  /** Returns false when the peer was not trusted. */
  untrust (peerId: string): boolean {
    if (this.peers.get(peerId)?.trusted !== true) return false
    this.peers.setTrusted(peerId, false)
    this.log.info({ peerId }, 'peer no longer trusted')
    this.events.emit('peer:untrusted', { peerId })
    return true
  }

  isTrusted (peerId: string): boolean {
    return this.peers.get(peerId)?.trusted === true
  }

  /** Ban by hand (a trusted peer too): refused and disconnected until the ban expires or `unban`. */
  ban (peerId: string, options: BanOptions, now = this.clock()): void {
    this.peers.ensure(peerId, now)
    this.banNow(peerId, options, now, false)
  }

  /**
   * Lift a ban and forget the reputation behind it, so the peer starts
   * again as a stranger (otherwise its next failure would ban it again).
   * Returns false when the peer was not banned.
   */
  unban (peerId: string, now = this.clock()): boolean {
    const record = this.peers.get(peerId)
    if (record === undefined) return false
    const wasBanned = isBannedRecord(record, now)
    this.peers.setBan(peerId, null, null)
    this.peers.resetReputation(peerId)
    this.announced.delete(peerId)
    if (wasBanned) {
      this.log.info({ peerId }, 'peer unbanned')
      this.events.emit('peer:unbanned', { peerId })
    }
    return wasBanned
  }

  isBanned (peerId: string, now = this.clock()): boolean {
    return isBannedRecord(this.peers.get(peerId), now)
  }

  /** A libp2p connection gater refusing banned peers at every step it can (dial, inbound, relay). */
  connectionGater (): ConnectionGater {
    const denied = (peerId: PeerId, stage: string): boolean => {
      const id = peerId.toString()
      let banned: boolean
      try {
        banned = this.isBanned(id)
      } catch (err) {
        // the store is gone (shutting down): let libp2p decide
        this.log.debug({ peerId: id, err: messageOf(err) }, 'connection gater cannot read the peer book')
        return false
      }
      if (banned) {
        this.metrics?.refused.inc({ stage })
        this.log.debug({ peerId: id, stage }, 'refused a banned peer')
      }
      return banned
    }
    return {
      denyDialPeer: peerId => denied(peerId, 'dial'),
      denyInboundEncryptedConnection: peerId => denied(peerId, 'inbound'),
      denyOutboundEncryptedConnection: peerId => denied(peerId, 'outbound'),
      denyInboundUpgradedConnection: peerId => denied(peerId, 'inbound'),
      denyOutboundUpgradedConnection: peerId => denied(peerId, 'outbound'),
      denyInboundRelayReservation: source => denied(source, 'relay'),
      denyOutboundRelayedConnection: (_source, destination) => denied(destination, 'relay'),
      denyInboundRelayedConnection: (_relay, remotePeer) => denied(remotePeer, 'relay')
    }
  }

  /** Gossipsub's application-specific score (P5): (reputation − 0.5) × 20; −1000 when banned, +10 when trusted. */
  readonly appSpecificScore = (peerId: string): number => {
    const now = this.clock()
    try {
      const record = this.peers.get(peerId)
      const reputation = reputationAt(record?.reputationState ?? undefined, now, this.init.halfLifeMs)
      return appScore(reputation, { banned: isBannedRecord(record, now), trusted: record?.trusted === true })
    } catch {
      return 0
    }
  }

  private banNow (peerId: string, options: BanOptions, now: number, auto: boolean): void {
    // past the safe integers the stored row could not be read back (node:sqlite refuses it): a longer ban is one without expiry
    const until = options.durationMs === undefined ? null : Math.min(now + options.durationMs, BAN_FOREVER)
    this.peers.setBan(peerId, until ?? BAN_FOREVER, options.reason)
    this.metrics?.bans.inc({ kind: auto ? 'auto' : 'manual' })
    this.log.info({ peerId, reason: options.reason, until, auto }, 'peer banned')
    this.events.emit('peer:banned', { peerId, reason: options.reason, until, auto })
  }

  /** Emit `peer:reputation` once the score moved a step from the last announced one. */
  private announce (peerId: string, reputation: number, previous: number): void {
    const last = this.announced.get(peerId) ?? previous
    if (Math.abs(reputation - last) < PEER_BOOK_DEFAULTS.reputationEventStep) {
      if (!this.announced.has(peerId)) this.remember(peerId, last)
      return
    }
    this.remember(peerId, reputation)
    this.events.emit('peer:reputation', { peerId, reputation, previous: last })
  }

  private remember (peerId: string, reputation: number): void {
    this.announced.delete(peerId)
    this.announced.set(peerId, reputation)
    if (this.announced.size > PEER_BOOK_DEFAULTS.maxTrackedPeers) {
      const oldest = this.announced.keys().next().value
      if (oldest !== undefined) this.announced.delete(oldest)
    }
  }

  private safeReputation (peerId: string, now: number): number {
    try { return this.reputation(peerId, now) } catch { return 0.5 }
  }

  private toView (record: PeerRecord, now: number): PeerView {
    const state: BetaState | undefined = record.reputationState === null ? undefined : decayState(record.reputationState, now, this.init.halfLifeMs)
    return {
      ...record,
      reputation: state === undefined ? 0.5 : score(state),
      evidence: state === undefined ? 0 : evidence(state),
      uptime: uptimeFraction(record.uptimeState ?? undefined),
      banned: isBannedRecord(record, now)
    }
  }
}

function isBannedRecord (record: PeerRecord | undefined, now: number): boolean {
  const until = record?.bannedUntil ?? null
  return until !== null && until > now
}
