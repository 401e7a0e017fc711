/**
 * The CLI's client for the node's OpenAI-compatible /v1 endpoint: streaming
 * chat (server-sent events, parsed with eventsource-parser) and embeddings.
 * It authenticates with the node's control token, which /v1 accepts like an
 * API key, so `agora chat` works whatever `api.allowLocalWithoutKey` says.
 */
import { createRequire } from 'node:module'
import type * as Http from 'node:http'
import { AgoraError, isErrorCode, messageOf } from '../errors.ts'

const { request: httpRequest } = createRequire(import.meta.url)('node:http') as typeof Http

export interface ChatTurn { role: 'system' | 'user' | 'assistant', content: string }

export interface ChatStreamResult {
  content: string
  finishReason: string | null
  usage: { prompt_tokens: number, completion_tokens: number } | null
  /** Peer id that served the answer, or 'local' (X-Agora-Server). */
  server: string | null
}

export interface V1Options {
  /** X-Agora-Target: only this peer. */
  target?: string | undefined
  signal?: AbortSignal
}

interface OpenAiErrorBody { error?: { message?: string, code?: string | null } }

export class V1Client {
  private readonly url: string
  private readonly token: string

  constructor (url: string, token: string) {
    this.url = url.replace(/\/$/, '')
    this.token = token
  }

  /** Stream a chat completion; `onDelta` sees each piece of text as it arrives. */
  async chat (model: string, messages: ChatTurn[], onDelta: (text: string) => void, opts: V1Options = {}): Promise<ChatStreamResult> {
    const { createParser } = await import('eventsource-parser')
    const res = await this.post('/v1/chat/completions', { model, messages, stream: true, stream_options: { include_usage: true } }, opts)
    const result: ChatStreamResult = { content: '', finishReason: null, usage: null, server: headerOf(res, 'x-agora-server') }
    let failure: AgoraError | undefined
    const parser = createParser({
      onEvent: event => {
        if (event.data === '[DONE]') return
        const chunk = JSON.parse(event.data) as OpenAiErrorBody & { choices?: Array<{ delta?: { content?: string }, finish_reason?: string | null }>, usage?: ChatStreamResult['usage'] }
        if (chunk.error !== undefined) { failure = toError(chunk, 502); return }
        const choice = chunk.choices?.[0]
        const text = choice?.delta?.content ?? ''
        if (text !== '') { result.content += text; onDelta(text) }
        if (choice?.finish_reason != null) result.finishReason = choice.finish_reason
        if (chunk.usage != null) result.usage = chunk.usage
      }
    })
    res.setEncoding('utf8')
    for await (const piece of res) parser.feed(piece as string)
    if (failure !== undefined) throw failure
    return result
  }

  async embed (model: string, input: string[], opts: V1Options = {}): Promise<{ vectors: number[][], promptTokens: number, server: string | null }> {
    const res = await this.post('/v1/embeddings', { model, input, encoding_format: 'float' }, opts)
    const body = JSON.parse(await readAll(res)) as { data: Array<{ embedding: number[] }>, usage: { prompt_tokens: number } }
    return { vectors: body.data.map(d => d.embedding), promptTokens: body.usage.prompt_tokens, server: headerOf(res, 'x-agora-server') }
  }

  private async post (path: string, body: unknown, opts: V1Options): Promise<Http.IncomingMessage> {
    const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${this.token}` }
    if (opts.target !== undefined) headers['x-agora-target'] = opts.target
    const res = await new Promise<Http.IncomingMessage>((resolve, reject) => {
      const req = httpRequest(this.url + path, { method: 'POST', headers, signal: opts.signal }, resolve)
      req.on('error', err => { reject(new AgoraError('E601', `cannot reach the node at ${this.url}`, { why: messageOf(err), cause: err })) })
      req.end(JSON.stringify(body))
    })
    if ((res.statusCode ?? 500) >= 400) throw toError(JSON.parse(await readAll(res)) as OpenAiErrorBody, res.statusCode ?? 500)
    return res
  }
}

function headerOf (res: Http.IncomingMessage, name: string): string | null {
  const value = res.headers[name]
  return typeof value === 'string' ? value : null
}

async function readAll (res: Http.IncomingMessage): Promise<string> {
  res.setEncoding('utf8')
  let text = ''
  for await (const piece of res) text += piece as string
  return text
}

/** An OpenAI-shaped error body back into an AgoraError (our code rides in `code`). */
function toError (body: OpenAiErrorBody, status: number): AgoraError {
  const code = body.error?.code ?? ''
  return new AgoraError(isErrorCode(code) ? code : 'E599', body.error?.message ?? `the node answered HTTP ${status}`)
}
