/**
 * What a trustless-gateway request asks for (specs.ipfs.tech/http-gateways/
 * trustless-gateway): the CID and path, the response format (one raw block
 * or a CAR), and for a CAR its scope, byte range and duplicate rule. The
 * `format` query parameter wins over `Accept`; without either we refuse
 * (a strict trustless gateway has no deserialised responses to fall back on).
 */
import { CID } from 'multiformats/cid'
import { z } from 'zod'
import { AgoraError } from '../errors.ts'

export const MEDIA_RAW = 'application/vnd.ipld.raw'
export const MEDIA_CAR = 'application/vnd.ipld.car'

export type DagScope = 'block' | 'entity' | 'all'

/** `entity-bytes=from:to` as written: `to` null means `*` (end of file); negatives count from the end. */
export interface EntityBytes {
  from: number
  to: number | null
}

export interface GatewayRequest {
  cid: CID
  /** Path segments after the CID (CAR only). */
  path: string[]
  format: 'raw' | 'car'
  scope: DagScope
  entityBytes: EntityBytes | undefined
  /** Send a block every time the walk meets it (y) or once (n, our default). */
  dups: boolean
}

const querySchema = z.object({
  format: z.string().optional(),
  'dag-scope': z.string().optional(),
  'entity-bytes': z.string().optional(),
  'car-version': z.string().optional(),
  'car-order': z.string().optional(),
  'car-dups': z.string().optional()
}).passthrough()

/** `/ipfs/<cid>[/<path>]` (already URL-decoded by the router) plus query and Accept → what to serve. */
export function parseGatewayRequest (wildcard: string, rawQuery: unknown, accept: string | undefined): GatewayRequest {
  const [cidText = '', ...path] = wildcard.split('/')
  const segments = path.filter(segment => segment !== '')
  const cid = parseCid(cidText)
  const query = querySchema.safeParse(rawQuery ?? {})
  if (!query.success) throw new AgoraError('E1461', 'the query could not be read', { why: query.error.issues[0]?.message })
  const q = query.data
  const wanted = q.format !== undefined ? fromFormat(q.format) : fromAccept(accept)
  if (wanted.format === 'raw') {
    if (segments.length > 0) throw new AgoraError('E1461', 'a raw block is asked for by CID alone', { why: `path /${segments.join('/')} given with format raw` })
    return { cid, path: [], format: 'raw', scope: 'block', entityBytes: undefined, dups: false }
  }
  const version = q['car-version'] ?? wanted.version
  if (version !== undefined && version !== '1') throw new AgoraError('E1461', `CAR version ${version} is not served`, { why: 'only CARv1' })
  const order = q['car-order'] ?? wanted.order
  if (order !== undefined && order !== 'dfs' && order !== 'unk') throw new AgoraError('E1461', `CAR order ${order} is not served`, { why: 'only order=dfs' })
  const dups = q['car-dups'] ?? wanted.dups
  if (dups !== undefined && dups !== 'y' && dups !== 'n') throw new AgoraError('E1461', `car-dups=${dups} is not y or n`)
  const scope = q['dag-scope'] ?? 'all'
  if (scope !== 'block' && scope !== 'entity' && scope !== 'all') throw new AgoraError('E1461', `dag-scope=${scope} is not block, entity or all`)
  const entityBytes = q['entity-bytes'] === undefined ? undefined : parseEntityBytes(q['entity-bytes'])
  // entity-bytes implies dag-scope=entity
  return { cid, path: segments, format: 'car', scope: entityBytes === undefined ? scope : 'entity', entityBytes, dups: dups === 'y' }
}

export function parseCid (text: string): CID {
  try {
    return CID.parse(text)
  } catch (err) {
    throw new AgoraError('E1460', `not a CID: ${text.slice(0, 100)}`, { why: (err as Error).message })
  }
}

/** `from:to`, integers (negative from the end) and `*` for `to`; a range written backwards is refused. */
export function parseEntityBytes (text: string): EntityBytes {
  const match = /^(-?\d{1,16}):(-?\d{1,16}|\*)$/.exec(text)
  if (match === null) throw new AgoraError('E1464', `entity-bytes=${text.slice(0, 64)} is not from:to`)
  const from = Number(match[1])
  const to = match[2] === '*' ? null : Number(match[2])
  if (to !== null && from >= 0 && to >= 0 && to < from) throw new AgoraError('E1464', `entity-bytes=${text} ends before it starts`)
  return { from, to }
}

interface Wanted { format: 'raw' | 'car', version?: string, order?: string, dups?: string }

function fromFormat (format: string): Wanted {
  if (format === 'raw') return { format: 'raw' }
  if (format === 'car') return { format: 'car' }
  throw new AgoraError('E1461', `format=${format.slice(0, 32)} is not served`, { why: 'a trustless gateway serves format=raw and format=car' })
}

/**
 * The best media type of `Accept` we serve (RFC 9110 12.5.1: highest q, then
 * order). A CAR variant we cannot make (version 2, another order or dups)
 * does not match; nothing that matches is 406.
 */
function fromAccept (accept: string | undefined): Wanted {
  if (accept === undefined || accept.trim() === '') {
    throw new AgoraError('E1461', 'no format asked for', { why: 'neither ?format= nor an Accept header' })
  }
  const ranges = accept.split(',').map((range, index) => {
    const [type = '', ...params] = range.split(';').map(part => part.trim())
    const values = Object.fromEntries(params.map(param => {
      const [key = '', value = ''] = param.split('=').map(part => part.trim())
      return [key.toLowerCase(), value.replace(/^"|"$/g, '')]
    }))
    const q = values.q === undefined ? 1 : Number(values.q)
    return { type: type.toLowerCase(), values, q: Number.isFinite(q) ? q : 0, index }
  }).filter(range => range.q > 0).sort((a, b) => b.q - a.q || a.index - b.index)
  for (const range of ranges) {
    if (range.type === MEDIA_RAW) return { format: 'raw' }
    if (range.type !== MEDIA_CAR) continue
    const { version, order, dups } = range.values
    if (version !== undefined && version !== '1') continue
    if (order !== undefined && order !== 'dfs' && order !== 'unk') continue
    if (dups !== undefined && dups !== 'y' && dups !== 'n') continue
    return { format: 'car', version, order, dups }
  }
  throw new AgoraError('E1462', 'no acceptable response type', { why: `Accept: ${accept.slice(0, 200)}` })
}
