/**
 * The capability registry: one place where providers (inference engines)
 * and, later, job executors say what this node can serve — models, task
 * types and capacity. The node's offer is built from it, so an offer never
 * claims more than what is registered here.
 */
import { EventEmitter } from 'node:events'
import type { ChatFeature } from './inference.ts'

export type ModelKind = 'chat' | 'embedding'

export interface ModelCapability {
  /** Model id as clients name it, e.g. `agora/wink-embed-100d` or `llama3.2:3b`. */
  name: string
  /** Which provider serves it (registry source id), e.g. `wink`, `ollama`. */
  provider: string
  kind: ModelKind
  /** Largest input in tokens. */
  contextLength: number
  /** What it can do beyond plain text (chat models); none when absent. */
  features?: ChatFeature[]
}

export interface Capacity {
  /** Requests or subtasks this source can run at once. */
  slotsTotal: number
  /** Of those, free right now. */
  slotsIdle: number
}

/** Something that can serve work: a provider, or a set of job executors. */
export interface CapabilitySource {
  /** Stable id, unique in the registry. */
  readonly id: string
  models(): ModelCapability[]
  taskTypes(): string[]
  capacity(): Capacity
  /** Tags advertised with the offer, e.g. `cpu`, `gpu`, `embedded`. */
  tags?(): string[]
}

export interface CapabilitySnapshot {
  models: ModelCapability[]
  taskTypes: string[]
  tags: string[]
  capacity: Capacity
}

interface RegistryEvents {
  /** Something registered, unregistered or announced a change. */
  changed: []
}

export class CapabilityRegistry extends EventEmitter<RegistryEvents> {
  private readonly sources = new Map<string, CapabilitySource>()

  register (source: CapabilitySource): void {
    if (this.sources.has(source.id)) throw new Error(`capability source '${source.id}' is registered already`)
    this.sources.set(source.id, source)
    this.emit('changed')
  }

  unregister (id: string): boolean {
    const removed = this.sources.delete(id)
    if (removed) this.emit('changed')
    return removed
  }

  /** A source calls this when what it serves or its capacity changed. */
  changed (): void {
    this.emit('changed')
  }

  get (id: string): CapabilitySource | undefined {
    return this.sources.get(id)
  }

  list (): CapabilitySource[] {
    return [...this.sources.values()]
  }

  /** Everything registered, merged: models by name (first source wins), task types and tags deduplicated, capacity summed. */
  snapshot (): CapabilitySnapshot {
    const models = new Map<string, ModelCapability>()
    const taskTypes = new Set<string>()
    const tags = new Set<string>()
    let slotsTotal = 0
    let slotsIdle = 0
    for (const source of this.sources.values()) {
      for (const model of source.models()) if (!models.has(model.name)) models.set(model.name, model)
      for (const taskType of source.taskTypes()) taskTypes.add(taskType)
      for (const tag of source.tags?.() ?? []) tags.add(tag)
      const capacity = source.capacity()
      slotsTotal += capacity.slotsTotal
      slotsIdle += Math.min(capacity.slotsIdle, capacity.slotsTotal)
    }
    return { models: [...models.values()], taskTypes: [...taskTypes].sort(), tags: [...tags].sort(), capacity: { slotsTotal, slotsIdle } }
  }
}
