/**
 * Two request/response engines joined in memory: the client's dials reach
 * the server's handlers through a stream pair, as libp2p would hand them
 * over, with no network. For unit tests of a protocol's both sides.
 */
import { streamPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { silentLogger } from '../../src/observability/logger.ts'
import { ReqResp } from '../../src/protocols/index.ts'
import type { Connection, PeerId, Stream, StreamHandler } from '@libp2p/interface'
import type { Registry } from 'prom-client'

export interface MemoryEngines {
  client: ReqResp
  server: ReqResp
  /** Streams the client opened (each dial is one). */
  dials: () => number
  /** The serving ends, in dial order. */
  inbound: Stream[]
  /** Hand a raw stream end to the server's handler for `protocol`, as libp2p would. */
  serve: (protocol: string, stream: Stream) => void
  stop: () => Promise<void>
}

/** Both engines, started; `caller` is who the server sees on the other end. */
export async function memoryEngines (caller: PeerId, init: { clientMetrics?: Registry } = {}): Promise<MemoryEngines> {
  const handlers = new Map<string, StreamHandler>()
  const inbound: Stream[] = []
  let dials = 0
  const connection = { remotePeer: caller, remoteAddr: multiaddr('/ip4/127.0.0.1/tcp/1234') } as unknown as Connection
  const server = new ReqResp({
    libp2p: {
      handle: async (protocol: string | string[], handler: StreamHandler) => { for (const id of [protocol].flat()) handlers.set(id, handler) },
      unhandle: async (protocol: string | string[]) => { for (const id of [protocol].flat()) handlers.delete(id) },
      dialProtocol: async () => { throw new Error('the server does not dial') }
    },
    logger: silentLogger()
  })
  const client = new ReqResp({
    libp2p: {
      handle: async () => {},
      unhandle: async () => {},
      dialProtocol: async (_target: unknown, protocol: string | string[]) => {
        const handler = handlers.get([protocol].flat()[0] ?? '')
        if (handler === undefined) throw Object.assign(new Error('protocol selection failed'), { name: 'UnsupportedProtocolError' })
        dials++
        const [outbound, serving] = await streamPair()
        inbound.push(serving)
        void handler(serving, connection)
        return outbound
      }
    },
    logger: silentLogger(),
    metrics: init.clientMetrics
  })
  await server.start()
  await client.start()
  return {
    client,
    server,
    dials: () => dials,
    inbound,
    serve: (protocol, stream) => { void handlers.get(protocol)?.(stream, connection) },
    stop: async () => {
      await client.stop()
      await server.stop()
    }
  }
}
