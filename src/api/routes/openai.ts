/**
 * The OpenAI-compatible API under /v1: models, chat completions (plain and
 * streamed) and embeddings, over the Gateway interface only. Callers show
 * an API key (or come from loopback while api.allowLocalWithoutKey is on);
 * errors take OpenAI's shape with Agora's code inside. Headers steer the
 * gateway: X-Agora-Target (a peer id or 'local'), X-Agora-Max-Price and
 * X-Agora-Strategy; `model@peerId` is left to the gateway to parse.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { peerIdSchema } from '../../offers/schema.ts'
import { AgoraError, isAgoraError, messageOf } from '../../errors.ts'
import { formatCredits, parseCredits, type Micro } from '../../market/amount.ts'
import type { AgoraLogger } from '../../observability/logger.ts'
import type { Gateway, GatewayModel, RequestContext, RoutingStrategy } from '../../gateway/types.ts'
import { createApiKeyCheck, type ApiKeys } from '../keys/index.ts'
import {
  chatCompletionBody, embeddingsBody, embeddingInputs, float32Base64, parseBody, toChatRequest,
  type EmbeddingsResponse, type ModelList, type ModelObject
} from './openai-schemas.ts'
import { toOpenAiError } from './openai-errors.ts'
import { collectCompletion, servedByHeaders, streamCompletion } from './openai-chat.ts'
import { abortOnDisconnect } from './sse.ts'

export const OPENAI_PREFIX = '/v1'

export interface OpenAiRoutesComponents {
  gateway: Gateway
  keys: Pick<ApiKeys, 'verify'>
  logger: AgoraLogger
}

export interface OpenAiRoutesInit {
  /** Let loopback clients call /v1 without a key (api.allowLocalWithoutKey). */
  allowLocalWithoutKey?: boolean
  /** The control token, accepted on /v1 as the operator's key. */
  operatorToken?: string
}

const STRATEGIES = new Set<string>(['local-only', 'prefer-local', 'load-balance'])

/** True for paths the OpenAI routes own (they use API keys, not the control token). */
export function isOpenAiPath (path: string): boolean {
  return path === OPENAI_PREFIX || path.startsWith(`${OPENAI_PREFIX}/`)
}

/** Register the routes on a scope mounted at /v1. */
export function registerOpenAiRoutes (app: FastifyInstance, components: OpenAiRoutesComponents, init: OpenAiRoutesInit = {}): void {
  const { gateway } = components
  const log = components.logger.forComponent('agora:api:openai')
  const checkKey = createApiKeyCheck(components.keys, { allowLocalWithoutKey: init.allowLocalWithoutKey ?? true, ...(init.operatorToken === undefined ? {} : { operatorToken: init.operatorToken }) })
  const keyIds = new WeakMap<FastifyRequest, string | null>()
  const startedAt = Math.floor(Date.now() / 1000)

  app.addHook('onRequest', async request => {
    keyIds.set(request, checkKey(request.headers.authorization, request.socket.remoteAddress))
  })

  app.setErrorHandler((err: FastifyError | AgoraError, request, reply) => {
    const error = err instanceof AgoraError ? err : fromFastifyError(err)
    if (error.code === 'E599') log.error({ err, url: request.url }, 'request failed')
    else log.debug({ code: error.code, url: request.url }, error.what)
    const { status, body, retryAfterSeconds } = toOpenAiError(error)
    if (retryAfterSeconds !== undefined) void reply.header('retry-after', String(retryAfterSeconds))
    void reply.status(status).send(body)
  })
  app.setNotFoundHandler((request, reply) => {
    const { status, body } = toOpenAiError(new AgoraError('E503', `no route ${request.method} ${request.url.split('?', 1)[0]}`))
    void reply.status(status).send(body)
  })

  /** The request's routing context; its signal fires when the client goes away. */
  const contextFor = (request: FastifyRequest, reply: FastifyReply): RequestContext => {
    const controller = abortOnDisconnect(reply.raw, () => new AgoraError('E940', 'the client went away'))
    return { requester: { kind: 'local', keyId: keyIds.get(request) ?? null }, ...steering(request), signal: controller.signal }
  }

  app.get('/models', async (): Promise<ModelList> => ({ object: 'list', data: modelObjects(gateway.models(), startedAt) }))

  app.post('/chat/completions', async (request, reply) => {
    const body = parseBody(chatCompletionBody, request.body)
    const chatRequest = toChatRequest(body)
    const ctx = contextFor(request, reply)
    const run = await gateway.chat(chatRequest, ctx)
    if (body.stream === true) {
      await streamCompletion(reply, run, body.model, ctx.signal, log)
      return
    }
    const completion = await collectCompletion(run, body.model, ctx.signal)
    void reply.headers(servedByHeaders(run))
    return completion
  })

  app.post('/embeddings', async (request, reply): Promise<EmbeddingsResponse> => {
    const body = parseBody(embeddingsBody, request.body)
    if (body.dimensions != null) throw new AgoraError('E962', 'dimensions is not supported: models answer at their own size', { details: { param: 'dimensions' } })
    const input = embeddingInputs(body.input)
    const run = await gateway.embeddings({ model: body.model, input }, contextFor(request, reply))
    if (run.vectors.length !== input.length) {
      throw new AgoraError('E964', 'the embeddings answer does not match the input', { why: `${input.length} inputs, ${run.vectors.length} vectors` })
    }
    const base64 = body.encoding_format === 'base64'
    void reply.headers(servedByHeaders(run))
    return {
      object: 'list',
      data: run.vectors.map((vector, index) => ({ object: 'embedding', index, embedding: base64 ? float32Base64(vector) : vector })),
      model: body.model,
      usage: { prompt_tokens: run.usage.promptTokens, total_tokens: run.usage.promptTokens }
    }
  })
}

