/**
 * DHT provider records for the package roots this node holds: the manifest
 * CID and each file's root CID of every package it published or installed.
 * Roots, not every block (kubo's "roots" strategy): a peer that finds a root
 * asks its holder for the rest over bitswap, and a 64 GiB model stays 1 record
 * per file, not 65,536.
 *
 * Everything runs in the background and never throws into the caller: a
 * lone node has no DHT peers, and a failed provide is logged, counted and
 * tried again at the next round.
 */
import type { Registry, Counter } from 'prom-client'
import type { CID } from 'multiformats/cid'
import { messageOf } from '../errors.ts'
import { counter } from '../observability/metrics.ts'
import type { Logger } from '../observability/logger.ts'

export const PROVIDER_DEFAULTS = {
  /** Provide every held root again this often (DHT provider records live 48 h). */
  reprovideIntervalMs: 6 * 60 * 60 * 1000,
  /** Roots waiting for a DHT peer are tried again this often. */
  retryIntervalMs: 30_000,
  /** First round after start: peers have had time to connect, and start stays cheap. */
  startDelayMs: 5_000,
  /** One provide gives up after this long. */
  provideTimeoutMs: 30_000
} as const

export interface RootProviderComponents {
  /** The node's DHT (libp2p.contentRouting). */
  routing: { provide(cid: CID, options?: { signal?: AbortSignal }): Promise<void> }
  /** Whether any peer is connected: a provide with none reaches nobody. */
  hasPeers: () => boolean
  /** Every root this node holds now (published and installed packages). */
  roots: () => CID[] | Promise<CID[]>
  log: Logger
  metrics?: Registry
}

export interface RootProviderInit {
  /** packages.provide && network.dht.enabled. */
  enabled: boolean
  reprovideIntervalMs?: number
  retryIntervalMs?: number
  startDelayMs?: number
  provideTimeoutMs?: number
}

export class RootProvider {
  private readonly c: RootProviderComponents
  private readonly init: Required<RootProviderInit>
  private readonly outcomes: Counter<'outcome'> | undefined
  /** CID string → CID, waiting to be provided. */
  private readonly pending = new Map<string, CID>()
  private timers: NodeJS.Timeout[] = []
  private running: Promise<void> | undefined
  private shutdown = new AbortController()
  private started = false

  constructor (components: RootProviderComponents, init: RootProviderInit) {
    this.c = components
    this.init = { ...PROVIDER_DEFAULTS, ...init }
    this.outcomes = components.metrics === undefined
      ? undefined
      : counter(components.metrics, 'agora_packages_provides_total', 'DHT provide calls for package roots, by outcome (ok, failed, skipped: no peer yet)', ['outcome'])
  }

  start (): void {
    if (!this.init.enabled || this.started) return
    this.started = true
    this.shutdown = new AbortController()
    this.timers = [
      setTimeout(() => { this.reprovideAll() }, this.init.startDelayMs),
      setInterval(() => { this.reprovideAll() }, this.init.reprovideIntervalMs),
      setInterval(() => { this.drain() }, this.init.retryIntervalMs)
    ]
    for (const timer of this.timers) timer.unref()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    for (const timer of this.timers) clearTimeout(timer)
    this.timers = []
    this.shutdown.abort()
    this.pending.clear()
    await this.running
  }

  /** Provide these roots soon (new packages); returns at once. */
  provide (cids: CID[]): void {
    if (!this.init.enabled) return
    for (const cid of cids) this.pending.set(cid.toString(), cid)
    if (this.started) this.drain()
  }

  /** Roots waiting for a provide (tests and status). */
  waiting (): number {
    return this.pending.size
  }

  private reprovideAll (): void {
    Promise.resolve(this.c.roots()).then(roots => { this.provide(roots) }, (err: unknown) => {
      this.c.log.warn({ err: messageOf(err) }, 'listing package roots to provide failed')
    })
  }

  /** Provide what is pending, one at a time, unless a round runs already. */
  private drain (): void {
    if (this.running !== undefined || this.pending.size === 0 || !this.started) return
    this.running = this.round().finally(() => { this.running = undefined })
  }

  private async round (): Promise<void> {
    const failed: CID[] = []
    try {
      await this.provideEach(failed)
    } finally {
      // tried again at the next retry tick (not within this round: no tight loop on a DHT that fails fast)
      if (!this.shutdown.signal.aborted) for (const cid of failed) this.pending.set(cid.toString(), cid)
    }
  }

  private async provideEach (failed: CID[]): Promise<void> {
    for (const [key, cid] of [...this.pending]) {
      if (this.shutdown.signal.aborted) return
      if (!this.c.hasPeers()) {
        // left pending: the retry timer tries again once peers are there
        this.outcomes?.inc({ outcome: 'skipped' })
        return
      }
      this.pending.delete(key)
      try {
        await this.c.routing.provide(cid, { signal: AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.init.provideTimeoutMs)]) })
        this.outcomes?.inc({ outcome: 'ok' })
        this.c.log.debug({ cid: key }, 'package root provided on the DHT')
      } catch (err) {
        if (this.shutdown.signal.aborted) return
        this.outcomes?.inc({ outcome: 'failed' })
        failed.push(cid)
        this.c.log.debug({ cid: key, err: messageOf(err) }, 'providing a package root failed; tried again later')
      }
    }
  }
}
