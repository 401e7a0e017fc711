/**
 * The bandit's memory: per (worker peer, task type) the successes and
 * failures behind its Thompson draw, with exponential forgetting:
 *
 *   decay to t   d = 2^(−(t − t_last) / halfLife)      (decayFactor, src/peers/reputation.ts)
 *                s ← s·d,  f ← f·d
 *   observe      success: s += 1
 *                failure, timeout: f += 1,  invalid: f += 3  (OUTCOME_WEIGHTS, as the peer book)
 *   draw         θ ~ Beta(1 + s, 1 + f)
 *
 * A stranger (no row) draws from Beta(1, 1), the uniform. Changes are kept
 * in memory and written behind (`flush`, batched in one transaction); at
 * most `maxArms` pairs are kept, the least recently updated forgotten first
 * (in memory and in the store).
 */
import { decayFactor } from '../../peers/index.ts'
import type { BanditRepository, ArmRow } from './bandit-repository.ts'

export type ArmStats = ArmRow

export interface BanditInit {
  halfLifeMs: number
  maxArms: number
}

export class BanditStats {
  private readonly repository: BanditRepository
  private readonly halfLifeMs: number
  private readonly maxArms: number
  /** Insertion order = least recently updated first. */
  private readonly arms = new Map<string, ArmStats>()
  private readonly dirty = new Set<string>()
  private readonly evicted = new Map<string, { peer: string, taskType: string }>()

  constructor (repository: BanditRepository, init: BanditInit) {
    this.repository = repository
    this.halfLifeMs = init.halfLifeMs
    this.maxArms = Math.max(1, init.maxArms)
  }

  /** Read the most recent pairs from the store (pairs already observed in memory win); trims the table to the bound. */
  load (): number {
    const rows = this.repository.recent(this.maxArms)
    // oldest first, so that the map's order stays least recently updated first
    for (const row of rows.reverse()) {
      const k = key(row.peer, row.taskType)
      if (!this.arms.has(k)) this.arms.set(k, row)
    }
    while (this.arms.size > this.maxArms) this.evictOldest()
    this.repository.trim(this.maxArms)
    return rows.length
  }

  /** The pair's stats decayed to `now` (zeros for a pair never observed). */
  get (peer: string, taskType: string, now: number): ArmStats {
    const arm = this.arms.get(key(peer, taskType))
    if (arm === undefined) return { peer, taskType, successes: 0, failures: 0, lastSuccessAt: null, updatedAt: now }
    return decay(arm, now, this.halfLifeMs)
  }

  /** Fold an observation in: `successes` and `failures` are the weights to add. */
  observe (peer: string, taskType: string, add: { successes: number, failures: number }, now: number): ArmStats {
    const k = key(peer, taskType)
    const current = this.get(peer, taskType, now)
    const next: ArmStats = {
      peer,
      taskType,
      successes: current.successes + add.successes,
      failures: current.failures + add.failures,
      lastSuccessAt: add.successes > 0 ? now : current.lastSuccessAt,
      updatedAt: current.updatedAt
    }
    this.arms.delete(k)
    this.arms.set(k, next)
    this.dirty.add(k)
    this.evicted.delete(k)
    while (this.arms.size > this.maxArms) this.evictOldest()
    return next
  }

  /** Write what changed since the last flush (one transaction). Throws on a store error; the changes stay pending. */
  flush (): number {
    const upserts: ArmStats[] = []
    for (const k of this.dirty) {
      const arm = this.arms.get(k)
      if (arm !== undefined) upserts.push(arm)
    }
    const deletes = [...this.evicted.values()]
    this.repository.write(upserts, deletes)
    this.dirty.clear()
    this.evicted.clear()
    return upserts.length + deletes.length
  }

  /** Changes not yet written. */
  get pending (): number {
    return this.dirty.size + this.evicted.size
  }

  get size (): number {
    return this.arms.size
  }

  private evictOldest (): void {
    const oldest = this.arms.keys().next()
    if (oldest.done === true) return
    const arm = this.arms.get(oldest.value)
    this.arms.delete(oldest.value)
    this.dirty.delete(oldest.value)
    if (arm !== undefined) this.evicted.set(oldest.value, { peer: arm.peer, taskType: arm.taskType })
  }
}

function key (peer: string, taskType: string): string {
  return `${peer}\u0000${taskType}`
}

function decay (arm: ArmStats, now: number, halfLifeMs: number): ArmStats {
  const d = decayFactor(now - arm.updatedAt, halfLifeMs)
  return { ...arm, successes: arm.successes * d, failures: arm.failures * d, updatedAt: Math.max(now, arm.updatedAt) }
}
