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
import { PeerDelivery, type DeliveryInit, type PeerState } from './peer-delivery.ts'
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

export interface PaymentSenderInit extends DeliveryInit {
  everyReceipts?: number
  everyMs?: number
  now?: () => number
}

/** Codes with which a payee refuses a proof (not a transport failure). */
const REFUSALS = new Set(['E1100', 'E1117', 'E1120', 'E1121', 'E110', 'E112', 'E113', 'E117'])

export class PaymentSender extends PeerDelivery {
  private readonly c: PaymentSenderComponents
  private readonly everyReceipts: number
  private readonly everyMs: number
  private readonly now: () => number

  constructor (components: PaymentSenderComponents, init: PaymentSenderInit = {}) {
    super(components.log, init, 'paying')
    this.c = components
    this.everyReceipts = init.everyReceipts ?? MARKET_DEFAULTS.paymentEveryReceipts
    this.everyMs = init.everyMs ?? MARKET_DEFAULTS.paymentEveryMs
    this.now = init.now ?? Date.now
  }

  /** Proofs outstanding at the last stop go out again; what is owed is paid as the policy says. */
  protected resume (): void {
    for (const payee of this.c.payer.payees()) this.check(payee)
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

  /** Send proofs until nothing due is left, or one fails (then retry later). */
  protected async sendAll (payee: string, state: PeerState): Promise<void> {
    while (this.running) {
      const proof = this.c.payer.next(payee)
      if (proof === undefined) return
      try {
        await this.c.durable()
        await this.c.send(payee, proof.envelope, this.sendSignal())
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

  private failed (state: PeerState, proof: SentProof, err: unknown): void {
    const { payee, nonce } = proof
    const refused = err instanceof AgoraError && REFUSALS.has(err.code) && err.details?.remote === true
    this.c.metrics?.payments.inc({ direction: 'sent', outcome: refused ? 'refused' : 'failed' })
    if (refused) {
      this.c.events.emit('payment:refused', { ...paymentEvent(proof), code: err.code, message: err.what })
    }
    const delay = this.retryLater(payee, state)
    this.c.log.debug({ payee, nonce, failures: state.failures, delay, err: messageOf(err) }, refused ? 'payment refused' : 'payment not delivered')
  }
}

function paymentEvent (proof: SentProof): PaymentEvent {
  return { payer: proof.envelope.from, payee: proof.payee, nonce: proof.nonce, cumulative: formatCredits(proof.cumulative), amount: formatCredits(proof.amount) }
}
