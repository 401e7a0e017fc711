/**
 * Small executors and a worker factory for the dispatch and worker tests:
 * echo, a gated sleeper that records aborts, a large result, a malformed
 * result, a failing one and a debug-only one.
 */
import { z } from 'zod'
import { AgoraError } from '../../../src/errors.ts'
import { AccessControl } from '../../../src/gateway/access/index.ts'
import { generateIdentity, type NodeIdentity } from '../../../src/identity/index.ts'
import { silentLogger, type AgoraLogger } from '../../../src/observability/logger.ts'
import { Resources, TaskWorker, type ResourceProbes, type TaskWorkerInit, type WorkerServices } from '../../../src/jobs/worker/index.ts'
import type { AnyExecutor, TaskExecutor } from '../../../src/jobs/executors/types.ts'
import type { TaskAssignment } from '../../../src/jobs/protocol/index.ts'
import type { Registry } from 'prom-client'

/** A sleeper's controls: how many started, finished, saw the abort; `release()` lets the running ones finish. */
export class Gate {
  started = 0
  finished = 0
  aborted = 0
  private waiters: Array<() => void> = []

  release (): void {
    for (const wake of this.waiters.splice(0)) wake()
  }

  async wait (signal: AbortSignal): Promise<void> {
    this.started++
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.aborted++
        reject(signal.reason as Error)
      }
      this.waiters.push(() => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      })
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
    })
    this.finished++
  }
}

export interface Fixtures {
  executors: Map<string, AnyExecutor>
  gate: Gate
  /** Runs of t.echo. */
  runs: { echo: number }
}

function executor<I, P, O> (e: TaskExecutor<I, P, O>): AnyExecutor {
  return e as AnyExecutor
}

export function fixtures (): Fixtures {
  const gate = new Gate()
  const runs = { echo: 0 }
  const list: AnyExecutor[] = [
    executor({
      type: 't.echo',
      description: 'returns its input',
      input: z.object({ text: z.string() }).strict(),
      params: z.object({ upper: z.boolean().optional() }).strict(),
      output: z.object({ text: z.string() }).strict(),
      async run (input, params, context) {
        runs.echo++
        context.progress(0.5)
        return { text: params.upper === true ? input.text.toUpperCase() : input.text }
      }
    }),
    executor({
      type: 't.sleep',
      description: 'waits for the gate, reporting progress',
      input: z.unknown(),
      params: z.object({}).passthrough(),
      output: z.object({ slept: z.literal(true) }).strict(),
      async run (_input, _params, context) {
        context.progress(0.1)
        await gate.wait(context.signal)
        return { slept: true as const }
      }
    }),
    executor({
      type: 't.big',
      description: 'a result of `size` characters',
      input: z.unknown(),
      params: z.object({ size: z.number().int().positive() }).strict(),
      output: z.object({ data: z.string() }).strict(),
      async run (_input, params) {
        let data = ''
        for (let i = 0; data.length < params.size; i++) data += `${i},`
        return { data: data.slice(0, params.size) }
      }
    }),
    executor({
      type: 't.bad',
      description: 'a result that does not match its schema',
      input: z.unknown(),
      params: z.object({}).passthrough(),
      output: z.object({ n: z.number() }).strict(),
      async run () {
        return { n: 'not a number' } as unknown as { n: number }
      }
    }),
    executor({
      type: 't.fail',
      description: 'fails with E700',
      input: z.unknown(),
      params: z.object({}).passthrough(),
      output: z.unknown(),
      async run () {
        throw new AgoraError('E700', 'the engine broke', { why: 'on purpose' })
      }
    }),
    executor({
      type: 't.void',
      description: 'returns undefined (not JSON)',
      input: z.unknown(),
      params: z.object({}).passthrough(),
      output: z.unknown(),
      async run () {
        return undefined
      }
    }),
    executor({
      type: 't.debug',
      description: 'debug only',
      debug: true,
      input: z.unknown(),
      params: z.object({}).passthrough(),
      output: z.null(),
      async run () {
        return null
      }
    })
  ]
  return { executors: new Map(list.map(e => [e.type, e])), gate, runs }
}

export const noServices: WorkerServices = {
  wink: {
    chunk: async () => { throw new Error('no wink in tests') },
    embed: async () => { throw new Error('no wink in tests') },
    sentiment: async () => { throw new Error('no wink in tests') },
    entities: async () => { throw new Error('no wink in tests') }
  },
  chat: async () => { throw new Error('no chat in tests') },
  embed: async () => { throw new Error('no embed in tests') }
}

/** Probes with settable readings (load per core = load / cores). */
export class FakeProbes implements ResourceProbes {
  load = 0
  coreCount = 2
  freeBytes = 8 * 1024 ** 3
  loadAverage (): number { return this.load }
  cores (): number { return this.coreCount }
  freeMemoryBytes (): number { return this.freeBytes }
}

export interface WorkerSetup {
  worker: TaskWorker
  identity: NodeIdentity
  resources: Resources
  access: AccessControl
  probes: FakeProbes
  fx: Fixtures
}

export interface WorkerSetupOptions extends TaskWorkerInit {
  slots?: number
  /** Peers trusted in friends mode. */
  trusted?: () => string[]
  identity?: NodeIdentity
  logger?: AgoraLogger
  metrics?: Registry | undefined
  fx?: Fixtures
}

export async function makeWorker (options: WorkerSetupOptions = {}): Promise<WorkerSetup> {
  const identity = options.identity ?? await generateIdentity()
  const logger = options.logger ?? silentLogger()
  const probes = new FakeProbes()
  const resources = new Resources({ slots: options.slots ?? 2, maxCpuLoad: 0.9, minFreeMemoryMb: 256, probes, sampleMs: 0 })
  const trusted = options.trusted ?? (() => [])
  const access = new AccessControl({ peerBook: { isTrusted: peer => trusted().includes(peer), isBanned: () => false }, logger }, { selfPeerId: identity.peerIdString })
  const fx = options.fx ?? fixtures()
  const worker = new TaskWorker({ identity, access, executors: fx.executors, resources, services: noServices, logger, metrics: options.metrics }, options)
  return { worker, identity, resources, access, probes, fx }
}

let counter = 0

export function assignment (coordinator: string, type: string, overrides: Partial<TaskAssignment> = {}): TaskAssignment {
  const subtaskId = `s-${++counter}`
  return { key: `${coordinator}/job-1/${subtaskId}`, jobId: 'job-1', subtaskId, attempt: 1, type, params: {}, input: null, ...overrides }
}
