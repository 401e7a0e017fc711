/** Serves /agora/info/1 and asks peers for theirs. */
import { VERSION } from '../../version.ts'
import { defineProtocol, type ReqResp, type RequestOptions, type RequestTarget } from '../reqresp/index.ts'
import { INFO_MAX_ADDRS, INFO_MAX_REQUEST_BYTES, INFO_MAX_RESPONSE_BYTES, INFO_PROTOCOL_ID, INFO_RATE_LIMIT, INFO_TIMEOUTS } from './constants.ts'
import { infoRequestSchema, infoResponseSchema, type InfoResponse } from './schema.ts'
import type { Libp2p } from '@libp2p/interface'

export const infoProtocol = defineProtocol({
  id: INFO_PROTOCOL_ID,
  request: infoRequestSchema,
  response: infoResponseSchema,
  maxRequestBytes: INFO_MAX_REQUEST_BYTES,
  maxResponseBytes: INFO_MAX_RESPONSE_BYTES,
  timeouts: INFO_TIMEOUTS,
  rateLimit: INFO_RATE_LIMIT
})

export interface InfoServiceComponents {
  reqresp: ReqResp
  libp2p: Pick<Libp2p, 'peerId' | 'getMultiaddrs'>
}

export class InfoService {
  private readonly reqresp: ReqResp
  private readonly libp2p: InfoServiceComponents['libp2p']

  constructor (components: InfoServiceComponents) {
    this.reqresp = components.reqresp
    this.libp2p = components.libp2p
  }

  async start (): Promise<void> {
    await this.reqresp.handle(infoProtocol, async () => this.local())
  }

  async stop (): Promise<void> {
    await this.reqresp.unhandle(infoProtocol.id)
  }

  /** What this node answers. */
  local (): InfoResponse {
    return {
      peerId: this.libp2p.peerId.toString(),
      version: VERSION,
      agent: `agora/${VERSION}`,
      listenAddrs: this.libp2p.getMultiaddrs().slice(0, INFO_MAX_ADDRS).map(String),
      time: Date.now()
    }
  }

  /** Ask a peer (by peer id or multiaddr) for its info. */
  async request (target: RequestTarget, options: RequestOptions = {}): Promise<InfoResponse> {
    return await this.reqresp.request(target, infoProtocol, {}, options)
  }
}
