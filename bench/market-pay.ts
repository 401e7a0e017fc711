/**
 * Part 3 of bench/market.bench.ts, the cost of paying: no-op subtasks per
 * second of a priced job against the same job free, same run. A coordinator
 * in this process and two sets of worker daemons, the same in all but their
 * price: zone `free` asks nothing, zone `paid` asks 0.000001 a task. Jobs
 * alternate between the two sets (constraints.zone), run by run; the priced
 * job has a budget, so each subtask is held, captured, paid by proof and
 * booked on both sides (the worker books each receipt durably before it
 * sends it).
 */
import { killDaemons, startDaemon, type Daemon } from '../test/harness/cli.ts'
import { TestSwarm, firstAddress, mergeDeep } from '../test/harness/nodes.ts'
import { JOBS_NODE_CONFIG } from '../test/harness/jobs.ts'
import { waitFor } from '../test/harness/wait.ts'
import { CpuMeter, timeJob, workerEnv, type CpuShare } from './jobs-fleet.ts'
import type { AgoraConfig } from '../src/config/index.ts'
import type { DeepPartial } from '../src/config/types.ts'
import type { JobSpecInput } from '../src/jobs/types.ts'
import type { AgoraNode } from '../src/node.ts'

const WORKERS_PER_SET = 3
const SLOTS = 16

export interface PayCost {
  free: number[]
  paid: number[]
  count: number
  /** Cores used by the coordinator (this process) and the workers, median run of each kind. */
  cpu: { free: CpuShare, paid: CpuShare }
}

const spec = (count: number, zone: 'free' | 'paid'): JobSpecInput => ({
  type: 'debug.noop',
  input: { kind: 'items', items: [] },
  params: { count },
  constraints: zone === 'paid' ? { zone, budget: '100' } : { zone }
})

async function workersIn (zone: 'free' | 'paid', bootstrap: string): Promise<Daemon[]> {
  const env = { ...workerEnv(SLOTS), AGORA_NODE_ZONE: zone, AGORA_OFFERS_PRICES_PER_TASK: zone === 'paid' ? '0.000001' : '0' }
  return await Promise.all(Array.from({ length: WORKERS_PER_SET }, async () => await startDaemon(['--bootstrap', bootstrap], undefined, env)))
}

/** Subtasks per second of `runs` free and `runs` priced jobs of `count` no-op subtasks each, interleaved. */
export async function payCost (runs: number, count: number): Promise<PayCost> {
  const swarm = new TestSwarm()
  try {
    const config = mergeDeep(JOBS_NODE_CONFIG as unknown as Record<string, unknown>, {
      jobs: { slots: 0 },
      network: { dht: { enabled: false }, connections: { inboundThresholdPerHost: 1000 } },
      market: { paymentEveryReceipts: 64, paymentEveryMs: 500 }
    }) as DeepPartial<AgoraConfig>
    const coordinator = await swarm.add({ config, logs: false })
    const workers = [...await workersIn('free', firstAddress(coordinator)), ...await workersIn('paid', firstAddress(coordinator))]
    await waitFor('every worker\'s offer', () => workers.every(w => coordinator.components.offers.list({ taskType: 'debug.noop' }).some(o => o.node === w.peerId)), { timeoutMs: 30_000, intervalMs: 50 })
    // warm-up: JIT, streams, the router's view of every worker
    await timeJob(coordinator, spec(500, 'free'))
    await timeJob(coordinator, spec(500, 'paid'))
    const free: number[] = []
    const paid: number[] = []
    const shares: { free: CpuShare[], paid: CpuShare[] } = { free: [], paid: [] }
    const meter = new CpuMeter(() => workers.map(w => w.pid), () => [])
    for (let r = 0; r < runs; r++) {
      for (const [zone, rates] of [['free', free], ['paid', paid]] as const) {
        meter.start()
        rates.push(count / ((await timeJob(coordinator, spec(count, zone))).ms / 1000))
        shares[zone].push(meter.stop())
      }
    }
    await checkPaid(coordinator)
    const middle = (list: CpuShare[]): CpuShare => [...list].sort((a, b) => a.coordinator - b.coordinator)[Math.floor(list.length / 2)] as CpuShare
    return { free, paid, count, cpu: { free: middle(shares.free), paid: middle(shares.paid) } }
  } finally {
    await swarm.stop()
    await killDaemons()
  }
}

/** The priced runs were really paid: the coordinator spent credits on them. */
async function checkPaid (coordinator: AgoraNode): Promise<void> {
  const wallet = coordinator.components.market.wallet()
  if (wallet.spent === 0) throw new Error('the priced jobs paid nothing: the benchmark did not measure paying')
}
