/**
 * Delivery of VOIDs (docs/market.md "Voided parts"), as payment proofs are
 * delivered (peer-delivery.ts): per payee one send at a time, each VOID not
 * acknowledged sent again, unchanged, with a doubling delay (a worker
 * offline gets it when it is back); those left at a stop go out again at
 * the next start. A VOID goes out only once its row (and the release of
 * the part it voids) is on disk.
 */
import { messageOf } from '../errors.ts'
import { PeerDelivery, type DeliveryInit, type PeerState } from './peer-delivery.ts'
import type { Envelope } from '../identity/index.ts'
import type { Logger } from '../observability/logger.ts'
import type { SentVoids } from './payments/voids-sent.ts'

export interface VoidSenderComponents {
  voids: Pick<SentVoids, 'pending' | 'payees' | 'acknowledged'>
  durable: () => Promise<void>
  /** Deliver a VOID envelope; resolves when the payee answered OK, throws its refusal or the failure. */
  send: (payee: string, envelope: Envelope, signal: AbortSignal) => Promise<void>
  log: Logger
}

export type VoidSenderInit = DeliveryInit

export class VoidSender extends PeerDelivery {
  private readonly c: VoidSenderComponents

  constructor (components: VoidSenderComponents, init: VoidSenderInit = {}) {
    super(components.log, init, 'sending a VOID')
    this.c = components
  }

  protected resume (): void {
    for (const payee of this.c.voids.payees()) this.queued(payee)
  }

  /** A VOID to `payee` was signed: send it now, unless a send or a retry is under way. */
  queued (payee: string): void {
    if (!this.running) return
    const state = this.state(payee)
    if (state.running || state.timer !== undefined) return
    this.run(payee, state)
  }

  /** Send until none is left (those signed meanwhile too), or one fails (then again later). */
  protected async sendAll (payee: string, state: PeerState): Promise<void> {
    while (this.running) {
      const open = this.c.voids.pending(payee)[0]
      if (open === undefined) return
      try {
        await this.c.durable()
        await this.c.send(payee, open.envelope, this.sendSignal())
      } catch (err) {
        if (!this.running) return
        const delay = this.retryLater(payee, state)
        this.log.debug({ payee, receiptId: open.receiptId, failures: state.failures, delay, err: messageOf(err) }, 'VOID not delivered; sent again later')
        return
      }
      state.failures = 0
      this.c.voids.acknowledged(payee, open.receiptId)
    }
  }
}
