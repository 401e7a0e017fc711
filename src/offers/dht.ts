/**
 * DHT provider records for capabilities, so nodes the gossip mesh has not
 * reached still find servers. The key of a model or task type is the CIDv1
 * (raw codec, sha256) of `/agora/cap/model/<name>` or `/agora/cap/task/<type>`;
 * the DHT runs under our own protocol prefix (network.dht.protocolPrefix).
 * A DHT with no peers (or none at all) is normal on a lone node: failures
 * are logged at debug and never thrown from `update`.
 */
import { createHash } from 'node:crypto'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { messageOf } from '../errors.ts'
import { CAPABILITY_KEY_PREFIX, OFFER_DEFAULTS } from './constants.ts'
import type { Logger } from '../observability/logger.ts'
import type { ContentRouting } from '@libp2p/interface'

const RAW_CODEC = 0x55
const SHA2_256 = 0x12

export type CapabilityKind = keyof typeof CAPABILITY_KEY_PREFIX

/** The DHT key of a capability. */
export function capabilityCid (kind: CapabilityKind, name: string): CID {
  const bytes = createHash('sha256').update(CAPABILITY_KEY_PREFIX[kind] + name).digest()
  return CID.createV1(RAW_CODEC, createDigest(SHA2_256, new Uint8Array(bytes)))
}

export interface CapabilityQuery {
  model?: string | undefined
  taskType?: string | undefined
}

export interface FindProvidersOptions {
  signal?: AbortSignal
  /** Peers returned at most (default 20). */
  limit?: number
}

export interface CapabilityRecordsComponents {
  contentRouting: Pick<ContentRouting, 'provide' | 'cancelReprovide' | 'findProviders'>
  log: Logger
}

export class CapabilityRecords {
  private readonly routing: CapabilityRecordsComponents['contentRouting']
  private readonly log: Logger
  private readonly provided = new Map<string, CID>()
  private shutdown = new AbortController()

  constructor (components: CapabilityRecordsComponents) {
    this.routing = components.contentRouting
    this.log = components.log
  }

  /**
   * Provide the keys of these capabilities (the new ones, or all with
   * `force`: a provide made while the DHT had no peers reached nobody),
   * stop re-providing the ones gone; in the background.
   */
  update (capabilities: { models: readonly string[], taskTypes: readonly string[] }, force = false): void {
    const wanted = new Map<string, CID>()
    for (const name of capabilities.models) wanted.set(`model:${name}`, capabilityCid('model', name))
    for (const type of capabilities.taskTypes) wanted.set(`task:${type}`, capabilityCid('task', type))
    for (const [key, cid] of this.provided) {
      if (wanted.has(key)) continue
      this.provided.delete(key)
      this.background(async () => { await this.routing.cancelReprovide(cid) }, key, 'cancelling a capability record failed')
    }
    for (const [key, cid] of wanted) {
      if (this.provided.has(key) && !force) continue
      this.provided.set(key, cid)
      const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(OFFER_DEFAULTS.provideTimeoutMs)])
      this.background(async () => {
        await this.routing.provide(cid, { signal })
        this.log.debug({ key }, 'capability provided on the DHT')
      }, key, 'providing a capability on the DHT failed')
    }
  }

  /** Keys currently provided (e.g. `model:llama3.2:3b`, `task:embed`). */
  keys (): string[] {
    return [...this.provided.keys()].sort()
  }

  /**
   * Peers providing the model and/or task type (both: peers providing
   * both). Bounded by the signal (default 5 s) and `limit`; a DHT error
   * ends the search with what was found.
   */
  async findProviders (query: CapabilityQuery, options: FindProvidersOptions = {}): Promise<string[]> {
    const limit = options.limit ?? OFFER_DEFAULTS.findProvidersLimit
    const signal = AbortSignal.any([options.signal ?? AbortSignal.timeout(OFFER_DEFAULTS.findProvidersTimeoutMs), this.shutdown.signal])
    const cids: CID[] = []
    if (query.model !== undefined) cids.push(capabilityCid('model', query.model))
    if (query.taskType !== undefined) cids.push(capabilityCid('task', query.taskType))
    if (cids.length === 0) return []
    const sets = await Promise.all(cids.map(async cid => await this.collect(cid, cids.length === 1 ? limit : Infinity, signal)))
    const [first, ...rest] = sets as [Set<string>, ...Array<Set<string>>]
    return [...first].filter(peer => rest.every(set => set.has(peer))).slice(0, limit)
  }

  /** Abort provides and searches in flight; the next `update` provides everything again. */
  stop (): void {
    this.shutdown.abort()
    this.shutdown = new AbortController()
    this.provided.clear()
  }

  private background (fn: () => Promise<void>, key: string, what: string): void {
    fn().catch(err => { this.log.debug({ err: messageOf(err), key }, what) })
  }

  private async collect (cid: CID, limit: number, signal: AbortSignal): Promise<Set<string>> {
    const found = new Set<string>()
    try {
      for await (const provider of this.routing.findProviders(cid, { signal })) {
        found.add(provider.id.toString())
        if (found.size >= limit) break
      }
    } catch (err) {
      this.log.debug({ err: messageOf(err), cid: cid.toString() }, 'finding capability providers ended')
    }
    return found
  }
}
