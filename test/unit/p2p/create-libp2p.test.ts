import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { isAgoraError } from '../../../src/errors.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { dhtProtocol, libp2pOptions, listenError } from '../../../src/p2p/index.ts'
import { testNetworkConfig } from '../../harness/libp2p-nodes.ts'

describe('p2p: libp2p options from the config', () => {
  test('the DHT protocol id follows the configured prefix', () => {
    assert.equal(dhtProtocol('/agora'), '/agora/kad/1.0.0')
    assert.equal(dhtProtocol('/agora/test'), '/agora/test/kad/1.0.0')
  })

  test('limits come from network.connections and optional services follow the flags', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const network = testNetworkConfig({ connections: { maxConnections: 77, maxIncomingPending: 9, inboundThresholdPerHost: 11, dialTimeoutMs: 1234 } })
    const options = libp2pOptions({ privateKey, logger: silentLogger(), metrics: undefined }, network)
    assert.deepEqual(options.connectionManager, { maxConnections: 77, maxIncomingPendingConnections: 9, inboundConnectionThreshold: 11, dialTimeout: 1234 })
    assert.equal(options.connectionMonitor?.abortConnectionOnPingFailure, false)
    assert.deepEqual(Object.keys(options.services ?? {}).sort(), ['dht', 'identify', 'identifyPush', 'ping', 'pubsub'])
    assert.equal(options.peerDiscovery?.length, 0, 'no mdns, no bootstrap')
    assert.equal(options.metrics, undefined)
    assert.equal(options.connectionProtector, undefined)

    const full = libp2pOptions({ privateKey, logger: silentLogger(), metrics: undefined }, testNetworkConfig({
      relay: true, autonat: true, dcutr: true, mdns: true, dht: { enabled: false },
      bootstrap: ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo']
    }))
    assert.deepEqual(Object.keys(full.services ?? {}).sort(), ['autonat', 'dcutr', 'identify', 'identifyPush', 'ping', 'pubsub'])
    assert.equal(full.peerDiscovery?.length, 2)
    assert.equal(full.transports?.length, 3, 'tcp, websockets and circuit relay')
    assert.ok(!(full.addresses?.listen?.includes('/p2p-circuit') ?? false), 'no reservation unless asked: it walks the DHT for relays without pause')
    const reserving = libp2pOptions({ privateKey, logger: silentLogger(), metrics: undefined }, testNetworkConfig({ relay: true, relayReservation: true, dht: { enabled: false } }))
    assert.ok(reserving.addresses?.listen?.includes('/p2p-circuit'))
  })

  test('bad listen or bootstrap addresses → E200', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const build = (overrides: Parameters<typeof testNetworkConfig>[0]) => () => libp2pOptions({ privateKey, logger: silentLogger(), metrics: undefined }, testNetworkConfig(overrides))
    assert.throws(build({ listen: ['/ip4/999.1.1.1/tcp/1'] }), (err: unknown) => isAgoraError(err, 'E200') && err.what.includes('network.listen'))
    assert.throws(build({ bootstrap: ['/ip4/127.0.0.1/tcp/4001'] }), (err: unknown) => isAgoraError(err, 'E200') && /p2p/.test(err.why ?? ''))
  })

  test("libp2p's listen failure becomes E201 naming the address", () => {
    const message = 'Some configured addresses failed to be listened on, you may need to remove one or more listen addresses from your configuration or set `transportManager.faultTolerance` to NO_FATAL:\n' +
      '\n  /ip4/127.0.0.1/tcp/41145: listen EADDRINUSE: address already in use 127.0.0.1:41145\n'
    const err = listenError(new Error(message))
    assert.ok(isAgoraError(err, 'E201'))
    assert.equal(err.what, 'cannot listen on /ip4/127.0.0.1/tcp/41145')
    assert.match(err.hint, /--listen \/ip4\/0\.0\.0\.0\/tcp\/0/)
    const other = listenError(new Error('failed:\n  /ip4/10.9.9.9/tcp/1: listen EADDRNOTAVAIL: address not available\n'))
    assert.ok(isAgoraError(other, 'E201'))
    assert.match(other.why ?? '', /EADDRNOTAVAIL/)
    // the address is the problem, not the port
    assert.doesNotMatch(other.hint, /another port/)
    assert.match(other.hint, /not one of this machine's/)
    const privileged = listenError(new Error('failed:\n  /ip4/0.0.0.0/tcp/80: listen EACCES: permission denied 0.0.0.0:80\n'))
    assert.match(isAgoraError(privileged, 'E201') ? privileged.hint : '', /above 1023/)
  })
})
