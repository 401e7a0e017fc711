/**
 * The IPFS trustless gateway on the node's HTTP server: `GET` and `HEAD
 * /ipfs/<cid>[/<path>]` answered with one raw block or a CARv1 stream
 * (specs.ipfs.tech/http-gateways/trustless-gateway), so stock IPFS clients
 * (@helia/verified-fetch, kubo, boxo) can fetch and verify what this node
 * holds. Only the local blockstore is read — a request never makes the node
 * fetch from the network — and a CAR is streamed block by block, never
 * buffered. No token: blocks are public and content-addressed; the API's
 * Host guard still applies.
 */
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { CarWriter } from '@ipld/car/writer'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Blockstore } from 'interface-blockstore'
import type { CID } from 'multiformats/cid'
import { AgoraError } from '../errors.ts'
import { checkEntityBytes, holds, loadBlock, resolvePath, walkDag, type Block } from './dag-walk.ts'
import { MEDIA_CAR, MEDIA_RAW, parseGatewayRequest, type GatewayRequest } from './gateway-request.ts'

export const IPFS_PREFIX = '/ipfs/'

export interface IpfsGatewayDeps {
  /** The node's on-disk blockstore — never Helia's networked one. */
  blockstore: Blockstore
}

/** One year, immutable: what a CID names never changes. */
const CACHE_CONTROL = 'public, max-age=29030400, immutable'

export function registerIpfsGateway (app: FastifyInstance, deps: IpfsGatewayDeps): void {
  app.route({
    method: ['GET', 'HEAD'],
    url: `${IPFS_PREFIX}*`,
    // HEAD is ours: Fastify's automatic one would run the GET and stream a whole CAR into nothing
    exposeHeadRoute: false,
    handler: async (request, reply) => await serve(deps, request, reply)
  })
}

async function serve (deps: IpfsGatewayDeps, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const wildcard = (request.params as Record<string, string>)['*'] ?? ''
  const wanted = parseGatewayRequest(wildcard, request.query, request.headers.accept)
  const { blockstore } = deps
  // 404 only for the root: once a CAR streams, a missing child ends the stream (the client sees it incomplete)
  if (!await holds(blockstore, wanted.cid)) throw new AgoraError('E1463', `block ${wanted.cid.toString()} is not held here`)
  void reply
    .header('X-Content-Type-Options', 'nosniff')
    .header('Cache-Control', CACHE_CONTROL)
    .header('Vary', 'Accept')
  return wanted.format === 'raw' ? await serveRaw(blockstore, wanted, request, reply) : await serveCar(blockstore, wanted, request, reply)
}

async function serveRaw (blockstore: Blockstore, wanted: GatewayRequest, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const cid = wanted.cid.toString()
  const etag = `"${cid}.raw"`
  void reply
    .header('Content-Type', MEDIA_RAW)
    .header('Content-Disposition', `attachment; filename="${cid}.bin"`)
    .header('Etag', etag)
    .header('X-Ipfs-Path', `/ipfs/${cid}`)
    .header('X-Ipfs-Roots', cid)
  if (notModified(request, etag)) return await reply.status(304).send()
  const bytes = await loadBlock(blockstore, wanted.cid)
  void reply.header('Content-Length', bytes.length)
  if (request.method === 'HEAD') return await reply.send()
  return await reply.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
}

async function serveCar (blockstore: Blockstore, wanted: GatewayRequest, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const root = wanted.cid.toString()
  const abort = new AbortController()
  // the path is resolved before answering: a path that leads nowhere is a 404, not a broken stream
  const { cid: terminal, via } = await resolvePath(blockstore, wanted.cid, wanted.path, abort.signal)
  if (!await holds(blockstore, terminal)) throw new AgoraError('E1463', `block ${terminal.toString()} is not held here`)
  if (wanted.entityBytes !== undefined) await checkEntityBytes(blockstore, terminal, wanted.entityBytes, abort.signal)
  const contentPath = `/ipfs/${[root, ...wanted.path.map(encodeURIComponent)].join('/')}`
  const etag = carEtag(wanted, contentPath)
  void reply
    .header('Content-Type', `${MEDIA_CAR}; version=1; order=dfs; dups=${wanted.dups ? 'y' : 'n'}`)
    .header('Content-Disposition', `attachment; filename="${root}.car"`)
    .header('Etag', etag)
    .header('X-Ipfs-Path', contentPath)
    .header('X-Ipfs-Roots', [...via.map(block => block.cid), terminal].map(cid => cid.toString()).join(','))
    .header('Accept-Ranges', 'none')
  if (notModified(request, etag)) return await reply.status(304).send()
  if (request.method === 'HEAD') return await reply.send()
  // the response closes when it is done or the client went away: stop walking either way
  reply.raw.once('close', () => { abort.abort() })
  const blocks = carBlocks(blockstore, via, terminal, wanted, abort.signal)
  return await reply.send(Readable.from(carBytes(wanted.cid, blocks, abort)))
}

/** Path blocks first (they prove the path), then what dag-scope asks for under the terminal CID. */
async function * carBlocks (blockstore: Blockstore, via: Block[], terminal: CID, wanted: GatewayRequest, signal: AbortSignal): AsyncGenerator<Block> {
  yield * via
  yield * walkDag(blockstore, terminal, { scope: wanted.scope, entityBytes: wanted.entityBytes, dups: wanted.dups, signal })
}

/**
 * Blocks → CARv1 bytes with @ipld/car's writer: its `put` resolves once the
 * reader took the bytes, so a slow client slows the walk (no buffering).
 */
async function * carBytes (root: CID, blocks: AsyncIterable<Block>, abort: AbortController): AsyncGenerator<Uint8Array> {
  const { writer, out } = CarWriter.create([root])
  let fail: (err: unknown) => void = () => {}
  const failed = new Promise<never>((_resolve, reject) => { fail = reject })
  failed.catch(() => {})
  void (async () => {
    try {
      for await (const block of blocks) await writer.put(block)
      await writer.close()
    } catch (err) {
      fail(err)
    }
  })()
  const chunks = out[Symbol.asyncIterator]()
  try {
    // a walk that fails (a missing child block) breaks the stream where it is: the client sees the CAR incomplete
    while (true) {
      const next = await Promise.race([chunks.next(), failed])
      if (next.done === true) return
      yield next.value
    }
  } finally {
    abort.abort()
  }
}

/** Weak: another gateway may order or deduplicate the same blocks differently (the spec's note on CAR Etags). */
function carEtag (wanted: GatewayRequest, contentPath: string): string {
  const variant = JSON.stringify([contentPath, wanted.scope, wanted.entityBytes ?? null, wanted.dups])
  return `W/"${wanted.cid.toString()}.car.${createHash('sha256').update(variant).digest('hex').slice(0, 16)}"`
}

function notModified (request: FastifyRequest, etag: string): boolean {
  const header = request.headers['if-none-match']
  if (header === undefined) return false
  return header.split(',').some(tag => tag.trim() === etag || tag.trim() === '*')
}
