/**
 * Helpers for jobs tests: a swarm whose nodes run each other's subtasks
 * (trust mode public, debug task types on), waiting for offers and for a
 * job to finish, and a deterministic long document.
 */
import { waitFor } from './wait.ts'
import type { AgoraNode } from '../../src/node.ts'
import type { Job } from '../../src/jobs/types.ts'

/** Config for nodes of a jobs swarm (merge more with `mergeDeep`). */
export const JOBS_NODE_CONFIG = {
  access: { trustMode: 'public' },
  jobs: { debugTasks: true, maxCpuLoad: 0, minFreeMemoryMb: 0 },
  offers: { reannounceMs: 5000 }
} as const

/** Wait until `node` holds offers of every peer in `from` listing `taskType`. */
export async function waitForOffers (node: AgoraNode, from: AgoraNode[], taskType: string, timeoutMs = 20_000): Promise<void> {
  const wanted = new Set(from.map(n => n.peerId))
  await waitFor(`${wanted.size} offers with ${taskType} on ${node.peerId.slice(-6)}`, () => {
    const seen = new Set(node.components.offers.list({ taskType }).map(o => o.node))
    return [...wanted].every(peer => seen.has(peer))
  }, { timeoutMs })
}

/** Wait until the job is completed, failed or cancelled; returns it. */
export async function waitForJob (node: AgoraNode, jobId: string, timeoutMs = 60_000): Promise<Job> {
  let job: Job | undefined
  await waitFor(`job ${jobId} to finish`, () => {
    job = node.components.jobs.get(jobId)
    return job !== undefined && ['completed', 'failed', 'cancelled'].includes(job.state)
  }, { timeoutMs })
  return job as Job
}

const WORDS = ['market', 'river', 'engine', 'quiet', 'garden', 'signal', 'harbor', 'winter', 'copper', 'lantern', 'orbit', 'meadow',
  'protocol', 'silver', 'thunder', 'canvas', 'forest', 'rapid', 'gentle', 'mountain', 'ocean', 'paper', 'velvet', 'crystal']

/** About `bytes` of English-like text in sentences; the same for the same arguments. */
export function longDocument (bytes: number, seed = 1): string {
  let state = seed
  const next = (n: number): number => {
    state = (state * 1103515245 + 12345) % 2147483648
    return state % n
  }
  const sentences: string[] = []
  let size = 0
  while (size < bytes) {
    const words = Array.from({ length: 6 + next(12) }, () => WORDS[next(WORDS.length)] as string)
    const sentence = `The ${words.join(' ')} is ${next(2) === 0 ? 'good' : 'bad'}.`
    sentences.push(sentence)
    size += sentence.length + 1
  }
  return sentences.join(' ')
}
