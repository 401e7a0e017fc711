/** provider:status events: each provider's health as last told, and what changed since (added, a new status, gone). */
import type { AgoraEvents } from '../events.ts'
import type { HealthStatus, InferenceProvider } from './inference.ts'

export class HealthAnnouncer {
  private readonly events: Pick<AgoraEvents, 'emit'> | undefined
  private readonly last = new Map<string, { status: HealthStatus, kind: string }>()

  constructor (events: Pick<AgoraEvents, 'emit'> | undefined) {
    this.events = events
  }

  /** Tell of every provider whose health changed since the last call, and of those no longer there (`removed`). */
  announce (providers: Array<{ provider: InferenceProvider, models: number }>): void {
    const present = new Set<string>()
    for (const { provider, models } of providers) {
      present.add(provider.id)
      const health = provider.health()
      const before = this.last.get(provider.id)
      if (before?.status === health.status) continue
      this.last.set(provider.id, { status: health.status, kind: provider.kind })
      this.events?.emit('provider:status', { provider: provider.id, kind: provider.kind, status: health.status, previous: before?.status ?? null, models, error: health.lastError ?? null })
    }
    for (const [id, before] of [...this.last]) {
      if (present.has(id)) continue
      this.last.delete(id)
      this.events?.emit('provider:status', { provider: id, kind: before.kind, status: 'removed', previous: before.status, models: 0, error: null })
    }
  }
}
