import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isAgoraError } from '../../src/errors.ts'
import { generateSwarmKey } from '../../src/p2p/index.ts'
import { connectNodes, createTestNode, type TestNode } from '../harness/libp2p-nodes.ts'

describe('p2p: private network (pre-shared key)', () => {
  test('nodes with the same swarm key connect; nodes without it or with another cannot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agora-'))
    const started: TestNode[] = []
    try {
      const key = join(dir, 'swarm.key')
      const other = join(dir, 'other.key')
      writeFileSync(key, generateSwarmKey())
      writeFileSync(other, generateSwarmKey())
      const a = await createTestNode({ network: { psk: key } })
      started.push(a)
      const b = await createTestNode({ network: { psk: key } })
      started.push(b)
      const outsider = await createTestNode()
      started.push(outsider)
      const stranger = await createTestNode({ network: { psk: other } })
      started.push(stranger)

      await connectNodes(a, b)
      assert.ok(await a.libp2p.services.ping.ping(b.libp2p.peerId) >= 0)

      // each failed handshake ends by error or by the dial timeout; run them side by side
      await Promise.all([
        assert.rejects(outsider.libp2p.dial(a.address, { signal: AbortSignal.timeout(3000) })),
        assert.rejects(a.libp2p.dial(outsider.address, { signal: AbortSignal.timeout(3000) })),
        assert.rejects(stranger.libp2p.dial(a.address, { signal: AbortSignal.timeout(3000) }))
      ])
      assert.equal(a.libp2p.getConnections(outsider.libp2p.peerId).length, 0)
      assert.equal(a.libp2p.getConnections(stranger.libp2p.peerId).length, 0)
    } finally {
      await Promise.allSettled(started.map(async node => { await node.stop() }))
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a swarm key file that is missing or malformed → E208', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agora-'))
    try {
      const bad = join(dir, 'bad.key')
      writeFileSync(bad, '/key/swarm/psk/1.0.0/\n/base16/\nnot-hex\n')
      await assert.rejects(createTestNode({ network: { psk: bad } }), (err: unknown) => isAgoraError(err, 'E208') && /64 hexadecimal/.test(err.why ?? ''))
      await assert.rejects(createTestNode({ network: { psk: join(dir, 'missing.key') } }), (err: unknown) => isAgoraError(err, 'E208'))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
