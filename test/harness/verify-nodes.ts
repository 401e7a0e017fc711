/**
 * Real libp2p nodes that verify over gossip (`/agora/verify/1`): each with
 * its own replay guard, validator, decision book and VerifyNetwork, all
 * connected to the first (a star: gossipsub meshes over it).
 */
import { EnvelopeVerifier, generateIdentity, type NodeIdentity } from '../../src/identity/index.ts'
import { Gossip, VERIFY_TOPIC } from '../../src/p2p/index.ts'
import { Database, ReplayRepository } from '../../src/store/index.ts'
import { DecisionBook, VerifyNetwork, VerifyValidator, type EtcdDecider } from '../../src/verify/index.ts'
import { connectNodes, createTestNode, type TestNode } from './libp2p-nodes.ts'
import { stopAll, waitFor } from './wait.ts'

export interface VerifyNode {
  node: TestNode
  identity: NodeIdentity
  gossip: Gossip
  decisions: DecisionBook
  network: VerifyNetwork
  peerId: string
}

export interface VerifyNodesInit {
  count: number
  k: number
  /** Index of the node that decides every thread (the coordinator). */
  decider: number
  revealAfterMs?: number
  etcd?: Pick<EtcdDecider, 'decide'>
}

export async function verifyNodes (init: VerifyNodesInit): Promise<{ nodes: VerifyNode[], stop: () => Promise<void> }> {
  const nodes: VerifyNode[] = []
  const stop = async (): Promise<void> => {
    await stopAll(nodes, v => `verify node ${v.peerId.slice(-6)}`, async v => {
      v.network.stop()
      v.gossip.stop()
      await v.node.stop()
    })
  }
  try {
    for (let i = 0; i < init.count; i++) {
      const identity = await generateIdentity()
      const node = await createTestNode({ privateKey: identity.privateKey })
      const gossip = new Gossip({ libp2p: node.libp2p, logger: node.logger }, { publishPerSecond: 1000 })
      const validator = new VerifyValidator({ envelopes: new EnvelopeVerifier({ replay: new ReplayRepository(new Database({ path: ':memory:' })) }) }, { perSignerPerSecond: 1000 })
      const decisions = new DecisionBook()
      const network = new VerifyNetwork({ gossip, identity, validator, decisions, logger: node.logger.forComponent('agora:verify'), ...(i === init.decider && init.etcd !== undefined ? { etcd: init.etcd } : {}) }, {
        k: () => init.k,
        decides: () => i === init.decider,
        ...(init.revealAfterMs === undefined ? {} : { revealAfterMs: init.revealAfterMs })
      })
      gossip.start()
      network.start()
      nodes.push({ node, identity, gossip, decisions, network, peerId: identity.peerIdString })
    }
    const [hub, ...rest] = nodes as [VerifyNode, ...VerifyNode[]]
    for (const v of rest) await connectNodes(v.node, hub.node)
    await waitFor('every node in the verify topic\'s mesh', () => nodes.every(v => v.gossip.topicPeers(VERIFY_TOPIC).length >= (v === hub ? rest.length : 1)), { timeoutMs: 15_000 })
    return { nodes, stop }
  } catch (err) {
    await stop().catch(() => {})
    throw err
  }
}