/** X-Agora-Target, X-Agora-Max-Price and X-Agora-Strategy, validated. */
function steering (request: FastifyRequest): Pick<RequestContext, 'target' | 'maxPrice' | 'strategy'> {
  const header = (name: string): string | undefined => {
    const value = request.headers[name]
    const text = Array.isArray(value) ? value[0] : value
    return text === undefined || text.trim() === '' ? undefined : text.trim()
  }
  const invalid = (name: string, why: string): AgoraError => new AgoraError('E961', `invalid header ${name}`, { why, details: { param: name } })
  // X-Target-Node: the name other gateways' clients send; both given must agree, and a target is a peer id or 'local' — never ignored
  const target = header('x-agora-target') ?? header('x-target-node')
  const alias = header('x-target-node')
  if (alias !== undefined && target !== alias) throw invalid('X-Target-Node', `it names ${alias.slice(0, 64)} and X-Agora-Target names ${target?.slice(0, 64) ?? ''}: send one`)
  if (target !== undefined && target !== 'local' && !peerIdSchema.safeParse(target).success) throw invalid(alias !== undefined && header('x-agora-target') === undefined ? 'X-Target-Node' : 'X-Agora-Target', 'expected a peer id (12D3KooW…) or \'local\'')
  const priceText = header('x-agora-max-price')
  const maxPrice = priceText === undefined ? undefined : maxPriceOf(priceText)
  const strategy = header('x-agora-strategy')
  if (strategy !== undefined && !STRATEGIES.has(strategy)) throw invalid('X-Agora-Strategy', `expected one of ${[...STRATEGIES].join(', ')}`)
  return {
    ...(target === undefined ? {} : { target }),
    ...(maxPrice === undefined ? {} : { maxPrice }),
    ...(strategy === undefined ? {} : { strategy: strategy as RoutingStrategy })
  }
}

/**
 * Each model id once (clients list ids, and show duplicates otherwise), the
 * gateway's order kept (local first); owned_by is the best place it runs,
 * agora.servedBy every node that serves it.
 */
function modelObjects (models: readonly GatewayModel[], created: number): ModelObject[] {
  const byId = new Map<string, GatewayModel[]>()
  for (const m of models) {
    const list = byId.get(m.id)
    if (list === undefined) byId.set(m.id, [m])
    else list.push(m)
  }
  return [...byId].map(([id, servers]) => {
    const first = servers[0] as GatewayModel
    const latencies = servers.map(s => s.latencyMs).filter((l): l is number => l !== null)
    return {
      id,
      object: 'model',
      created,
      owned_by: first.ownedBy,
      agora: {
        kind: first.kind,
        price: formatCredits(Math.min(...servers.map(s => s.price))),
        latencyMs: latencies.length === 0 ? null : Math.min(...latencies),
        local: servers.some(s => s.local),
        // what at least one of them does: the router finds the one
        features: [...new Set(servers.flatMap(s => s.features))].sort(),
        servedBy: servers.map(s => ({ node: s.ownedBy, provider: s.provider, price: formatCredits(s.price), latencyMs: s.latencyMs, local: s.local, features: [...s.features] }))
      }
    }
  })
}

/** X-Agora-Max-Price: credits (at most six decimals) → micro-credits; E1100 naming the header. */
function maxPriceOf (text: string): Micro {
  try {
    return parseCredits(text, 'X-Agora-Max-Price')
  } catch (err) {
    if (!isAgoraError(err, 'E1100')) throw err
    throw new AgoraError('E1100', 'invalid header X-Agora-Max-Price', { why: err.why, details: { param: 'X-Agora-Max-Price', value: text } })
  }
}

/** Fastify's own errors (unreadable JSON, body too large) as AgoraErrors. */
function fromFastifyError (err: FastifyError): AgoraError {
  if (err.statusCode !== undefined && err.statusCode < 500) return new AgoraError('E961', 'the request could not be read', { why: err.message })
  return new AgoraError('E599', 'internal error', { why: messageOf(err), cause: err })
}
