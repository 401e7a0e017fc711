/** The control API: status, identity, peers and stopping the node. */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { z } from 'zod'
import { AgoraError, isAgoraError } from '../../errors.ts'
import { formatCredits, parseCredits } from '../../market/amount.ts'
import { ROUTES, API_PREFIX } from '../../client/routes.ts'
import { statusQuery, connectBody, peerIdParam, offersQuery, offerIdParam, banBody, requestsQuery, requestIdParam, addProviderBody, providerNameParam, accessBody } from '../../client/schemas.ts'
import type { ApiComponents } from '../server.ts'
import type { RequestRecord } from '../../gateway/index.ts'
import type { RequestRecordJson } from '../../client/schemas.ts'

/** Route paths relative to the /api/v1 scope. */
const path = (full: string): string => full.slice(API_PREFIX.length)

export function registerControlRoutes (app: FastifyInstance, { control }: Pick<ApiComponents, 'control'>): void {
  app.get(path(ROUTES.status.path), async request => {
    const { detailed } = parse(statusQuery, request.query, 'query')
    return detailed ? { ...control.status(), detail: await control.statusDetail() } : control.status()
  })
  app.get(path(ROUTES.identity.path), async () => control.identity())
  app.get(path(ROUTES.peers.path), async () => control.peers())

  app.post(path(ROUTES.connect.path), async request => {
    const { multiaddr } = parse(connectBody, request.body, 'body')
    return await control.connect(multiaddr, { signal: abortOnClose(request) })
  })
  app.post(path(ROUTES.disconnect.path), async request => {
    const { id } = parse(peerIdParam, request.params, 'path')
    return { peerId: id, disconnected: await control.disconnect(id) }
  })
  app.post(path(ROUTES.removePeer.path), async request => {
    const { id } = parse(peerIdParam, request.params, 'path')
    return { peerId: id, removed: await control.removePeer(id) }
  })
  app.post(path(ROUTES.ping.path), async request => {
    const { id } = parse(peerIdParam, request.params, 'path')
    return { peerId: id, latencyMs: await control.ping(id, { signal: abortOnClose(request) }) }
  })
  app.post(path(ROUTES.trust.path), async request => control.trust(parse(peerIdParam, request.params, 'path').id))
  app.post(path(ROUTES.untrust.path), async request => control.untrust(parse(peerIdParam, request.params, 'path').id))
  app.post(path(ROUTES.ban.path), async request => {
    const { id } = parse(peerIdParam, request.params, 'path')
    const { reason, durationMs } = parse(banBody, request.body, 'body')
    return await control.ban(id, { reason, durationMs })
  })
  app.post(path(ROUTES.unban.path), async request => control.unban(parse(peerIdParam, request.params, 'path').id))

  app.get(path(ROUTES.offers.path), async request => control.offers(parse(offersQuery, request.query, 'query')))
  app.get(path(ROUTES.localOffer.path), async () => control.localOffer())
  app.get(path(ROUTES.offer.path), async request => control.offer(parse(offerIdParam, request.params, 'path').id))
  app.post(path(ROUTES.withdraw.path), async () => await control.withdraw())
  app.post(path(ROUTES.announce.path), async () => await control.announce())
  app.get(path(ROUTES.models.path), async () => control.models())

  app.get(path(ROUTES.requests.path), async request => control.requests(parse(requestsQuery, request.query, 'query')).map(requestJson))
  app.get(path(ROUTES.request.path), async request => requestJson(control.request(parse(requestIdParam, request.params, 'path').id)))

  app.get(path(ROUTES.providers.path), async () => control.providers())
  app.post(path(ROUTES.addProvider.path), async request => await control.addProvider(parse(addProviderBody, request.body, 'body')))
  app.post(path(ROUTES.removeProvider.path), async request => ({ removed: await control.removeProvider(parse(providerNameParam, request.params, 'path').name) }))
  app.post(path(ROUTES.testProvider.path), async request => await control.testProvider(parse(providerNameParam, request.params, 'path').name))

  app.get(path(ROUTES.access.path), async () => ({ trustMode: control.trustMode() }))
  app.post(path(ROUTES.setAccess.path), async request => ({ trustMode: control.setTrustMode(parse(accessBody, request.body, 'body').trustMode) }))

  app.post(path(ROUTES.stop.path), async (_request, reply) => {
    // answer first, then stop: the caller learns the stop was accepted
    reply.raw.once('finish', () => { control.requestStop('requested through the API') })
    return { stopping: true }
  })
}

/** Validate with one schema; a failure names the field (E1100 for an amount of credits, E502 otherwise). */
export function parse<S extends z.ZodType> (schema: S, value: unknown, where: string): z.infer<S> {
  const result = schema.safeParse(value ?? {})
  if (result.success) return result.data
  const issue = result.error.issues[0]
  const field = issue === undefined || issue.path.length === 0 ? where : `${where}.${issue.path.join('.')}`
  const code = issue !== undefined && isAmountIssue(issue, value) ? 'E1100' : 'E502'
  throw new AgoraError(code, `invalid ${field}`, { why: issue?.message, details: { issues: result.error.issues } })
}

/**
 * Whether the issue is an amount refused by `creditsInput`: the value at its
 * path, read as credits, fails for the very reason the issue gives (an
 * issue of any other schema does not say that).
 */
function isAmountIssue (issue: z.core.$ZodIssue, value: unknown): boolean {
  if (issue.code !== 'custom') return false
  const input = issue.path.reduce<unknown>((at, key) => typeof at === 'object' && at !== null ? (at as Record<PropertyKey, unknown>)[key] : undefined, value)
  if (typeof input !== 'string' && typeof input !== 'number') return false
  try {
    parseCredits(input)
    return false
  } catch (err) {
    return isAgoraError(err, 'E1100') && err.why === issue.message
  }
}

/** A metered request as the API sends it: the price in credits with six decimals. */
function requestJson (record: RequestRecord): RequestRecordJson {
  return { ...record, price: formatCredits(record.price) }
}

/** An AbortSignal that fires when the client goes away, so work on its behalf stops. */
export function abortOnClose (request: FastifyRequest): AbortSignal {
  const controller = new AbortController()
  request.raw.once('close', () => { if (!request.raw.complete) controller.abort() })
  return controller.signal
}
