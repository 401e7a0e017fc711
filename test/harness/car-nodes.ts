/**
 * CAR export and import on install nodes (install-nodes.ts): the node's
 * on-disk blockstore beside Helia's networked one, and the components a
 * CAR import needs, with a bare catalogue whose accept() is all it uses.
 */
import { join } from 'node:path'
import { FsBlockstore } from 'blockstore-fs'
import { AgoraEvents } from '../../src/events.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import type { CarComponents } from '../../src/packages/car.ts'
import { PackageCatalog } from '../../src/packages/catalog.ts'
import type { InstallNode } from './install-nodes.ts'

/** The node's on-disk blockstore (what the gateway and CARs use). */
export function localBlocks (node: InstallNode): FsBlockstore {
  return new FsBlockstore(join(node.dataDir, 'ipfs', 'blocks'))
}

/** A catalogue over the node's repository that only accepts (no gossip, no sync). */
export function catalogOf (node: InstallNode, maxManifestBytes: number): PackageCatalog {
  const unused = (): never => { throw new Error('not used by a CAR import') }
  return new PackageCatalog({
    repository: node.packages,
    gossip: { publish: unused, subscribe: unused, validate: unused },
    reqresp: node.reqresp,
    libp2p: node.node.libp2p,
    peerFeedback: { record: () => {}, isBanned: () => false },
    events: new AgoraEvents(),
    logger: silentLogger()
  }, { maxManifestBytes, announcePerPublisherPerMinute: 60 })
}

/** What importCar needs of the node. */
export function carComponents (node: InstallNode, maxManifestBytes: number): CarComponents {
  return { blockstore: localBlocks(node), packages: node.packages, catalog: catalogOf(node, maxManifestBytes), installer: node.installer }
}
