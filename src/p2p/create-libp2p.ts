/**
 * Assembles the node's libp2p: TCP and WebSockets, Noise, Yamux, identify,
 * ping, Kademlia under our own protocol id, gossipsub with a topic
 * allow-list, and the optional pieces the config turns on (mDNS, bootstrap,
 * circuit relay, AutoNAT, DCUtR, private network). Limits are set from
 * `network.connections` on purpose, never left at libp2p's defaults.
 */
import { autoNAT } from '@libp2p/autonat'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { gossipsub, StrictSign, type GossipSub } from '@libp2p/gossipsub'
import { identify, identifyPush, type Identify, type IdentifyPush } from '@libp2p/identify'
import { kadDHT, passthroughMapper, removePrivateAddressesMapper, removePublicAddressesMapper, type KadDHT } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { noise } from '@libp2p/noise'
import { ping, type Ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2pOptions, type Libp2pInit } from 'libp2p'
import { AgoraError, messageOf } from '../errors.ts'
import { VERSION } from '../version.ts'
import { ALLOWED_TOPICS, APP_SCORE_WEIGHT, DHT_PROTOCOL_SUFFIX, GOSSIPSUB_SCORE_THRESHOLDS, GOSSIPSUB_TOPIC_ENTRY_OVERHEAD, MAX_TOPIC_LENGTH } from './constants.ts'
import { readSwarmKey } from './swarm-key.ts'
import type { AgoraConfig } from '../config/schema.ts'
import type { AgoraLogger } from '../observability/logger.ts'
import type { ConnectionGater, Libp2p, PeerInfo, PrivateKey } from '@libp2p/interface'
import type { Registry } from 'prom-client'

export type NetworkConfig = AgoraConfig['network']

/** Addresses of this very host: peers there are our own local swarm, not a Sybil cluster. */
const LOOPBACK_IPS = ['127.0.0.1', '::1']

/** The services every Agora libp2p carries; the optional ones follow the config. */
export type AgoraServices = {
  identify: Identify
  identifyPush: IdentifyPush
  ping: Ping
  pubsub: GossipSub
  dht?: KadDHT
  autonat?: unknown
  dcutr?: unknown
}

export type AgoraLibp2p = Libp2p<AgoraServices>

export type Libp2pDatastore = NonNullable<Libp2pInit['datastore']>

export interface CreateLibp2pComponents {
  privateKey: PrivateKey
  logger: AgoraLogger
  /** libp2p's metrics join this registry; none when undefined. */
  metrics: Registry | undefined
  /** Persists the peer store and DHT records; in memory when omitted. */
  datastore?: Libp2pDatastore
  /** Refuses dials and connections (the peer book's: banned peers); libp2p allows everything when omitted. */
  connectionGater?: ConnectionGater
  /** Gossipsub's application-specific peer score (the peer book's reputation); no peer scoring input when omitted. */
  appSpecificScore?: (peerId: string) => number
}

export interface CreateLibp2pInit {
  /** The node's data dir (libp2p's disk-usage metric watches it). */
  dataDir?: string
  /** Start (listen) right away; when false call `startAgoraLibp2p` later. Default true. */
  start?: boolean
}

/** The Kademlia protocol id for a prefix, e.g. `/agora/kad/1.0.0`. */
export function dhtProtocol (prefix: string): string {
  return `${prefix}${DHT_PROTOCOL_SUFFIX}`
}

const ADDRESS_MAPPERS: Record<NetworkConfig['dht']['addressFilter'], (peer: PeerInfo) => PeerInfo> = {
  all: passthroughMapper,
  private: removePublicAddressesMapper,
  public: removePrivateAddressesMapper
}

/** Names libp2p's Prometheus adapter registers besides its `libp2p_*` metrics. */
const LIBP2P_NODEJS_METRICS = ['nodejs_memory_usage_bytes', 'nodejs_memory_total_bytes', 'nodejs_fs_usage_bytes']

