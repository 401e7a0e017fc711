/**
 * Signed messages delivered to peers until acknowledged — payment proofs
 * (payment-sender.ts) and VOIDs (void-sender.ts): per peer one send at a
 * time; a failed one is sent again, unchanged, with a doubling delay capped
 * at `retryMaxMs`; what was left at a stop goes out again at the next start.
 * Subclasses say what to send and when (`sendAll`, `resume`).
 */
import { AgoraError, messageOf } from '../errors.ts'
import { MARKET_DEFAULTS } from './constants.ts'
import type { Logger } from '../observability/logger.ts'

export interface DeliveryInit {
  retryMinMs?: number
  retryMaxMs?: number
  timeoutMs?: number
}

export interface PeerState {
  timer: NodeJS.Timeout | undefined
  running: boolean
  /** Sends in a row that failed (the backoff exponent). */
  failures: number
}

export abstract class PeerDelivery {
  protected readonly log: Logger
  protected readonly retryMinMs: number
  protected readonly retryMaxMs: number
  protected readonly timeoutMs: number
  protected running = false
  private readonly peers = new Map<string, PeerState>()
  private shutdown = new AbortController()
  /** What a failed run is logged as ("paying", "sending a VOID"). */
  private readonly what: string

  constructor (log: Logger, init: DeliveryInit, what: string) {
    this.log = log
    this.retryMinMs = init.retryMinMs ?? MARKET_DEFAULTS.paymentRetryMinMs
    this.retryMaxMs = init.retryMaxMs ?? MARKET_DEFAULTS.paymentRetryMaxMs
    this.timeoutMs = init.timeoutMs ?? MARKET_DEFAULTS.paymentTimeoutMs
    this.what = what
  }

  /** Begin delivering; every peer with something left over is resumed. */
  start (): void {
    if (this.running) return
    this.running = true
    this.shutdown = new AbortController()
    this.resume()
  }

  stop (): void {
    this.running = false
    this.shutdown.abort(new AgoraError('E504', 'the market is stopping'))
    for (const state of this.peers.values()) clearTimeout(state.timer)
    this.peers.clear()
  }

  /** Peers with a send in progress or scheduled. */
  busy (): number {
    let n = 0
    for (const state of this.peers.values()) if (state.running || state.timer !== undefined) n++
    return n
  }

  /** Called at start: look at every peer with something to deliver. */
  protected abstract resume (): void

  /** Send what is due to `peer` until nothing is, or one send fails (then call `retryLater`). */
  protected abstract sendAll (peer: string, state: PeerState): Promise<void>

  /** The signal of one send: the node stopping, or the send's own timeout. */
  protected sendSignal (): AbortSignal {
    return AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.timeoutMs)])
  }

  protected run (peer: string, state: PeerState): void {
    state.running = true
    this.sendAll(peer, state)
      .catch(err => { this.log.warn({ peer, err: messageOf(err) }, `${this.what} failed`) })
      .finally(() => { state.running = false })
  }

  /** One more failure: the next try after the doubled delay, which is answered. */
  protected retryLater (peer: string, state: PeerState): number {
    state.failures++
    const delay = Math.min(this.retryMaxMs, this.retryMinMs * 2 ** Math.min(state.failures - 1, 30))
    this.later(peer, state, delay)
    return delay
  }

  protected later (peer: string, state: PeerState, ms: number): void {
    clearTimeout(state.timer)
    state.timer = setTimeout(() => {
      state.timer = undefined
      if (this.running) this.run(peer, state)
    }, ms)
    state.timer.unref()
  }

  protected state (peer: string): PeerState {
    let state = this.peers.get(peer)
    if (state === undefined) {
      state = { timer: undefined, running: false, failures: 0 }
      this.peers.set(peer, state)
    }
    return state
  }
}
