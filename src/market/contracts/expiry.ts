/**
 * Contract expiry: a timer set to the earliest expiry of an open contract
 * (and at least every `sweepMs`, in case the clock jumped). A contract past
 * its expiresAt becomes expired; on the buyer's side the rest of its hold
 * is released first. Exactly once: the release has one idempotency key,
 * the state change is compare-and-set, and only the path that made it
 * tells anyone — so the escrow's own sweep, this one and a restart may all
 * meet on the same contract.
 */
import { messageOf } from '../../errors.ts'
import type { Logger } from '../../observability/logger.ts'
import type { ContractRecord, ContractsRepository } from './repository.ts'

export interface ContractExpiryComponents {
  contracts: Pick<ContractsRepository, 'due' | 'nextExpiry' | 'move' | 'get'>
  /** Release what is left of a hold (idempotent). */
  release: (holdId: string) => void
  /** The contract expired (here, now). */
  expired: (contract: ContractRecord, from: ContractRecord['state']) => void
  log: Logger
}

export interface ContractExpiryInit {
  sweepMs: number
  now?: () => number
}

/** Contracts expired per sweep at most (the rest go in the next, right after). */
const BATCH = 500

export class ContractExpiry {
  private readonly c: ContractExpiryComponents
  private readonly sweepMs: number
  private readonly now: () => number
  private timer: NodeJS.Timeout | undefined
  private target = Infinity
  private running = false

  constructor (components: ContractExpiryComponents, init: ContractExpiryInit) {
    this.c = components
    this.sweepMs = init.sweepMs
    this.now = init.now ?? Date.now
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.sweep()
  }

  stop (): void {
    this.running = false
    clearTimeout(this.timer)
    this.timer = undefined
  }

  /** A contract now expires at `expiresAt`: wake up then if that is sooner than planned. */
  scheduled (expiresAt: number): void {
    if (this.running && expiresAt < this.target) this.arm(expiresAt)
  }

  /** Expire one contract now if it is due and open (the escrow's sweep released its hold). */
  expire (contract: ContractRecord, now = this.now()): boolean {
    if (contract.expiresAt > now || (contract.state !== 'proposed' && contract.state !== 'accepted')) return false
    if (contract.role === 'buyer' && contract.holdId !== null) this.c.release(contract.holdId)
    if (!this.c.contracts.move(contract.id, contract.state, 'expired', now)) return false
    this.c.expired({ ...contract, state: 'expired', updatedAt: now }, contract.state)
    return true
  }

  /** Expire everything due. */
  sweep (): number {
    const now = this.now()
    let count = 0
    try {
      for (;;) {
        const due = this.c.contracts.due(now, BATCH)
        for (const contract of due) if (this.expire(contract, now)) count++
        if (due.length < BATCH) break
      }
    } catch (err) {
      this.c.log.error({ err: messageOf(err) }, 'contract expiry sweep failed')
    }
    if (this.running) this.arm(this.c.contracts.nextExpiry() ?? Infinity)
    return count
  }

  private arm (at: number): void {
    clearTimeout(this.timer)
    const now = this.now()
    const next = Math.min(at, now + this.sweepMs)
    this.target = next
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.target = Infinity
      this.sweep()
    }, Math.max(0, next - now))
    this.timer.unref()
  }
}