export async function createAgoraLibp2p (components: CreateLibp2pComponents, network: NetworkConfig, init: CreateLibp2pInit = {}): Promise<AgoraLibp2p> {
  const log = components.logger.forComponent('agora:p2p')
  const options = libp2pOptions(components, network, init)
  const node = await createLibp2p<AgoraServices>({ ...options, start: false })
  log.debug({ peerId: node.peerId.toString(), dht: network.dht.enabled ? dhtProtocol(network.dht.protocolPrefix) : 'off' }, 'libp2p assembled')
  if (init.start ?? true) {
    await startAgoraLibp2p(node)
    log.info({ peerId: node.peerId.toString(), addresses: node.getMultiaddrs().map(String) }, 'libp2p listening')
  }
  return node
}

/** Start the node; a listen failure (port taken…) becomes E201 and the node is stopped again. */
export async function startAgoraLibp2p (node: AgoraLibp2p): Promise<void> {
  try {
    await node.start()
  } catch (err) {
    try { await node.stop() } catch { /* already failing: report the start error */ }
    throw listenError(err)
  }
}

/** The libp2p options for this config, without creating anything. */
export function libp2pOptions (components: CreateLibp2pComponents, network: NetworkConfig, init: CreateLibp2pInit = {}): Libp2pOptions<AgoraServices> {
  const listen = [...network.listen]
  // a reservation is opt-in: while none is held, the relay transport walks the DHT for relays without pause
  if (network.relay && network.relayReservation && !listen.some(address => address.endsWith('/p2p-circuit'))) listen.push('/p2p-circuit')
  checkMultiaddrs('network.listen', network.listen)
  checkMultiaddrs('network.announce', network.announce)
  checkBootstrap(network.bootstrap)
  const connections = network.connections

  const services: Libp2pOptions<AgoraServices>['services'] = {
    identify: identify(),
    identifyPush: identifyPush(),
    // the connection monitor pings on the same protocol as the peer manager: allow both at once
    ping: ping({ maxInboundStreams: 4, maxOutboundStreams: 4 }),
    pubsub: gossipsub({
      globalSignaturePolicy: StrictSign,
      allowPublishToZeroTopicPeers: false,
      fallbackToFloodsub: false,
      emitSelf: false,
      // remote subscriptions to any other topic are ignored, so a peer cannot grow our topic maps
      allowedTopics: [...ALLOWED_TOPICS],
      maxTopicBytesPerPeer: network.gossip.maxTopicsPerPeer * (GOSSIPSUB_TOPIC_ENTRY_OVERHEAD + MAX_TOPIC_LENGTH),
      scoreParams: {
        // many nodes on one host (a local swarm) must not score each other below the publish threshold
        IPColocationFactorWhitelist: new Set(LOOPBACK_IPS),
        // the reputation feeds the peer score: a banned peer falls below the graylist threshold and is ignored
        ...(components.appSpecificScore === undefined ? {} : { appSpecificScore: components.appSpecificScore, appSpecificWeight: APP_SCORE_WEIGHT })
      },
      ...(components.appSpecificScore === undefined ? {} : { scoreThresholds: { ...GOSSIPSUB_SCORE_THRESHOLDS } })
    })
  }
  if (network.dht.enabled) {
    services.dht = kadDHT({
      protocol: dhtProtocol(network.dht.protocolPrefix),
      peerInfoMapper: ADDRESS_MAPPERS[network.dht.addressFilter],
      clientMode: network.dht.clientMode
    })
  }
  if (network.autonat) services.autonat = autoNAT()
  if (network.dcutr) services.dcutr = dcutr()

  const peerDiscovery: NonNullable<Libp2pOptions['peerDiscovery']> = []
  if (network.bootstrap.length > 0) peerDiscovery.push(bootstrap({ list: [...network.bootstrap] }))
  if (network.mdns) peerDiscovery.push(mdns())

  const transports: NonNullable<Libp2pOptions['transports']> = [tcp(), webSockets()]
  if (network.relay) transports.push(circuitRelayTransport())

  const options: Libp2pOptions<AgoraServices> = {
    privateKey: components.privateKey,
    nodeInfo: { name: 'agora', version: VERSION, userAgent: `agora/${VERSION}` },
    addresses: { listen, announce: [...network.announce] },
    transports,
    connectionEncrypters: [noise()],
    // a paused reader (a slow consumer of a streamed answer) buffers at most one window:
    // keep it well under a stream's 4 MiB read buffer so pausing never resets the stream
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: 2 * 1024 * 1024 } })],
    peerDiscovery,
    services,
    connectionManager: {
      maxConnections: connections.maxConnections,
      maxIncomingPendingConnections: connections.maxIncomingPending,
      inboundConnectionThreshold: connections.inboundThresholdPerHost,
      dialTimeout: connections.dialTimeoutMs
    },
    // gossipsub has no backpressure: a busy link must not make the monitor drop every connection
    connectionMonitor: { abortConnectionOnPingFailure: false }
  }
  if (components.datastore !== undefined) options.datastore = components.datastore
  if (components.connectionGater !== undefined) options.connectionGater = components.connectionGater
  if (network.psk !== '') {
    const psk = readSwarmKey(network.psk)
    options.connectionProtector = preSharedKey({ psk })
  }
  const registry = components.metrics
  if (registry !== undefined) {
    forgetLibp2pMetrics(registry)
    options.metrics = prometheusMetrics({
      registry,
      // the registry already collects process metrics (agora_process_*, agora_nodejs_*)
      collectDefaultMetrics: false,
      ...(init.dataDir === undefined ? {} : { statfsLocation: init.dataDir })
    })
  }
  return options
}

