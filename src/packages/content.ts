/**
 * The node's IPFS content layer: Helia on the node's own libp2p host (one
 * host, not a second one), blocks and Helia's datastore on disk under
 * `<data-dir>/ipfs`, bitswap to exchange blocks, and the node's Kademlia
 * (our own protocol prefix) to provide and find CIDs.
 *
 * `createHeliaLight` and not `createHelia`: the latter adds public
 * bootstrap peers, HTTP gateways and delegated routing, and makes a libp2p
 * of its own.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { withBitswap } from '@helia/bitswap'
import * as dagCbor from '@ipld/dag-cbor'
import { FsBlockstore } from 'blockstore-fs'
import { FsDatastore } from 'datastore-fs'
import { createHeliaLight } from 'helia'
import type { Helia, Provider, Router, RoutingOptions } from '@helia/interface'
import type { HeliaWithLibp2p } from '@helia/libp2p'
import type { Libp2p, ServiceMap } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import type { AgoraLibp2p } from '../p2p/index.ts'
import { BITSWAP_DEFAULTS } from './constants.ts'

export type AgoraHelia = HeliaWithLibp2p<ServiceMap>

export interface ContentInit {
  /** Where blocks and Helia's datastore live (`<data-dir>/ipfs`). */
  dir: string
  /** Provide and find CIDs on the DHT (network.dht.enabled). */
  dht: boolean
}

/** Helia on an existing libp2p node; not started (start it after libp2p). */
export function createContent (libp2p: AgoraLibp2p, init: ContentInit): AgoraHelia {
  mkdirSync(join(init.dir, 'blocks'), { recursive: true })
  mkdirSync(join(init.dir, 'datastore'), { recursive: true })
  const helia = createHeliaLight({
    blockstore: new FsBlockstore(join(init.dir, 'blocks')),
    datastore: new FsDatastore(join(init.dir, 'datastore')),
    codecs: [dagCbor],
    routers: init.dht ? [new Libp2pContentRouter(libp2p)] : []
  }) as Helia & { libp2p?: Libp2p }
  // what withLibp2pLight does, minus making a libp2p: bitswap reads `helia.libp2p`
  helia.libp2p = libp2p
  return withBitswap(helia as unknown as AgoraHelia, BITSWAP_DEFAULTS)
}

/**
 * Helia's routing over the node's DHT (what @helia/libp2p's router does,
 * which that package does not export). Only provide and find providers:
 * records and peer lookups are the DHT's business, not the content layer's.
 */
class Libp2pContentRouter implements Router {
  readonly name = 'agora-dht'
  private readonly libp2p: AgoraLibp2p

  constructor (libp2p: AgoraLibp2p) {
    this.libp2p = libp2p
  }

  async provide (cid: CID, options?: RoutingOptions): Promise<void> {
    await this.libp2p.contentRouting.provide(cid, options)
  }

  async * findProviders (cid: CID, options?: RoutingOptions): AsyncIterable<Provider> {
    for await (const info of this.libp2p.contentRouting.findProviders(cid, options)) {
      yield { id: info.id.toCID(), multiaddrs: info.multiaddrs, router: this.name, fallback: false }
    }
  }
}
