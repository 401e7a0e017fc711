/**
 * Acts on the peer book: hangs up on a peer the moment it is banned (the
 * connection gater then refuses it until the ban ends), and keeps trusted
 * peers connected: on start it dials them, and when one disconnects it
 * redials with exponential backoff (trustedReconnectMinMs doubling up to
 * trustedReconnectMaxMs, with jitter) until it is back, untrusted or
 * banned. Trusted peers carry a peer store tag so libp2p's connection
 * pruner closes them last.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { AgoraError, messageOf } from '../errors.ts'
import { PEER_GUARD_DEFAULTS, REPUTATION_DEFAULTS, TRUSTED_TAG, TRUSTED_TAG_VALUE } from './constants.ts'
import { createPeerGuardMetrics, type PeerGuardMetrics } from './metrics.ts'
import type { PeerBook } from './peer-book.ts'
import type { AgoraEventMap, AgoraEvents } from '../events.ts'
import type { AgoraLogger, Logger } from '../observability/logger.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Registry } from 'prom-client'

export interface PeerGuardComponents {
  libp2p: Libp2p
  peerBook: PeerBook
  events: AgoraEvents
  logger: AgoraLogger
  metrics?: Registry | undefined
}

export interface PeerGuardInit {
  /** First redial delay after a trusted peer disconnects. */
  trustedReconnectMinMs?: number
  /** Longest delay between redials. */
  trustedReconnectMaxMs?: number
  /** Give up one redial after this long. */
  dialTimeoutMs?: number
  /** Random source for the jitter, 0..1 (tests pin it). */
  random?: () => number
}

interface Reconnect {
  /** Failed attempts so far. */
  attempt: number
  timer: NodeJS.Timeout | undefined
  dialling: boolean
}

/** The delay before redial number `attempt` (0 = the first): min × 2^attempt, capped at max, scaled by ±jitter. */
export function backoffDelay (attempt: number, minMs: number, maxMs: number, random: number, jitter: number = PEER_GUARD_DEFAULTS.jitter): number {
  const base = Math.min(maxMs, minMs * Math.pow(2, attempt))
  return Math.max(0, Math.round(Math.min(maxMs, base * (1 - jitter + 2 * jitter * random))))
}

export class PeerGuard {
  private readonly libp2p: Libp2p
  private readonly peerBook: PeerBook
  private readonly events: AgoraEvents
  private readonly log: Logger
  private readonly metrics: PeerGuardMetrics | undefined
  private readonly init: Required<PeerGuardInit>
  private readonly reconnects = new Map<string, Reconnect>()
  private shutdown = new AbortController()
  private started = false

  constructor (components: PeerGuardComponents, init: PeerGuardInit = {}) {
    this.libp2p = components.libp2p
    this.peerBook = components.peerBook
    this.events = components.events
    this.log = components.logger.forComponent('agora:peer-guard')
    this.metrics = createPeerGuardMetrics(components.metrics)
    this.init = {
      trustedReconnectMinMs: init.trustedReconnectMinMs ?? REPUTATION_DEFAULTS.trustedReconnectMinMs,
      trustedReconnectMaxMs: init.trustedReconnectMaxMs ?? REPUTATION_DEFAULTS.trustedReconnectMaxMs,
      dialTimeoutMs: init.dialTimeoutMs ?? PEER_GUARD_DEFAULTS.dialTimeoutMs,
      random: init.random ?? Math.random
    }
  }

