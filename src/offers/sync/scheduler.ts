/**
 * When anti-entropy runs: with each newly identified peer that serves
 * /agora/sync/1 (identify tells us its protocols, right after a
 * connection opens — this is what makes a healed partition converge fast),
 * and every `intervalMs` with a random connected peer. A peer synced less
 * than `minGapMs` ago, or already queued or running, is not queued again.
 * At most `concurrency` rounds run at once; the queue is bounded (beyond it
 * a peer is dropped: the periodic round catches up). A nudge (the peer has
 * news) queues a round too; within `minGapMs` of the last one it is put off
 * to the end of the gap rather than dropped.
 */
import { messageOf } from '../../errors.ts'
import type { Logger } from '../../observability/logger.ts'
import type { IdentifyResult, Libp2p } from '@libp2p/interface'

export type SchedulerLibp2p = Pick<Libp2p, 'addEventListener' | 'removeEventListener' | 'getPeers'>

export interface SyncSchedulerComponents {
  libp2p: SchedulerLibp2p
  /** Run one round with a peer (must not throw; it is caught and logged anyway). */
  run: (peer: string, signal: AbortSignal) => Promise<unknown>
  log: Logger
}

export interface SyncSchedulerInit {
  protocol: string
  intervalMs: number
  minGapMs: number
  concurrency: number
  queueSize: number
  now?: () => number
}

export class SyncScheduler {
  private readonly libp2p: SchedulerLibp2p
  private readonly run: SyncSchedulerComponents['run']
  private readonly log: Logger
  private readonly init: SyncSchedulerInit
  private readonly now: () => number
  private readonly queue = new Set<string>()
  private readonly running = new Map<string, Promise<void>>()
  private readonly lastRun = new Map<string, number>()
  private readonly deferred = new Map<string, NodeJS.Timeout>()
  /** Nudged while a round with them was running: go again when it ends. */
  private readonly again = new Set<string>()
  private timer: NodeJS.Timeout | undefined
  private shutdown = new AbortController()
  private started = false

  constructor (components: SyncSchedulerComponents, init: SyncSchedulerInit) {
    this.libp2p = components.libp2p
    this.run = components.run
    this.log = components.log
    this.init = init
    this.now = init.now ?? Date.now
  }

  start (): void {
    if (this.started) return
    this.started = true
    this.shutdown = new AbortController()
    this.libp2p.addEventListener('peer:identify', this.onIdentify)
    this.timer = setInterval(() => { this.tick() }, this.init.intervalMs)
    this.timer.unref()
  }

  /** Stop scheduling, abort running rounds and wait for them to end. */
  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    clearInterval(this.timer)
    this.libp2p.removeEventListener('peer:identify', this.onIdentify)
    for (const timer of this.deferred.values()) clearTimeout(timer)
    this.deferred.clear()
    this.again.clear()
    this.queue.clear()
    this.shutdown.abort()
    await Promise.allSettled(this.running.values())
  }

  /** Queue a round with `peer` (respecting the gap unless `force`). */
  schedule (peer: string, force = false): boolean {
    if (!this.started || this.queue.has(peer) || this.running.has(peer)) return false
    if (!force && this.now() - (this.lastRun.get(peer) ?? -Infinity) < this.init.minGapMs) return false
    if (this.queue.size >= this.init.queueSize) return false
    this.queue.add(peer)
    this.pump()
    return true
  }

  /** The peer says it has news: a round with it now, or at the end of the gap since the last one. */
  nudge (peer: string): void {
    if (!this.started || this.deferred.has(peer) || this.queue.has(peer)) return
    if (this.running.has(peer)) {
      if (this.again.size < this.init.queueSize) this.again.add(peer)
      return
    }
    const wait = (this.lastRun.get(peer) ?? -Infinity) + this.init.minGapMs - this.now()
    if (wait <= 0) {
      this.schedule(peer, true)
      return
    }
    if (this.deferred.size >= this.init.queueSize) return
    const timer = setTimeout(() => {
      this.deferred.delete(peer)
      this.schedule(peer, true)
    }, wait)
    timer.unref()
    this.deferred.set(peer, timer)
  }

  /** One periodic round with a random connected peer not already busy. */
  tick (): void {
    const peers = this.libp2p.getPeers().map(String).filter(p => !this.running.has(p) && !this.queue.has(p))
    if (peers.length === 0) return
    this.schedule(peers[Math.floor(Math.random() * peers.length)] as string, true)
  }

  private readonly onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    if (!event.detail.protocols.includes(this.init.protocol)) return
    this.schedule(event.detail.peerId.toString())
  }

  private pump (): void {
    while (this.running.size < this.init.concurrency && this.queue.size > 0) {
      const peer = this.queue.values().next().value as string
      this.queue.delete(peer)
      this.lastRun.set(peer, this.now())
      if (this.lastRun.size > 4 * this.init.queueSize + 1000) this.forgetOld()
      const round = this.run(peer, this.shutdown.signal)
        .then(() => {}, err => { this.log.debug({ err: messageOf(err), peer }, 'anti-entropy round failed') })
        .finally(() => {
          this.running.delete(peer)
          if (this.again.delete(peer)) this.schedule(peer, true)
          if (this.started) this.pump()
        })
      this.running.set(peer, round)
    }
  }

  private forgetOld (): void {
    const cutoff = this.now() - this.init.minGapMs
    for (const [peer, at] of this.lastRun) if (at < cutoff) this.lastRun.delete(peer)
  }
}
