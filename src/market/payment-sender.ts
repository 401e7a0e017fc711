/**
 * When this node pays: per payee, a proof goes out once `everyReceipts`
 * captured receipts are unlisted, or `everyMs` after the oldest of them
 * was captured. The payer side (payments/payer.ts) signs it — or hands the
 * outstanding one back unchanged — and its rows ride the ledger's group
 * commit, so it is sent only after `durable()`. An unacknowledged proof is
 * sent again, unchanged, with a doubling delay (capped) until the payee
 * answers OK; only then is the next one signed. One send at a time per
 * payee; captures during a send are looked at when it is acknowledged.
 */
import { AgoraError, messageOf } from '../errors.ts'
import { formatCredits } from './amount.ts'
import { MARKET_DEFAULTS } from './constants.ts'
import type { AgoraEvents, PaymentEvent } from '../events.ts'
import type { Envelope } from '../identity/index.ts'
import type { Logger } from '../observability/logger.ts'
import type { MarketMetrics } from './metrics.ts'
import type { Payer, SentProof } from './payments/payer.ts'

export interface PaymentSenderComponents {
  payer: Pick<Payer, 'next' | 'acknowledged' | 'state' | 'payees'>
  durable: () => Promise<void>
  /** Deliver a PAYMENT envelope; resolves when the payee answered OK, throws its refusal or the failure. */
  send: (payee: string, envelope: Envelope, signal: AbortSignal) => Promise<void>
  events: Pick<AgoraEvents, 'emit'>
  metrics: MarketMetrics | undefined
  log: Logger
}

export interface PaymentSenderInit {
  everyReceipts?: number
  everyMs?: number
  retryMinMs?: number
  retryMaxMs?: number
  timeoutMs?: number
  now?: () => number
}

interface PayeeState {
  timer: NodeJS.Timeout | undefined
  running: boolean
  /** Sends in a row that failed (the backoff exponent). */
  failures: number
}

/** Codes with which a payee refuses a proof (not a transport failure). */
const REFUSALS = new Set(['E1100', 'E1117', 'E1120', 'E1121', 'E110', 'E112', 'E113', 'E117'])

export class PaymentSender {
  private readonly c: PaymentSenderComponents
  private readonly everyReceipts: number
  private readonly everyMs: number
  private readonly retryMinMs: number
  private readonly retryMaxMs: number
  private readonly timeoutMs: number
  private readonly now: () => number
  private readonly payees = new Map<string, PayeeState>()
  private shutdown = new AbortController()
  private running = false

  constructor (components: PaymentSenderComponents, init: PaymentSenderInit = {}) {
    this.c = components
    this.everyReceipts = init.everyReceipts ?? MARKET_DEFAULTS.paymentEveryReceipts
    this.everyMs = init.everyMs ?? MARKET_DEFAULTS.paymentEveryMs
    this.retryMinMs = init.retryMinMs ?? MARKET_DEFAULTS.paymentRetryMinMs
    this.retryMaxMs = init.retryMaxMs ?? MARKET_DEFAULTS.paymentRetryMaxMs
    this.timeoutMs = init.timeoutMs ?? MARKET_DEFAULTS.paymentTimeoutMs
    this.now = init.now ?? Date.now
  }

  /** Resume every payee with something owed (proofs outstanding at the last stop go out again). */
  start (): void {
    if (this.running) return
    this.running = true
    this.shutdown = new AbortController()
    for (const payee of this.c.payer.payees()) this.check(payee)
  }

  stop (): void {
    this.running = false
    this.shutdown.abort(new AgoraError('E504', 'the market is stopping'))
    for (const state of this.payees.values()) clearTimeout(state.timer)
    this.payees.clear()
  }

  /** A receipt owed to `payee` was captured: pay now or later, as the policy says. */
  captured (payee: string): void {
    this.check(payee)
  }

