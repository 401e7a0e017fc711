/**
 * In-process package nodes for install tests and the install benchmark:
 * real libp2p on 127.0.0.1, Helia on it (blocks on disk), a real SQLite
 * store with the packages tables, the catalogue repository, ReqResp with
 * `/agora/blocks/1` served, and a PackageInstaller. Reputation is a map the
 * test sets (0.5, a stranger's, by default). Always `stop()` them.
 */
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateIdentity, type NodeIdentity } from '../../src/identity/index.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { createContent, type AgoraHelia } from '../../src/packages/content.ts'
import { importPath } from '../../src/packages/importer.ts'
import { BlockServer, PackageInstaller, type InstallerInit } from '../../src/packages/install/index.ts'
import type { Manifest } from '../../src/packages/manifest.ts'
import { signPackage } from '../../src/packages/package-envelope.ts'
import { PackageRepository, type StoredPackage } from '../../src/packages/repository.ts'
import { ReqResp } from '../../src/protocols/index.ts'
import { openStore, type Store } from '../../src/store/index.ts'
import { connectNodes, createTestNode, type TestNode } from './libp2p-nodes.ts'
import { tempDir } from './temp.ts'
import { stopAll } from './wait.ts'

export interface InstallNode {
  identity: NodeIdentity
  peerId: string
  node: TestNode
  helia: AgoraHelia
  store: Store
  packages: PackageRepository
  reqresp: ReqResp
  blocks: BlockServer
  installer: PackageInstaller
  dataDir: string
  /** Reputation this node gives each peer (0.5 when absent). */
  reputations: Map<string, number>
  stop(): Promise<void>
}

export type InstallNodeOptions = Partial<Omit<InstallerInit, 'dataDir'>> & { wantsPerPeer?: number }

export async function createInstallNode (options: InstallNodeOptions = {}): Promise<InstallNode> {
  const identity = await generateIdentity()
  const dataDir = tempDir('agora-install-')
  const node = await createTestNode({ privateKey: identity.privateKey })
  const helia = createContent(node.libp2p, { dir: join(dataDir, 'ipfs'), dht: false })
  await helia.start()
  const store = openStore(join(dataDir, 'agora.db'))
  const packages = new PackageRepository(store.db.sqlite)
  const reqresp = new ReqResp({ libp2p: node.libp2p, logger: silentLogger() }, { timeouts: { dialMs: 5000 } })
  await reqresp.start()
  const reputations = new Map<string, number>()
  const blocks = new BlockServer({ reqresp, blockstore: helia.blockstore }, { wantsPerPeer: options.wantsPerPeer ?? 1024 })
  await blocks.start()
  const installer = new PackageInstaller({
    db: store.db.sqlite,
    packages,
    blockstore: helia.blockstore,
    pins: helia.pins,
    reqresp,
    libp2p: node.libp2p,
    self: identity.peerIdString,
    reputation: peer => reputations.get(peer) ?? 0.5
  }, {
    dataDir,
    minPublisherReputation: 0.5,
    maxPackageBytes: 1024 ** 3,
    maxManifestBytes: 256 * 1024,
    cacheBytes: 1024 ** 3,
    findProvidersMs: 200,
    ...options
  })
  let stopped = false
  return {
    identity, peerId: identity.peerIdString, node, helia, store, packages, reqresp, blocks, installer, dataDir, reputations,
    stop: async () => {
      if (stopped) return
      stopped = true
      await blocks.stop()
      await reqresp.stop()
      await helia.stop()
      await node.stop()
      store.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

export async function createInstallNodes (count: number, options: InstallNodeOptions = {}): Promise<{ nodes: InstallNode[], stop(): Promise<void> }> {
  const made = await Promise.allSettled(Array.from({ length: count }, async () => await createInstallNode(options)))
  const nodes = made.flatMap(r => r.status === 'fulfilled' ? [r.value] : [])
  const stop = async (): Promise<void> => { await stopAll(nodes, n => `install node ${n.peerId.slice(-6)}`, async n => { await n.stop() }) }
  const failed = made.find(r => r.status === 'rejected')
  if (failed !== undefined) {
    await stop().catch(() => {})
    throw failed.reason
  }
  return { nodes, stop }
}

export async function connectInstallNodes (from: InstallNode, to: InstallNode): Promise<void> {
  await connectNodes(from.node, to.node)
}

/** Files (path → bytes) written to a temp folder. */
export function writeFolder (files: Record<string, Uint8Array | string>): string {
  const dir = tempDir('agora-pkg-src-')
  for (const [path, bytes] of Object.entries(files)) {
    const target = join(dir, path)
    rmSync(target, { force: true })
    writeFileSync(target, bytes)
  }
  return dir
}

export interface PublishedPackage extends StoredPackage {
  publisher: InstallNode
}

/**
 * Import `folder` into each holder's blockstore, sign the manifest with
 * `publisher`'s key and put the package into every node's catalogue (the
 * catalogue's gossip is part 1's concern; here it is simply known).
 */
export async function publishTo (publisher: InstallNode, holders: InstallNode[], everyone: InstallNode[], folder: string, manifest: Partial<Manifest> & Pick<Manifest, 'name' | 'version'>): Promise<PublishedPackage> {
  let files: Manifest['files'] = []
  for (const holder of holders) {
    files = (await importPath(holder.helia.blockstore, folder, { maxFiles: 1000, maxPackageBytes: 1024 ** 3 })).files
  }
  const full: Manifest = {
    v: 1,
    kind: 'other',
    description: '',
    license: '',
    tags: [],
    created: Date.now(),
    publisher: publisher.peerId,
    files,
    dependencies: {},
    ...manifest
  }
  const { envelope, cid, bytes } = await signPackage(publisher.identity, full)
  const now = Date.now()
  for (const n of everyone) {
    n.packages.put({ cid: cid.toString(), manifest: full, envelope, bytes }, now)
    for (const holder of holders) if (holder !== n) n.packages.addProvider(cid.toString(), holder.peerId, now)
  }
  return { cid: cid.toString(), manifest: full, envelope, bytes, receivedAt: now, publisher }
}
