/**
 * Tells the node a contract moved: the `contract:<state>` event and the
 * contracts-by-state gauge (loaded from the table at start, then moved by
 * one on each change).
 */
import type { AgoraEvents } from '../../events.ts'
import type { MarketMetrics } from '../metrics.ts'
import type { Contract, ContractState } from '../types.ts'
import type { ContractsRepository } from './repository.ts'

export class ContractNotifier {
  private readonly events: Pick<AgoraEvents, 'emit'>
  private readonly contracts: Pick<ContractsRepository, 'counts'>
  private readonly metrics: MarketMetrics | undefined
  private readonly listeners = new Set<(contract: Contract) => void>()

  constructor (components: { events: Pick<AgoraEvents, 'emit'>, contracts: Pick<ContractsRepository, 'counts'>, metrics: MarketMetrics | undefined }) {
    this.events = components.events
    this.contracts = components.contracts
    this.metrics = components.metrics
  }

  /** Emit the event of the contract's (new) state; `from` is the state it left (undefined: a new contract). */
  moved (contract: Contract, from: ContractState | undefined): void {
    const event = { contractId: contract.id, role: contract.role, buyer: contract.buyer, seller: contract.seller, state: contract.state }
    switch (contract.state) {
      case 'proposed': this.events.emit('contract:proposed', event); break
      case 'accepted': this.events.emit('contract:accepted', event); break
      case 'rejected': this.events.emit('contract:rejected', { ...event, reason: contract.reason ?? 'declined' }); break
      case 'settled': this.events.emit('contract:settled', event); break
      case 'refunded': this.events.emit('contract:refunded', event); break
      case 'expired': this.events.emit('contract:expired', event); break
      case 'cancelled': this.events.emit('contract:cancelled', event); break
    }
    if (from !== undefined) this.metrics?.contracts.dec({ role: contract.role, state: from })
    this.metrics?.contracts.inc({ role: contract.role, state: contract.state })
    for (const listener of this.listeners) listener(contract)
  }

  /** Told of every move after its event (the expiry timer learns of new contracts here). */
  onMoved (listener: (contract: Contract) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Set the gauge from the table. */
  refresh (): void {
    if (this.metrics === undefined) return
    this.metrics.contracts.reset()
    for (const { role, state, n } of this.contracts.counts()) this.metrics.contracts.set({ role, state }, n)
  }
}