  /** Send what is due to `payee` now, whatever the policy (tests, `agora wallet reconcile`). */
  flush (payee: string): void {
    if (!this.running) return
    const state = this.state(payee)
    clearTimeout(state.timer)
    state.timer = undefined
    state.failures = 0
    this.run(payee, state)
  }

  /** Payees with a send in progress or scheduled. */
  busy (): number {
    let n = 0
    for (const state of this.payees.values()) if (state.running || state.timer !== undefined) n++
    return n
  }

  private check (payee: string): void {
    if (!this.running) return
    const state = this.state(payee)
    // sending: what arrives meanwhile is looked at when the proof in flight is acknowledged
    if (state.running) return
    // backing off after a failure: the retry timer decides
    if (state.failures > 0 && state.timer !== undefined) return
    const owed = this.c.payer.state(payee)
    if (owed.outstanding !== undefined || owed.unlisted >= this.everyReceipts) {
      clearTimeout(state.timer)
      state.timer = undefined
      this.run(payee, state)
    } else if (owed.unlisted > 0 && state.timer === undefined) {
      const wait = Math.max(0, (owed.oldestAt ?? this.now()) + this.everyMs - this.now())
      this.later(payee, state, wait)
    }
  }

  private run (payee: string, state: PayeeState): void {
    state.running = true
    this.sendAll(payee, state)
      .catch(err => { this.c.log.warn({ payee, err: messageOf(err) }, 'paying failed') })
      .finally(() => { state.running = false })
  }

  /** Send proofs until nothing due is left, or one fails (then retry later). */
  private async sendAll (payee: string, state: PayeeState): Promise<void> {
    while (this.running) {
      const proof = this.c.payer.next(payee)
      if (proof === undefined) return
      try {
        await this.c.durable()
        const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.timeoutMs)])
        await this.c.send(payee, proof.envelope, signal)
      } catch (err) {
        if (!this.running) return
        this.failed(state, proof, err)
        return
      }
      this.c.payer.acknowledged(payee, proof.nonce)
      state.failures = 0
      this.c.metrics?.payments.inc({ direction: 'sent', outcome: 'ok' })
      this.c.events.emit('payment:sent', paymentEvent(proof))
      const owed = this.c.payer.state(payee)
      if (owed.unlisted === 0) return
      if (owed.unlisted < this.everyReceipts) {
        this.later(payee, state, Math.max(0, (owed.oldestAt ?? this.now()) + this.everyMs - this.now()))
        return
      }
    }
  }

  private failed (state: PayeeState, proof: SentProof, err: unknown): void {
    const { payee, nonce } = proof
    state.failures++
    const refused = err instanceof AgoraError && REFUSALS.has(err.code) && err.details?.remote === true
    this.c.metrics?.payments.inc({ direction: 'sent', outcome: refused ? 'refused' : 'failed' })
    if (refused) {
      this.c.events.emit('payment:refused', { ...paymentEvent(proof), code: err.code, message: err.what })
    }
    const delay = Math.min(this.retryMaxMs, this.retryMinMs * 2 ** Math.min(state.failures - 1, 30))
    this.c.log.debug({ payee, nonce, failures: state.failures, delay, err: messageOf(err) }, refused ? 'payment refused' : 'payment not delivered')
    this.later(payee, state, delay)
  }

  private later (payee: string, state: PayeeState, ms: number): void {
    clearTimeout(state.timer)
    state.timer = setTimeout(() => {
      state.timer = undefined
      if (!this.running) return
      this.run(payee, state)
    }, ms)
    state.timer.unref()
  }

  private state (payee: string): PayeeState {
    let state = this.payees.get(payee)
    if (state === undefined) {
      state = { timer: undefined, running: false, failures: 0 }
      this.payees.set(payee, state)
    }
    return state
  }
}

function paymentEvent (proof: SentProof): PaymentEvent {
  return { payer: proof.envelope.from, payee: proof.payee, nonce: proof.nonce, cumulative: formatCredits(proof.cumulative), amount: formatCredits(proof.amount) }
}
