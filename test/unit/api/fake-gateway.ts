/**
 * A scripted Gateway for the /v1 tests, and a server built around it: the
 * API under test depends on the Gateway interface only, so each test says
 * what the gateway answers (events, errors, models) and inspects the
 * requests and contexts it received.
 */
import type { FastifyInstance } from 'fastify'
import { buildApiServer, type ControlPlane } from '../../../src/api/index.ts'
import { ApiKeys } from '../../../src/api/keys/index.ts'
import { AgoraEvents } from '../../../src/events.ts'
import { createRegistry } from '../../../src/observability/metrics.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { Database } from '../../../src/store/index.ts'
import type { ChatRun, EmbeddingsRun, Gateway, GatewayModel, RequestContext } from '../../../src/gateway/types.ts'
import type { ChatEvent, ChatRequest, EmbeddingsRequest, FinishReason, Usage } from '../../../src/providers/index.ts'

export const TOKEN = 'test-token-0123456789abcdef0123456789abcdef'
export const PEER = '12D3KooWG3jGmYxDqoKpWC1JhPuGKCEdYsAsckVa79wReAiW17rd'

export const MODELS: GatewayModel[] = [
  { id: 'llama3.2:3b', kind: 'chat', ownedBy: '12D3KooWSelf', provider: 'ollama', price: 0, latencyMs: 0, local: true, features: ['json', 'json_schema', 'tools'] },
  { id: 'llama3.2:3b', kind: 'chat', ownedBy: PEER, provider: 'lmstudio', price: 1_500_000, latencyMs: 12.5, local: false, features: ['json', 'json_schema', 'logprobs', 'tools'] },
  { id: 'agora/wink-embed-100d', kind: 'embedding', ownedBy: '12D3KooWSelf', provider: 'wink', price: 0, latencyMs: 0, local: true, features: [] }
]

/** Deltas, then one `done`. */
export async function * scripted (texts: string[], finishReason: FinishReason = 'stop', usage: Usage = { promptTokens: 7, completionTokens: texts.length }): AsyncGenerator<ChatEvent> {
  for (const text of texts) yield { type: 'delta', text }
  yield { type: 'done', finishReason, usage }
}

export function chatRun (events: AsyncIterable<ChatEvent>, served: Partial<ChatRun> = {}): ChatRun {
  return { id: 'run-1', server: 'local', attempts: 1, events, ...served }
}

export class FakeGateway implements Gateway {
  readonly chats: Array<{ request: ChatRequest, ctx: RequestContext }> = []
  readonly embeds: Array<{ request: EmbeddingsRequest, ctx: RequestContext }> = []
  modelList: GatewayModel[] = MODELS
  onChat: (request: ChatRequest, ctx: RequestContext) => ChatRun | Promise<ChatRun> = () => chatRun(scripted(['Hello', ', world']))
  onEmbeddings: (request: EmbeddingsRequest, ctx: RequestContext) => EmbeddingsRun | Promise<EmbeddingsRun> = request => ({
    id: 'emb-1', server: 'local', attempts: 1, vectors: request.input.map((_, i) => [0.5, -1.25, i]), usage: { promptTokens: request.input.length * 3 }
  })

  models (): GatewayModel[] { return this.modelList }

  async chat (request: ChatRequest, ctx: RequestContext): Promise<ChatRun> {
    this.chats.push({ request, ctx })
    return await this.onChat(request, ctx)
  }

  async embeddings (request: EmbeddingsRequest, ctx: RequestContext): Promise<EmbeddingsRun> {
    this.embeds.push({ request, ctx })
    return await this.onEmbeddings(request, ctx)
  }
}

/** The control plane is not under test here: only readiness is asked for. */
function stubControl (): ControlPlane {
  const unused = (): never => { throw new Error('not used in these tests') }
  return {
    status: unused, statusDetail: unused, peers: unused, identity: unused, connect: unused, disconnect: unused, removePeer: unused, ping: unused, trust: unused, untrust: unused,
    ban: unused, unban: unused, offers: unused, localOffer: unused, offer: unused, withdraw: unused, announce: unused, models: unused,
    requests: unused, request: unused, providers: unused, addProvider: unused, removeProvider: unused, testProvider: unused, trustMode: unused, setTrustMode: unused,
    ready: () => true,
    requestStop: () => {}
  }
}

export interface TestApi {
  app: FastifyInstance
  gateway: FakeGateway
  keys: ApiKeys
  db: Database
  close(): Promise<void>
}

export async function buildTestApi (init: { allowLocalWithoutKey?: boolean } = {}): Promise<TestApi> {
  const db = new Database({ path: ':memory:' })
  const keys = new ApiKeys({ db })
  const gateway = new FakeGateway()
  const app = await buildApiServer(
    { control: stubControl(), events: new AgoraEvents(), metrics: createRegistry({ defaultMetrics: false }), logger: silentLogger(), gateway, keys },
    { token: TOKEN, ...init }
  )
  return {
    app,
    gateway,
    keys,
    db,
    close: async () => {
      await app.close()
      db.close()
    }
  }
}

/** Listen on a free loopback port; the base URL. */
export async function listen (app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address !== 'object') throw new Error('not listening')
  return `http://127.0.0.1:${address.port}`
}

/** The `data:` payloads of an SSE body. */
export function sseData (body: string): string[] {
  return body.split('\n\n').filter(block => block.startsWith('data: ')).map(block => block.slice('data: '.length))
}
