/**
 * What a worker can take on right now: free slots (jobs.slots minus the
 * subtasks running), the 1-minute load average per core against
 * jobs.maxCpuLoad, and free memory against jobs.minFreeMemoryMb. The same
 * numbers feed the offer (JobsCapabilitySource), so what a node advertises
 * is what it enforces. Probes are injectable for tests.
 */
import { EventEmitter } from 'node:events'
import { availableParallelism, freemem, loadavg } from 'node:os'
import { AgoraError } from '../../errors.ts'
import { WORKER_DEFAULTS } from './constants.ts'
import type { RefusalReason } from '../protocol/types.ts'

export interface ResourceProbes {
  /** The 1-minute load average (os.loadavg()[0]). */
  loadAverage(): number
  /** Cores (os.availableParallelism()). */
  cores(): number
  /** Free memory in bytes (os.freemem()). */
  freeMemoryBytes(): number
}

export const systemProbes: ResourceProbes = {
  loadAverage: () => loadavg()[0] ?? 0,
  cores: () => availableParallelism(),
  freeMemoryBytes: () => freemem()
}

export interface ResourcesInit {
  /** jobs.slots (0: run nothing). */
  slots?: number
  /** jobs.maxCpuLoad, per core (0: no limit). */
  maxCpuLoad?: number
  /** jobs.minFreeMemoryMb (0: no limit). */
  minFreeMemoryMb?: number
  probes?: ResourceProbes
  /** How long a probe reading is reused, ms (0: read every time). */
  sampleMs?: number
  now?: () => number
}

export type ReleaseSlot = () => void
export type ResourceRefusal = Extract<RefusalReason, 'slots' | 'cpu' | 'memory'>

export interface ResourceSnapshot {
  slotsTotal: number
  running: number
  /** Load average per core. */
  cpuLoad: number
  freeMemoryMb: number
  /** Why a subtask would be refused now, if it would. */
  blocked: ResourceRefusal | undefined
}

interface ResourceEvents {
  /** A slot was taken or given back. */
  changed: []
}

export class Resources extends EventEmitter<ResourceEvents> {
  private slots: number
  private readonly maxCpuLoad: number
  private readonly minFreeBytes: number
  private readonly probes: ResourceProbes
  private readonly sampleMs: number
  private readonly now: () => number
  private runningCount = 0
  private sampledAt = -Infinity
  private sample = { cpuLoad: 0, freeBytes: Infinity }

  constructor (init: ResourcesInit = {}) {
    super()
    this.slots = init.slots ?? WORKER_DEFAULTS.slots
    this.maxCpuLoad = init.maxCpuLoad ?? WORKER_DEFAULTS.maxCpuLoad
    this.minFreeBytes = (init.minFreeMemoryMb ?? WORKER_DEFAULTS.minFreeMemoryMb) * 1024 * 1024
    this.probes = init.probes ?? systemProbes
    this.sampleMs = init.sampleMs ?? WORKER_DEFAULTS.sampleMs
    this.now = init.now ?? Date.now
    if (!Number.isInteger(this.slotsTotal) || this.slotsTotal < 0) throw new AgoraError('E300', 'jobs.slots must be an integer ≥ 0', { why: `got ${this.slotsTotal}` })
    if (!(this.maxCpuLoad >= 0)) throw new AgoraError('E300', 'jobs.maxCpuLoad must be ≥ 0', { why: `got ${this.maxCpuLoad}` })
    if (!(this.minFreeBytes >= 0)) throw new AgoraError('E300', 'jobs.minFreeMemoryMb must be ≥ 0', { why: `got ${init.minFreeMemoryMb}` })
  }

  /** jobs.slots: subtasks run at once at most. */
  get slotsTotal (): number {
    return this.slots
  }

  /** Another slot count (config changed at run time); running subtasks keep theirs, new ones wait for a free slot. */
  setSlots (slots: number): void {
    if (!Number.isInteger(slots) || slots < 0) throw new AgoraError('E300', 'jobs.slots must be an integer ≥ 0', { why: `got ${slots}` })
    if (slots === this.slots) return
    this.slots = slots
    this.emit('changed')
  }

  /** Subtasks holding a slot. */
  get running (): number {
    return this.runningCount
  }

  /** Slots not taken (whatever CPU and memory say). */
  get freeSlots (): number {
    return Math.max(0, this.slotsTotal - this.runningCount)
  }

  /** Slots a new subtask could take now: free slots, or 0 while CPU or memory is over its limit. */
  idleSlots (): number {
    return this.pressure() === undefined ? this.freeSlots : 0
  }

  /** CPU or memory over its limit (undefined when both are fine). */
  pressure (): Exclude<ResourceRefusal, 'slots'> | undefined {
    const { cpuLoad, freeBytes } = this.read()
    if (this.maxCpuLoad > 0 && cpuLoad > this.maxCpuLoad) return 'cpu'
    if (this.minFreeBytes > 0 && freeBytes < this.minFreeBytes) return 'memory'
    return undefined
  }

  /** Take a slot: a function that gives it back (once), or why not. */
  tryAcquire (): ReleaseSlot | ResourceRefusal {
    if (this.runningCount >= this.slotsTotal) return 'slots'
    const pressure = this.pressure()
    if (pressure !== undefined) return pressure
    this.runningCount++
    this.emit('changed')
    let released = false
    return () => {
      if (released) return
      released = true
      this.runningCount--
      this.emit('changed')
    }
  }

  snapshot (): ResourceSnapshot {
    const { cpuLoad, freeBytes } = this.read()
    const blocked = this.runningCount >= this.slotsTotal ? 'slots' : this.pressure()
    return { slotsTotal: this.slotsTotal, running: this.runningCount, cpuLoad, freeMemoryMb: Math.floor(freeBytes / (1024 * 1024)), blocked }
  }

  private read (): { cpuLoad: number, freeBytes: number } {
    const now = this.now()
    if (now - this.sampledAt >= this.sampleMs) {
      const cores = Math.max(1, this.probes.cores())
      this.sample = { cpuLoad: this.probes.loadAverage() / cores, freeBytes: this.probes.freeMemoryBytes() }
      this.sampledAt = now
    }
    return this.sample
  }
}
