/**
 * Adaptive replication (docs/verification.md, "Adaptive replication"), after
 * BOINC's: per worker and task type, n counts its consecutive cross-checked
 * valid results. Until n reaches `trustAfter` every result is checked;
 * after that each is checked with probability max(pMin, 1/n) — the floor
 * keeps an old worker from going unchecked (BOINC's 1/n alone falls to 1 %
 * at n = 100). One invalid result resets n to 0 (checked again every time)
 * and halves the worker's share of that task type in the router; each
 * valid check after that wins back a tenth of what is missing.
 *
 * Detection: a worker cheating on a share c of its tasks, each checked with
 * probability p, goes unseen for t tasks with probability (1 − p·c)^t —
 * `escapeProbability` — 0.9^50 ≈ 0.5 % at p = 0.1, c = 1.
 */
import { setBounded } from './bounded.ts'
import { VERIFY_DEFAULTS } from './constants.ts'
import { secureRandom } from './random.ts'
import type { StandingsStore } from './standings-repository.ts'

export interface ReplicationInit {
  trustAfter?: number
  pMin?: number
  /** Uniform [0, 1); by default the OS's random source, so a worker cannot guess which results are checked. */
  random?: () => number
  /** Where standings are kept across restarts (loaded here, each change saved); none: memory only. */
  store?: StandingsStore
  /** Standings held in memory at most (the least recently checked forgotten first). */
  maxStandings?: number
}

export interface WorkerStanding {
  /** Consecutive cross-checked valid results. */
  streak: number
  trusted: boolean
  /** Chance that its next result is checked. */
  checkProbability: number
  /** Its share of the task type in the router, 1 when it never failed a check. */
  share: number
  checks: number
  invalid: number
}

interface Standing {
  streak: number
  share: number
  checks: number
  invalid: number
}

/** A share regained per valid check after a halving: a tenth of what is missing. */
const SHARE_RECOVERY = 0.1
const DEFAULT_MAX_STANDINGS = 100_000
/** The lowest a share falls: about 20 halvings. */
const MIN_SHARE = 1e-6

export class AdaptiveReplication {
  private readonly trustAfter: number
  private readonly pMin: number
  private readonly random: () => number
  private readonly standings = new Map<string, Standing>()
  private readonly store: StandingsStore | undefined
  private readonly maxStandings: number

  constructor (init: ReplicationInit = {}) {
    this.trustAfter = init.trustAfter ?? VERIFY_DEFAULTS.trustAfter
    this.pMin = init.pMin ?? VERIFY_DEFAULTS.pMin
    this.random = init.random ?? secureRandom
    this.store = init.store
    this.maxStandings = init.maxStandings ?? DEFAULT_MAX_STANDINGS
    for (const row of this.store?.load() ?? []) {
      setBounded(this.standings, key(row.worker, row.taskType), { streak: row.streak, share: row.share, checks: row.checks, invalid: row.invalid }, this.maxStandings)
    }
    if (!Number.isInteger(this.trustAfter) || this.trustAfter < 1) throw new RangeError(`trustAfter must be a whole number ≥ 1, got ${this.trustAfter}`)
    if (!(this.pMin > 0 && this.pMin <= 1)) throw new RangeError(`pMin must be in (0, 1], got ${this.pMin}`)
  }

  /** Chance that `worker`'s next result of `taskType` is cross-checked: 1 while untrusted, else max(pMin, 1/n). */
  checkProbability (worker: string, taskType: string): number {
    const streak = this.standings.get(key(worker, taskType))?.streak ?? 0
    return streak < this.trustAfter ? 1 : Math.max(this.pMin, 1 / streak)
  }

  /** Draw whether to cross-check this result. */
  shouldCheck (worker: string, taskType: string): boolean {
    const p = this.checkProbability(worker, taskType)
    return p >= 1 || this.random() < p
  }

  /** A cross-check's verdict on one of `worker`'s results. */
  record (worker: string, taskType: string, valid: boolean): WorkerStanding {
    const k = key(worker, taskType)
    const s = this.standings.get(k) ?? { streak: 0, share: 1, checks: 0, invalid: 0 }
    s.checks++
    if (valid) {
      s.streak++
      s.share = Math.min(1, s.share + (1 - s.share) * SHARE_RECOVERY)
    } else {
      s.streak = 0
      s.invalid++
      // halved, down to a floor: a share of 0 would never win anything back (nor fit the stored row)
      s.share = Math.max(MIN_SHARE, s.share / 2)
    }
    // re-inserted: the map's order is the order standings were last checked
    this.standings.delete(k)
    setBounded(this.standings, k, s, this.maxStandings)
    this.store?.save({ worker, taskType, ...s })
    return this.standing(worker, taskType)
  }

  standing (worker: string, taskType: string): WorkerStanding {
    const s = this.standings.get(key(worker, taskType)) ?? { streak: 0, share: 1, checks: 0, invalid: 0 }
    return { streak: s.streak, trusted: s.streak >= this.trustAfter, checkProbability: this.checkProbability(worker, taskType), share: s.share, checks: s.checks, invalid: s.invalid }
  }
}

/** Chance that a worker cheating on a share `cheatRate` of its tasks, each checked with probability `p`, goes unseen for `tasks` tasks. */
export function escapeProbability (p: number, cheatRate: number, tasks: number): number {
  return (1 - p * cheatRate) ** tasks
}

function key (worker: string, taskType: string): string {
  return `${worker} ${taskType}`
}