/**
 * A registry that served an earlier libp2p (a restart in the same process)
 * still holds its metrics; prom-client refuses to register a name twice.
 */
function forgetLibp2pMetrics (registry: Registry): void {
  for (const metric of registry.getMetricsAsArray()) {
    const name = metric.name
    if (name.startsWith('libp2p_') || LIBP2P_NODEJS_METRICS.includes(name)) registry.removeSingleMetric(name)
  }
}

function parseMultiaddr (key: string, value: string): Multiaddr {
  try {
    return multiaddr(value)
  } catch (err) {
    throw new AgoraError('E200', `${key} holds an invalid multiaddr: ${value}`, { why: messageOf(err), cause: err })
  }
}

function checkMultiaddrs (key: string, values: readonly string[]): void {
  for (const value of values) parseMultiaddr(key, value)
}

function checkBootstrap (values: readonly string[]): void {
  for (const value of values) {
    const address = parseMultiaddr('network.bootstrap', value)
    if (!address.getComponents().some(component => component.name === 'p2p')) {
      throw new AgoraError('E200', `network.bootstrap entry ${value} has no peer id`, { why: 'a bootstrap address must end in /p2p/<peerId>' })
    }
  }
}

/** Turn libp2p's listen failure into E201 naming the address. */
export function listenError (err: unknown): Error {
  if (err instanceof AgoraError) return err
  const message = messageOf(err)
  const failures = [...message.matchAll(/^\s*(\/\S+): (.+)$/gm)].map(match => ({ address: match[1] as string, reason: match[2] as string }))
  const taken = failures.find(failure => failure.reason.includes('EADDRINUSE'))
  if (taken !== undefined) {
    return new AgoraError('E201', `cannot listen on ${taken.address}`, {
      why: 'the port is already in use (another agora node or another program has it)',
      hint: 'pick another port, or let the system choose one: `--listen /ip4/0.0.0.0/tcp/0`',
      cause: err,
      details: { address: taken.address }
    })
  }
  const first = failures[0]
  if (first !== undefined) {
    // the port is not the problem here: say what is
    const hint = /EADDRNOTAVAIL/.test(first.reason)
      ? 'that address is not one of this machine\'s: listen on one it has (`ip addr`), or on all of them: `--listen /ip4/0.0.0.0/tcp/<port>`'
      : /EACCES/.test(first.reason)
        ? 'ports below 1024 need privileges: pick a port above 1023, or 0 for any free one'
        : 'check the address in --listen or network.listen'
    return new AgoraError('E201', `cannot listen on ${first.address}`, { why: first.reason, hint, cause: err, details: { address: first.address } })
  }
  return err instanceof Error ? err : new AgoraError('E201', 'cannot start the network', { why: message, cause: err })
}
