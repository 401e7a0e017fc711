/**
 * Builds the node's one HTTP server (Fastify) without listening: the control
 * API under /api/v1, the event socket, health and metrics. `node.ts` decides
 * when it listens. Tests drive it through `inject` (no socket), and through a
 * real socket for what only a socket shows (upgrades, malformed HTTP).
 */
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import Fastify, { type FastifyInstance, type FastifyError, type FastifyReply } from 'fastify'
import websocket from '@fastify/websocket'
import type { Registry } from 'prom-client'
import { AgoraError, messageOf } from '../errors.ts'
import type { AgoraEvents } from '../events.ts'
import type { AgoraLogger } from '../observability/logger.ts'
import { API_PREFIX } from '../client/routes.ts'
import { createHostGuard, createTokenCheck, presentedToken } from './guard.ts'
import type { ControlPlane } from './control-plane.ts'
import { registerControlRoutes } from './routes/control.ts'
import { registerHealthRoutes } from './routes/health.ts'
import { registerLogsRoute } from './routes/logs.ts'
import { registerEventsRoute } from './routes/events.ts'
import { registerKeysRoutes } from './routes/keys.ts'
import { registerOpenAiRoutes, isOpenAiPath, OPENAI_PREFIX } from './routes/openai.ts'
import type { Gateway } from '../gateway/types.ts'
import type { ApiKeys } from './keys/index.ts'
import type { JobsApi } from '../jobs/api-types.ts'
import { registerJobsRoutes } from './routes/jobs.ts'
import { registerMarketRoutes } from './routes/market.ts'
import { registerNeedsRoutes } from './routes/needs.ts'
import { registerVerifyRoutes } from './routes/verify.ts'
import { registerInvitesRoutes, type InvitesApi } from './routes/invites.ts'
import { registerConfigRoutes, type RuntimeConfigApi } from './routes/config.ts'
import type { VerifyStatus } from '../verify/index.ts'
import type { MarketApi } from '../market/types.ts'
import { IPFS_PREFIX, registerIpfsGateway, type IpfsGatewayDeps } from '../packages/gateway.ts'
import type { PackageApi } from '../packages/types.ts'
import { registerPackagesRoutes } from './routes/packages.ts'

export interface ApiComponents {
  control: ControlPlane
  events: AgoraEvents
  metrics: Registry
  logger: AgoraLogger
  /** The inference gateway: with `keys`, serves the OpenAI-compatible API under /v1. */
  gateway?: Gateway
  /** API keys for /v1, managed under /api/v1/keys. */
  keys?: ApiKeys
  /** The jobs coordinator: serves /api/v1/jobs and /api/v1/uploads (503 E1080 without it). */
  jobs?: JobsApi
  /** The market: serves /api/v1/wallet and /api/v1/market (503 E1140 without it). */
  market?: MarketApi
  /** Verification: serves /api/v1/verify/status. */
  verify?: { status: () => VerifyStatus }
  /** Invites: serves POST /api/v1/invites (signed by the node's key). */
  invites?: InvitesApi
  /** The config in force: GET and PATCH /api/v1/config. */
  runtimeConfig?: RuntimeConfigApi
  /** The IPFS trustless gateway: GET/HEAD /ipfs/<cid> from the local blockstore (packages.gateway), no token. */
  ipfs?: IpfsGatewayDeps
  /** Packages: serves /api/v1/packages (503 E1470 without it). */
  packages?: PackageApi
}

export interface ApiInit {
  /** Bearer token for /api/v1. */
  token: string
  /** Configured listen host, allowed in Host headers besides loopback names. */
  host?: string
  /** Largest request body accepted, in bytes. */
  bodyLimit?: number
  /** Let loopback clients call /v1 without an API key (api.allowLocalWithoutKey, default true). */
  allowLocalWithoutKey?: boolean
  /** Largest inline job input (jobs.maxInlineInputBytes). */
  maxInlineInputBytes?: number
}

/** Paths anyone on loopback may read without the token (they hold no secrets). */
const OPEN_PATHS = new Set(['/healthz', '/readyz', '/metrics'])

