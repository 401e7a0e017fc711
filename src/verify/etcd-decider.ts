/**
 * The etcd decide backend (docs/verification.md, "Decide backends"): for a
 * group of coordinators that runs etcd, a decision is a compare-and-set
 * transaction on one key per thread, so exactly one of them wins however
 * they race. Keys are sharded into 256 buckets by the first byte of
 * sha256(thread): `<prefix>/<bucket hex>/<thread>`.
 *
 * The stored decision stands until one of a strictly higher epoch replaces
 * it (a new round, after a fence); in the same epoch the first writer wins,
 * whatever the decider ids — that is what atomic means here. Every call is
 * idempotent: a retry of a decision that landed answers 'duplicate', of a
 * FINALIZE that landed false. etcd keeps what it acknowledged across its
 * own restarts (its WAL is fsynced); a call made while it is unreachable
 * fails with E1203 and may simply be repeated.
 */
import { createHash } from 'node:crypto'
import type { Etcd3 } from 'etcd3'
import { AgoraError, isAgoraError, messageOf } from '../errors.ts'
import { compareDecisions, type Decision } from './decisions.ts'

export interface EtcdDeciderInit {
  /** Client URLs, e.g. http://127.0.0.1:2379. */
  endpoints: string[]
  /** Key prefix of this network's decisions. */
  prefix?: string
  /** Deadline of one etcd call. */
  callTimeoutMs?: number
}

export type EtcdOutcome =
  | { outcome: 'won', replaced: Decision | undefined }
  | { outcome: 'duplicate' }
  | { outcome: 'lost', standing: Decision }

interface Stored {
  decision: Decision
  finalized: boolean
}

const DEFAULT_PREFIX = '/agora/decide'
const DEFAULT_CALL_TIMEOUT_MS = 5000
/** Compare-and-set rounds one call may lose to other writers before it gives up (each loss means another decision landed). */
const MAX_ROUNDS = 16

export class EtcdDecider {
  private readonly init: EtcdDeciderInit
  private readonly prefix: string
  /** The client, made on first use: the etcd3 module (gRPC) takes ~250 ms to load, which a node without etcd should not pay. */
  private client: Promise<Etcd3> | undefined
  private closed = false

  constructor (init: EtcdDeciderInit) {
    if (init.endpoints.length === 0) throw new AgoraError('E1203', 'no etcd endpoints', { why: 'verify.etcd.endpoints is empty', hint: 'list the etcd client URLs, e.g. http://127.0.0.1:2379' })
    this.init = init
    this.prefix = init.prefix ?? DEFAULT_PREFIX
  }

  /** The key of a thread's decision. */
  keyOf (thread: string): string {
    const bucket = createHash('sha256').update(thread).digest('hex').slice(0, 2)
    return `${this.prefix}/${bucket}/${thread}`
  }

  /** Decide `d` atomically (see the module comment); E1200 when it would change a finalized result. */
  async decide (d: Decision): Promise<EtcdOutcome> {
    const key = this.keyOf(d.thread)
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const current = await this.read(key)
      if (current === undefined) {
        if (await this.swap(key, 0, { decision: d, finalized: false })) return { outcome: 'won', replaced: undefined }
        continue
      }
      const standing = current.stored.decision
      if (compareDecisions(standing, d) === 0 && standing.result === d.result && standing.thread === d.thread) return { outcome: 'duplicate' }
      if (d.epoch <= standing.epoch) return { outcome: 'lost', standing }
      if (current.stored.finalized && standing.result !== d.result) throw finalizedAlready(d, standing)
      if (await this.swap(key, current.revision, { decision: d, finalized: current.stored.finalized })) return { outcome: 'won', replaced: standing }
    }
    throw new AgoraError('E1203', `thread ${d.thread} kept changing under ${MAX_ROUNDS} decision attempts`, { why: 'other coordinators decided it each time first' })
  }

  /** FINALIZE the stored decision: true the first time, false after; E1200 when `d` is not the one stored. */
  async finalize (d: Decision): Promise<boolean> {
    const key = this.keyOf(d.thread)
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const current = await this.read(key)
      const standing = current?.stored.decision
      if (current === undefined || standing === undefined || compareDecisions(standing, d) !== 0 || standing.result !== d.result) {
        throw new AgoraError('E1200', `decision of ${d.decider} for thread ${d.thread} is not the one that stands`, {
          why: standing === undefined ? 'etcd holds no decision for that thread' : `etcd holds epoch ${standing.epoch} by ${standing.decider}`,
          details: { thread: d.thread, epoch: d.epoch, decider: d.decider }
        })
      }
      if (current.stored.finalized) return false
      if (await this.swap(key, current.revision, { decision: standing, finalized: true })) return true
    }
    throw new AgoraError('E1203', `thread ${d.thread} kept changing while it was finalized`)
  }

  /** The thread's stored decision, if any. */
  async get (thread: string): Promise<{ decision: Decision, finalized: boolean } | undefined> {
    return (await this.read(this.keyOf(thread)))?.stored
  }

  close (): void {
    this.closed = true
    void this.client?.then(client => { client.close() }, () => {})
  }

  private async etcd (): Promise<Etcd3> {
    if (this.closed) throw new AgoraError('E1203', 'the etcd decide backend is closed')
    this.client ??= import('etcd3').then(({ Etcd3 }) => {
      const timeout = this.init.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS
      return new Etcd3({ hosts: this.init.endpoints, dialTimeout: timeout, defaultCallOptions: context => context.isStream ? {} : { deadline: Date.now() + timeout } })
    })
    return await this.client
  }

  private async read (key: string): Promise<{ stored: Stored, revision: number } | undefined> {
    const client = await this.etcd()
    const response = await this.call(async () => await client.get(key).exec())
    const kv = response.kvs[0]
    if (kv === undefined) return undefined
    return { stored: JSON.parse(kv.value.toString('utf8')) as Stored, revision: Number(kv.mod_revision) }
  }

  /** Put `stored` if the key is still at `revision` (0: absent); false when another writer came first. */
  private async swap (key: string, revision: number, stored: Stored): Promise<boolean> {
    const value = JSON.stringify(stored)
    const client = await this.etcd()
    const txn = revision === 0
      ? client.if(key, 'Create', '==', 0)
      : client.if(key, 'Mod', '==', revision)
    const result = await this.call(async () => await txn.then(client.put(key).value(value)).commit())
    return result.succeeded
  }

  private async call<T> (fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      if (isAgoraError(err)) throw err
      throw new AgoraError('E1203', 'the decide backend (etcd) did not answer', { why: messageOf(err), cause: err })
    }
  }
}

function finalizedAlready (d: Decision, standing: Decision): AgoraError {
  return new AgoraError('E1200', `thread ${d.thread} was finalized for ${standing.result}`, {
    why: `a decision of epoch ${d.epoch} for ${d.result} came after it`, details: { thread: d.thread, epoch: d.epoch, decider: d.decider }
  })
}
