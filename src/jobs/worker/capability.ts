/**
 * The worker as a capability source (id `jobs`): the task types it runs and
 * its capacity, read by the offer builder. Capacity is what the worker
 * enforces: jobs.slots in all, idle = free slots, or 0 while CPU or memory
 * is over its limit. When the idle count changes the registry hears of it
 * (coalesced: at most once per CAPACITY_NOTIFY_MS), so the offer follows.
 */
import { CAPACITY_NOTIFY_MS, CAPACITY_POLL_MS } from './constants.ts'
import type { Resources } from './resources.ts'
import type { TaskWorker } from './task-worker.ts'
import type { Capacity, CapabilityRegistry, CapabilitySource, ModelCapability, ModelKind } from '../../providers/registry.ts'

export const JOBS_SOURCE_ID = 'jobs'

export interface JobsCapabilitySourceComponents {
  registry: Pick<CapabilityRegistry, 'register' | 'unregister' | 'changed' | 'list'>
  resources: Resources
  worker: Pick<TaskWorker, 'taskTypes'>
}

export interface JobsCapabilitySourceInit {
  /** Least time between two registry notifications. */
  notifyMs?: number
  /** How often CPU and memory are checked for a change while no slot moves. */
  pollMs?: number
}

export class JobsCapabilitySource implements CapabilitySource {
  readonly id = JOBS_SOURCE_ID
  private readonly c: JobsCapabilitySourceComponents
  private readonly notifyMs: number
  private readonly pollMs: number
  private lastNotified = -Infinity
  private announced: string | undefined
  private pending: NodeJS.Timeout | undefined
  private poll: NodeJS.Timeout | undefined
  private started = false

  constructor (components: JobsCapabilitySourceComponents, init: JobsCapabilitySourceInit = {}) {
    this.c = components
    this.notifyMs = init.notifyMs ?? CAPACITY_NOTIFY_MS
    this.pollMs = init.pollMs ?? CAPACITY_POLL_MS
  }

  models (): ModelCapability[] {
    return []
  }

  /** What the worker runs, of the types this node's providers have a model for (no chat model: no chat types). */
  taskTypes (): string[] {
    if (this.c.resources.slotsTotal === 0) return []
    const served = new Set<ModelKind>()
    for (const source of this.c.registry.list()) if (source.id !== this.id) for (const model of source.models()) served.add(model.kind)
    return this.c.worker.taskTypes(served)
  }

  capacity (): Capacity {
    return { slotsTotal: this.c.resources.slotsTotal, slotsIdle: this.c.resources.idleSlots() }
  }

  /** Register with the registry and follow the worker's resources. */
  start (): void {
    if (this.started) return
    this.started = true
    this.c.registry.register(this)
    this.announced = capacityKey(this.capacity())
    this.c.resources.on('changed', this.onChanged)
    this.poll = setInterval(this.onChanged, this.pollMs)
    this.poll.unref()
  }

  stop (): void {
    if (!this.started) return
    this.started = false
    this.c.resources.off('changed', this.onChanged)
    clearInterval(this.poll)
    clearTimeout(this.pending)
    this.pending = undefined
    this.c.registry.unregister(this.id)
  }

  /** Something may have moved: tell the registry now, or once the quiet period is over. */
  private readonly onChanged = (): void => {
    if (!this.started || this.pending !== undefined) return
    const wait = this.lastNotified + this.notifyMs - performance.now()
    if (wait <= 0) {
      this.notify()
      return
    }
    this.pending = setTimeout(() => {
      this.pending = undefined
      this.notify()
    }, wait)
    this.pending.unref()
  }

  private notify (): void {
    if (!this.started) return
    // the total moves too when jobs.slots changes at run time
    const key = capacityKey(this.capacity())
    if (key === this.announced) return
    this.announced = key
    this.lastNotified = performance.now()
    this.c.registry.changed()
  }
}

function capacityKey (capacity: Capacity): string {
  return `${capacity.slotsIdle}/${capacity.slotsTotal}`
}