export async function buildApiServer (components: ApiComponents, init: ApiInit): Promise<FastifyInstance> {
  const log = components.logger.forComponent('agora:api')
  const app = Fastify({
    logger: false,
    bodyLimit: init.bodyLimit ?? 1024 * 1024,
    return503OnClosing: true,
    forceCloseConnections: true,
    // path values longer than Fastify's default 100 characters reach our schemas, which name the field and the limit
    routerOptions: { maxParamLength: 1024 },
    // the few errors Fastify answers before any route or hook: our error shape, not Fastify's
    frameworkErrors: (err, _request, reply: FastifyReply) => {
      void reply.status(400).send({ error: new AgoraError('E502', 'the request URL could not be read', { why: err.message }).toJSON() })
    },
    clientErrorHandler: answerUnreadableRequest
  })
  // read once listening (server.address() is a getsockname call; the Host check runs on every request)
  let port: number | undefined
  app.server.once('listening', () => {
    const address = app.server.address()
    port = address !== null && typeof address === 'object' ? address.port : undefined
  })
  const listeningPort = (): number | undefined => port
  const guardHost = createHostGuard({ extraHosts: init.host === undefined ? [] : [init.host], port: listeningPort })
  const checkToken = createTokenCheck(init.token)
  const { gateway, keys } = components
  const openAi = gateway !== undefined && keys !== undefined

  app.setErrorHandler((err: FastifyError | AgoraError, request, reply) => {
    const error = toAgoraError(err)
    if (error.code === 'E599') log.error({ err, url: request.url }, 'request failed')
    else log.debug({ code: error.code, url: request.url }, error.what)
    void reply.status(error.status).send({ error: error.toJSON() })
  })
  app.setNotFoundHandler((request, reply) => {
    const error = new AgoraError('E503', `no route ${request.method} ${request.url.split('?', 1)[0]}`)
    void reply.status(error.status).send({ error: error.toJSON() })
  })

  // before the guard: the plugin's own onRequest hook marks an upgrade request, and only a marked one has its
  // socket closed after the reply — a refused upgrade would otherwise keep its socket (and the node) alive
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } })
  app.addHook('onRequest', async request => {
    guardHost(request.headers.host, request.headers.origin)
    const path = request.url.split('?', 1)[0] as string
    // /v1 checks API keys in its own scope (routes/openai.ts)
    if (!OPEN_PATHS.has(path) && !(openAi && isOpenAiPath(path)) && !(components.ipfs !== undefined && path.startsWith(IPFS_PREFIX))) checkToken(presentedToken(request.headers.authorization, request.url))
  })

  registerHealthRoutes(app, components)
  if (components.ipfs !== undefined) registerIpfsGateway(app, components.ipfs)
  await app.register(async scope => {
    registerControlRoutes(scope, components)
    registerEventsRoute(scope, components)
    registerLogsRoute(scope, components)
    if (keys !== undefined) registerKeysRoutes(scope, { keys })
    await registerJobsRoutes(scope, { jobs: components.jobs }, { maxInlineInputBytes: init.maxInlineInputBytes })
    registerMarketRoutes(scope, { market: components.market })
    registerNeedsRoutes(scope, { market: components.market })
    if (components.verify !== undefined) registerVerifyRoutes(scope, { verify: components.verify })
    if (components.invites !== undefined) registerInvitesRoutes(scope, { invites: components.invites })
    if (components.runtimeConfig !== undefined) registerConfigRoutes(scope, { runtimeConfig: components.runtimeConfig })
    registerPackagesRoutes(scope, { packages: components.packages, logger: components.logger })
  }, { prefix: API_PREFIX })
  if (openAi) {
    await app.register(async scope => {
      registerOpenAiRoutes(scope, { gateway, keys, logger: components.logger }, { allowLocalWithoutKey: init.allowLocalWithoutKey ?? true, operatorToken: init.token })
    }, { prefix: OPENAI_PREFIX })
  }
  return app
}

/** HTTP that Node's parser refuses (a duplicate Content-Length, headers too large, too slow): answered in our error shape, then closed. */
function answerUnreadableRequest (err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400
  const body = JSON.stringify({ error: new AgoraError('E502', 'the request could not be read', { why: `${err.code ?? 'malformed HTTP'}: ${err.message}` }).toJSON() })
  // the server allows half-open sockets: end() alone would leave ours open until the client closes its side
  if (!socket.writable) {
    socket.destroy()
    return
  }
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`, () => { socket.destroy() })
}

function toAgoraError (err: FastifyError | AgoraError): AgoraError {
  if (err instanceof AgoraError) return err
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new AgoraError('E502', 'the request body is too large', { why: err.message })
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || (err.statusCode !== undefined && err.statusCode < 500)) {
    return new AgoraError('E502', 'the request could not be read', { why: err.message })
  }
  return new AgoraError('E599', 'internal error', { why: messageOf(err), cause: err })
}
