/**
 * Dial benchmark: how long from `dial()` until identify has completed with a
 * fresh listener (TCP + Noise + Yamux + identify), with a new dialer node
 * every iteration (cold peer store, new key), against a raw TCP connect to
 * the same port measured in the same run as the baseline.
 *
 * Run: PATH=$PWD/node_modules/.bin:$PATH node bench/dial.bench.ts [iterations]
 */
import { connect } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultConfig } from '../src/config/schema.ts'
import { silentLogger } from '../src/observability/logger.ts'
import { createAgoraLibp2p, type AgoraLibp2p, type NetworkConfig } from '../src/p2p/index.ts'
import { median, percentile, report, round } from './lib.ts'
import type { IdentifyResult } from '@libp2p/interface'

const ITERATIONS = Number(process.argv[2] ?? 50)
const WARMUP = 5
const TARGET_MEDIAN_MS = 30

/** Loopback only; the full stack (DHT + gossipsub) so identify carries the real protocol list. */
function benchNetwork (): NetworkConfig {
  const base = defaultConfig().network
  return {
    ...base,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: [],
    mdns: false,
    relay: false,
    autonat: false,
    dcutr: false,
    dht: { ...base.dht, addressFilter: 'all' },
    // every dialer comes from 127.0.0.1: do not let the per-host threshold refuse them
    connections: { ...base.connections, inboundThresholdPerHost: 10_000 }
  }
}

async function newNode (network: NetworkConfig): Promise<AgoraLibp2p> {
  return await createAgoraLibp2p({ privateKey: await generateKeyPair('Ed25519'), logger: silentLogger(), metrics: undefined }, network)
}

interface DialSample {
  /** dial() resolved: TCP + Noise + Yamux. */
  dialMs: number
  /** peer:identify for the listener fired on the dialer. */
  identifyMs: number
}

async function dialOnce (listener: AgoraLibp2p, network: NetworkConfig): Promise<DialSample> {
  const dialer = await newNode({ ...network, listen: [] })
  try {
    const target = listener.getMultiaddrs()[0]
    if (target === undefined) throw new Error('the listener has no address')
    const identified = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error('identify did not complete within 5 s')) }, 5000)
      dialer.addEventListener('peer:identify', (event: CustomEvent<IdentifyResult>) => {
        if (!event.detail.peerId.equals(listener.peerId)) return
        clearTimeout(timer)
        resolve(performance.now())
      })
    })
    const start = performance.now()
    await dialer.dial(target, { signal: AbortSignal.timeout(5000) })
    const dialled = performance.now()
    const done = await identified
    return { dialMs: dialled - start, identifyMs: done - start }
  } finally {
    await dialer.stop()
  }
}

async function tcpConnectOnce (port: number): Promise<number> {
  return await new Promise((resolve, reject) => {
    const start = performance.now()
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      const ms = performance.now() - start
      socket.destroy()
      resolve(ms)
    })
    socket.once('error', reject)
  })
}

function portOf (node: AgoraLibp2p): number {
  const value = node.getMultiaddrs()[0]?.getComponents().find(component => component.name === 'tcp')?.value
  if (value === undefined) throw new Error('the listener has no TCP port')
  return Number(value)
}

async function main (): Promise<void> {
  const network = benchNetwork()
  const listener = await newNode(network)
  try {
    const port = portOf(listener)
    for (let i = 0; i < WARMUP; i++) {
      await dialOnce(listener, network)
      await tcpConnectOnce(port)
    }
    const dials: DialSample[] = []
    const tcp: number[] = []
    // interleaved, so drift in machine load hits both series alike
    for (let i = 0; i < ITERATIONS; i++) {
      dials.push(await dialOnce(listener, network))
      tcp.push(await tcpConnectOnce(port))
    }
    const identify = dials.map(d => d.identifyMs)
    const dialOnly = dials.map(d => d.dialMs)
    const identifyMedian = median(identify)
    const tcpMedian = median(tcp)
    const spread = (samples: number[]): string => `p90 ${round(percentile(samples, 90))} ms, min ${round(Math.min(...samples))} ms, n=${samples.length}`
    report('dial', [
      {
        metric: 'dial → identify done (median)',
        value: identifyMedian,
        unit: 'ms',
        target: `< ${TARGET_MEDIAN_MS} ms`,
        pass: identifyMedian < TARGET_MEDIAN_MS,
        detail: spread(identify)
      },
      { metric: 'dial → identify done (p90)', value: percentile(identify, 90), unit: 'ms', target: 'info', pass: true },
      { metric: 'dial: tcp + noise + yamux (median)', value: median(dialOnly), unit: 'ms', target: 'info', pass: true, detail: spread(dialOnly) },
      { metric: 'raw TCP connect, baseline (median)', value: tcpMedian, unit: 'ms', target: 'baseline', pass: true, detail: spread(tcp) },
      { metric: 'dial → identify / raw TCP connect', value: identifyMedian / tcpMedian, unit: 'x', target: 'info', pass: true }
    ], { iterations: ITERATIONS, warmup: WARMUP, samples: { identify, dialOnly, tcp } })
  } finally {
    await listener.stop()
  }
}

await main()
