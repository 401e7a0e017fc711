/**
 * Ollama over its native API: GET /api/version (health), GET /api/tags and
 * POST /api/show (models, their kind and context length), POST /api/chat
 * streamed as NDJSON, POST /api/embed for batches of embeddings.
 */
import { AgoraError } from '../../errors.ts'
import { PROVIDER_DEFAULTS } from '../constants.ts'
import { HttpProvider, estimateTokens, promptChars } from '../http/base.ts'
import { closedMidStream, ndjsonLines, type UpstreamCall } from '../http/upstream.ts'
import { randomUUID } from 'node:crypto'
import { chatBody, chatLineSchema, ollamaFeatures, embedSchema, showSchema, tagsSchema, versionSchema, type OllamaTag } from './wire.ts'
import type { ChatEvent, ChatRequest, EmbeddingsRequest, EmbeddingsResult } from '../inference.ts'
import type { ModelCapability, ModelKind } from '../registry.ts'

export class OllamaProvider extends HttpProvider {
  readonly kind = 'ollama' as const

  protected async probe (call: UpstreamCall): Promise<void> {
    await probeOllama(call, this.url, this.headers())
  }

  protected async listModels (call: UpstreamCall): Promise<ModelCapability[]> {
    const tags = await call.json(await call.open('GET', `${this.url}/api/tags`, undefined, this.headers()), tagsSchema)
    const models: ModelCapability[] = []
    // a few /api/show calls at a time; a model whose details fail is still listed, by its name alone
    for (let i = 0; i < tags.models.length; i += PROVIDER_DEFAULTS.showConcurrency) {
      const batch = tags.models.slice(i, i + PROVIDER_DEFAULTS.showConcurrency)
      models.push(...await Promise.all(batch.map(async tag => await this.describe(tag, call))))
    }
    return models
  }

  protected async * streamChat (request: ChatRequest, call: UpstreamCall): AsyncGenerator<ChatEvent> {
    const body = await call.open('POST', `${this.url}/api/chat`, chatBody(request), this.headers())
    let completionChars = 0
    let calls = 0
    for await (const line of ndjsonLines(call.chunks(body), this.id)) {
      const chunk = call.parse(line, chatLineSchema)
      if (chunk.error != null) throw new AgoraError('E707', `provider '${this.id}' failed mid-answer`, { why: chunk.error, details: { provider: this.id } })
      const text = chunk.message?.content ?? ''
      if (text !== '') {
        completionChars += text.length
        yield { type: 'delta', text }
      }
      const toolCalls = chunk.message?.tool_calls ?? []
      if (toolCalls.length > 0) {
        // whole calls, numbered on from the ones before; Ollama gives them no id, OpenAI clients need one
        const deltas = toolCalls.map((c, i) => ({ index: calls + i, id: `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`, type: 'function' as const, function: { name: c.function.name, arguments: typeof c.function.arguments === 'string' ? c.function.arguments : JSON.stringify(c.function.arguments ?? {}) } }))
        calls += deltas.length
        completionChars += JSON.stringify(deltas).length
        yield { type: 'tool_calls', calls: deltas }
      }
      if (chunk.done === true) {
        yield {
          type: 'done',
          finishReason: calls > 0 ? 'tool_calls' : chunk.done_reason === 'length' ? 'length' : 'stop',
          usage: {
            promptTokens: chunk.prompt_eval_count ?? estimateTokens(promptChars(request)),
            completionTokens: chunk.eval_count ?? estimateTokens(completionChars)
          }
        }
        return
      }
    }
    throw closedMidStream(this.id, 'the stream ended before a line with done: true')
  }

  protected async embed (request: EmbeddingsRequest, call: UpstreamCall): Promise<EmbeddingsResult> {
    const response = await call.open('POST', `${this.url}/api/embed`, { model: request.model, input: request.input }, this.headers())
    const body = await call.json(response, embedSchema)
    const chars = request.input.reduce((sum, text) => sum + text.length, 0)
    return { vectors: body.embeddings, usage: { promptTokens: body.prompt_eval_count ?? estimateTokens(chars) } }
  }

  private async describe (tag: OllamaTag, call: UpstreamCall): Promise<ModelCapability> {
    let capabilities: string[] | undefined
    let contextLength = 0
    try {
      const show = await call.json(await call.open('POST', `${this.url}/api/show`, { model: tag.name }, this.headers()), showSchema)
      capabilities = show.capabilities ?? undefined
      for (const [key, value] of Object.entries(show.model_info ?? {})) {
        if (key.endsWith('.context_length') && typeof value === 'number' && Number.isInteger(value)) contextLength = value
      }
    } catch (err) {
      if (call.signal.aborted) throw err
      this.log.debug({ model: tag.name, err: String(err) }, 'model details unavailable')
    }
    const kind = ollamaKind(tag, capabilities)
    return { name: tag.name, provider: this.id, kind, contextLength, ...(kind === 'chat' ? { features: ollamaFeatures(capabilities) } : {}) }
  }
}

/** GET /api/version answers `{version}`: how health checks and discovery recognise Ollama. */
export async function probeOllama (call: UpstreamCall, url: string, headers: Record<string, string> = {}): Promise<string> {
  const body = await call.json(await call.open('GET', `${url}/api/version`, undefined, headers), versionSchema, PROVIDER_DEFAULTS.maxErrorBodyBytes)
  return body.version
}

/**
 * Embedding or chat: Ollama's own capabilities when it reports them
 * (`embedding` without `completion`), else the model family (BERT-like
 * families only embed) or an `embed` in the name.
 */
export function ollamaKind (tag: OllamaTag, capabilities: string[] | undefined): ModelKind {
  if (capabilities !== undefined && capabilities.length > 0) {
    return capabilities.includes('embedding') && !capabilities.includes('completion') ? 'embedding' : 'chat'
  }
  const families = [tag.details?.family ?? '', ...(tag.details?.families ?? [])]
  if (families.some(f => /bert/i.test(f))) return 'embedding'
  return /embed/i.test(tag.name) ? 'embedding' : 'chat'
}