  /** Listen to bans, trust changes and disconnects; hang up banned peers; dial every trusted peer. */
  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.shutdown = new AbortController()
    this.events.on('peer:banned', this.onBanned)
    this.events.on('peer:unbanned', this.onUnbanned)
    this.events.on('peer:trusted', this.onTrusted)
    this.events.on('peer:untrusted', this.onUntrusted)
    this.libp2p.addEventListener('peer:connect', this.onConnect)
    this.libp2p.addEventListener('peer:disconnect', this.onDisconnect)
    for (const peerId of this.libp2p.getPeers()) {
      if (this.peerBook.isBanned(peerId.toString())) void this.hangUp(peerId.toString())
    }
    for (const peer of this.peerBook.trusted()) {
      if (peer.banned) continue
      await this.tag(peer.peerId, true)
      if (!this.isConnected(peer.peerId)) this.schedule(peer.peerId, 0)
    }
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.shutdown.abort(new AgoraError('E504', 'the peer guard is stopping'))
    this.events.off('peer:banned', this.onBanned)
    this.events.off('peer:unbanned', this.onUnbanned)
    this.events.off('peer:trusted', this.onTrusted)
    this.events.off('peer:untrusted', this.onUntrusted)
    this.libp2p.removeEventListener('peer:connect', this.onConnect)
    this.libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
    for (const reconnect of this.reconnects.values()) clearTimeout(reconnect.timer)
    this.reconnects.clear()
  }

  /** Trusted peers waiting for a redial, with their failed attempts so far. */
  pending (): Array<{ peerId: string, attempt: number }> {
    return [...this.reconnects].map(([peerId, reconnect]) => ({ peerId, attempt: reconnect.attempt }))
  }

  private readonly onBanned = ({ peerId }: AgoraEventMap['peer:banned']): void => {
    this.cancel(peerId)
    void this.hangUp(peerId)
  }

  private readonly onUnbanned = ({ peerId }: AgoraEventMap['peer:unbanned']): void => {
    if (this.peerBook.isTrusted(peerId)) this.schedule(peerId, 0)
  }

  private readonly onTrusted = ({ peerId }: AgoraEventMap['peer:trusted']): void => {
    void this.tag(peerId, true)
    if (!this.peerBook.isBanned(peerId) && !this.isConnected(peerId)) this.schedule(peerId, 0)
  }

  private readonly onUntrusted = ({ peerId }: AgoraEventMap['peer:untrusted']): void => {
    this.cancel(peerId)
    void this.tag(peerId, false)
  }

  private readonly onConnect = (event: CustomEvent<PeerId>): void => {
    const peerId = event.detail.toString()
    // the gater refuses banned peers; this catches a connection that was already upgrading when the ban came
    if (this.peerBook.isBanned(peerId)) {
      void this.hangUp(peerId)
      return
    }
    this.cancel(peerId)
  }

  private readonly onDisconnect = (event: CustomEvent<PeerId>): void => {
    const peerId = event.detail.toString()
    if (!this.started || !this.peerBook.isTrusted(peerId) || this.peerBook.isBanned(peerId)) return
    this.log.info({ peerId }, 'trusted peer disconnected: reconnecting')
    this.schedule(peerId, this.delay(0))
  }

  /** Redial `peerId` after `delayMs` (keeps an already scheduled redial). */
  private schedule (peerId: string, delayMs: number): void {
    if (!this.started) return
    let reconnect = this.reconnects.get(peerId)
    if (reconnect === undefined) {
      reconnect = { attempt: 0, timer: undefined, dialling: false }
      this.reconnects.set(peerId, reconnect)
    } else if (reconnect.timer !== undefined || reconnect.dialling) {
      return
    }
    const entry = reconnect
    entry.timer = setTimeout(() => {
      entry.timer = undefined
      void this.redial(peerId, entry)
    }, delayMs)
    entry.timer.unref()
  }

  private async redial (peerId: string, reconnect: Reconnect): Promise<void> {
    if (!this.started || this.reconnects.get(peerId) !== reconnect) return
    if (!this.peerBook.isTrusted(peerId) || this.peerBook.isBanned(peerId)) {
      this.cancel(peerId)
      return
    }
    let id: PeerId
    try {
      id = peerIdFromString(peerId)
    } catch (err) {
      this.log.warn({ peerId, err: messageOf(err) }, 'trusted peer has an invalid peer id: not reconnecting')
      this.cancel(peerId)
      return
    }
    if (this.libp2p.getConnections(id).length > 0) {
      this.cancel(peerId)
      return
    }
    reconnect.dialling = true
    try {
      const multiaddrs = (this.peerBook.view(peerId)?.addresses ?? []).flatMap(parseAddress)
      if (multiaddrs.length > 0) await this.libp2p.peerStore.merge(id, { multiaddrs })
      await this.libp2p.dial(id, { signal: AbortSignal.any([AbortSignal.timeout(this.init.dialTimeoutMs), this.shutdown.signal]) })
      this.metrics?.reconnects.inc({ outcome: 'success' })
      this.log.info({ peerId, attempts: reconnect.attempt + 1 }, 'trusted peer reconnected')
      if (this.reconnects.get(peerId) === reconnect) this.reconnects.delete(peerId)
    } catch (err) {
      reconnect.dialling = false
      if (!this.started || this.reconnects.get(peerId) !== reconnect) return
      this.metrics?.reconnects.inc({ outcome: 'failure' })
      const delay = this.delay(reconnect.attempt)
      reconnect.attempt++
      this.log.debug({ peerId, attempt: reconnect.attempt, retryInMs: delay, err: messageOf(err) }, 'redial to trusted peer failed')
      this.schedule(peerId, delay)
    }
  }

  private delay (attempt: number): number {
    return backoffDelay(attempt, this.init.trustedReconnectMinMs, this.init.trustedReconnectMaxMs, this.init.random())
  }

  private cancel (peerId: string): void {
    const reconnect = this.reconnects.get(peerId)
    if (reconnect === undefined) return
    clearTimeout(reconnect.timer)
    this.reconnects.delete(peerId)
  }

  private isConnected (peerId: string): boolean {
    try {
      return this.libp2p.getConnections(peerIdFromString(peerId)).length > 0
    } catch {
      return false
    }
  }

  private async hangUp (peerId: string): Promise<void> {
    try {
      const id = peerIdFromString(peerId)
      if (this.libp2p.getConnections(id).length === 0) return
      await this.libp2p.hangUp(id, { signal: AbortSignal.any([AbortSignal.timeout(this.init.dialTimeoutMs), this.shutdown.signal]) })
      this.metrics?.hangUps.inc()
      this.log.info({ peerId }, 'disconnected a banned peer')
    } catch (err) {
      this.log.debug({ peerId, err: messageOf(err) }, 'cannot hang up on a banned peer')
    }
  }

  private async tag (peerId: string, trusted: boolean): Promise<void> {
    try {
      await this.libp2p.peerStore.merge(peerIdFromString(peerId), { tags: { [TRUSTED_TAG]: trusted ? { value: TRUSTED_TAG_VALUE } : undefined } })
    } catch (err) {
      this.log.debug({ peerId, err: messageOf(err) }, 'cannot tag the trusted peer')
    }
  }
}

function parseAddress (text: string): Multiaddr[] {
  try {
    return [multiaddr(text)]
  } catch {
    return []
  }
}
