/**
 * Speaking for this node: builds, signs, applies and gossips its OFFER
 * (at start, every `reannounceMs`, after registry changes — whichever way,
 * at most once per `gapMs`, so peers' per-origin limits never bite) and its WITHDRAW
 * (on `withdraw()`, at stop, and when capacity goes). Gossip reaching nobody
 * (E210) is not an error: anti-entropy carries the offer to the next peer,
 * and once a sync round shows we have peers we speak again, because what a
 * peer pulls by sync is not re-gossiped — a fresh Lamport is.
 *
 * `withdraw()` pauses: nothing is announced until `announce()` (the pause is
 * not persisted; a restarted node announces again).
 */
import { AgoraError, isAgoraError, messageOf } from '../errors.ts'
import { OFFERS_TOPIC } from '../p2p/index.ts'
import { hasSomethingToOffer } from './builder.ts'
import type { CapabilityRecords } from './dht.ts'
import type { LocalOfferState } from './local-offer.ts'
import type { Offer } from './schema.ts'
import type { OfferEntry } from './table.ts'
import type { Logger } from '../observability/logger.ts'
import type { Gossip } from '../p2p/index.ts'
import type { CapabilityRegistry } from '../providers/registry.ts'

export interface AnnouncerComponents {
  state: LocalOfferState
  registry: Pick<CapabilityRegistry, 'snapshot'>
  gossip: Pick<Gossip, 'publish'>
  records: CapabilityRecords | undefined
  /** Put one of our own entries in the table (events and metrics included). */
  apply: (entry: OfferEntry, now: number) => void
  /** Our offer as the table holds it, while valid. */
  local: () => Offer | undefined
  log: Logger
}

export interface AnnouncerInit {
  reannounceMs: number
  /** A registry change waits this long for more changes. */
  debounceMs: number
  /** Announcements are at least this far apart (2 × 60 s / offers.perOriginPerMinute). */
  gapMs: number
  now: () => number
}

export class Announcer {
  private readonly c: AnnouncerComponents
  private readonly init: AnnouncerInit
  private paused = false
  /** The last offer or withdrawal reached no gossip peer. */
  private unheard = false
  private lastAt = -Infinity
  private pending: NodeJS.Timeout | undefined
  private timer: NodeJS.Timeout | undefined
  private running = false

  constructor (components: AnnouncerComponents, init: AnnouncerInit) {
    this.c = components
    this.init = init
  }

  /** Announce now (E810 when there is nothing to offer is only logged) and every reannounceMs. */
  async start (): Promise<void> {
    this.running = true
    // the periodic re-announce keeps the gap too: a short reannounceMs must not outrun peers' per-origin limit
    this.timer = setInterval(() => { if (!this.paused) this.schedule() }, this.init.reannounceMs)
    this.timer.unref()
    await this.quietly('start')
  }

  /** Stop the timers; withdraw (bounded by `withinMs`) unless already withdrawn. */
  async stop (withinMs: number): Promise<void> {
    clearInterval(this.timer)
    clearTimeout(this.pending)
    this.pending = undefined
    if (!this.paused && this.c.local() !== undefined) {
      const bound = new Promise<void>(resolve => { setTimeout(resolve, withinMs).unref() })
      await Promise.race([this.publishWithdrawal().catch(err => { this.c.log.debug({ err: messageOf(err) }, 'withdrawal on stop failed') }), bound])
    }
    this.running = false
  }

  get withdrawn (): boolean {
    return this.paused
  }

  /** Build, sign and publish the offer now, and resume after a withdraw. E810 when there is nothing to offer. */
  async announce (): Promise<Offer> {
    this.paused = false
    return await this.publishOffer()
  }

  /** Publish a WITHDRAW and pause; false when there was no valid offer to withdraw. */
  async withdraw (): Promise<boolean> {
    this.paused = true
    clearTimeout(this.pending)
    this.pending = undefined
    if (this.c.local() === undefined) return false
    await this.publishWithdrawal()
    return true
  }

  /** Announce soon (registry change, our old offer seen elsewhere), at most once per gap. */
  schedule (): void {
    if (!this.running || this.pending !== undefined) return
    const delay = Math.max(this.init.debounceMs, this.lastAt + this.init.gapMs - this.init.now())
    this.pending = setTimeout(() => {
      this.pending = undefined
      void this.quietly('change')
    }, Math.max(0, delay))
    this.pending.unref()
  }

  /** Our entry from an older life came back from a peer (Lamport now above it): say it again, fresh. */
  missedBySomeone (): void {
    this.unheard = true
    this.schedule()
  }

  /** A sync round went well, so we have peers: speak again if nobody heard us last time. */
  peersReachable (): void {
    if (this.unheard) this.schedule()
  }

  /** DHT records for what our valid offer serves (nothing when withdrawn); `force` provides them all again. */
  provideRecords (force: boolean): void {
    const offer = this.c.local()
    this.c.records?.update({ models: offer?.models.map(m => m.name) ?? [], taskTypes: offer?.taskTypes ?? [] }, force)
  }

  private async quietly (reason: string): Promise<void> {
    if (!this.running) return
    try {
      if (this.paused) {
        // withdrawn, yet our old offer came back from a peer or nobody heard the withdrawal: tombstone again
        if (this.c.local() !== undefined || this.unheard) await this.publishWithdrawal()
        return
      }
      await this.publishOffer()
    } catch (err) {
      if (isAgoraError(err, 'E810')) this.c.log.debug({ reason }, 'nothing to offer')
      else this.c.log.warn({ err: messageOf(err), reason }, 'announcing the offer failed')
    }
  }

  private async publishOffer (): Promise<Offer> {
    // a change scheduled before now is in this offer: publishing it again right after would spend the gap for nothing
    clearTimeout(this.pending)
    this.pending = undefined
    const now = this.init.now()
    const snapshot = this.c.registry.snapshot()
    if (!hasSomethingToOffer(snapshot)) {
      // capacity gone: take back what we advertised
      if (this.c.local() !== undefined) await this.publishWithdrawal()
      throw new AgoraError('E810', 'this node has nothing to offer', { why: 'no registered provider serves a model or task type with at least one slot' })
    }
    const entry = this.c.state.offer(snapshot, now)
    this.lastAt = now
    this.c.apply(entry, now)
    this.provideRecords(false)
    await this.publish(entry)
    return entry.offer
  }

  private async publishWithdrawal (): Promise<void> {
    const now = this.init.now()
    const entry = this.c.state.withdrawal(now)
    this.lastAt = now
    this.c.apply(entry, now)
    this.provideRecords(false)
    await this.publish(entry)
  }

  private async publish (entry: OfferEntry): Promise<void> {
    try {
      await this.c.gossip.publish(OFFERS_TOPIC, new TextEncoder().encode(entry.raw))
      this.unheard = false
    } catch (err) {
      this.unheard = true
      if (isAgoraError(err, 'E210') || isAgoraError(err, 'E206')) this.c.log.debug({ err: messageOf(err), kind: entry.kind }, 'offer not gossiped now; anti-entropy will carry it')
      else this.c.log.warn({ err: messageOf(err), kind: entry.kind }, 'gossiping the offer failed')
    }
  }
}
