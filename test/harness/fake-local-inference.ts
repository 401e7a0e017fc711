/**
 * A scripted LocalInference for /agora/infer/1 tests. The model name picks
 * the behaviour; every call counts its start, completion and the abort of
 * the signal it was given (the proof that a cancel reached the provider).
 *
 *   echo        the words of the last message, 5 ms apart, then done
 *   big         one 10 000-character delta, then done
 *   never       no token until aborted (first-token timeout)
 *   stall       one token, then nothing until aborted (idle timeout)
 *   drip        a token every 20 ms until aborted (total timeout)
 *   flood       20 000 deltas of 4096 characters as fast as they are pulled (backpressure)
 *   broken      two deltas, then ends without done
 *   embed       embeddings: `dims` pseudo-random numbers per input
 *   embed-never embeddings that never finish until aborted
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { LocalInferenceLike, ServedCallOptions } from '../../src/gateway/remote/index.ts'
import type { Requester } from '../../src/gateway/types.ts'
import type { ChatEvent, ChatRequest, EmbeddingsRequest, EmbeddingsResult } from '../../src/providers/inference.ts'

export class FakeLocalInference implements LocalInferenceLike {
  started = 0
  completed = 0
  /** Calls whose signal aborted while they ran. */
  aborted = 0
  /** Deltas yielded by the current/last flood. */
  produced = 0
  dims = 8
  /** The last request seen, as the server passed it. */
  last: ChatRequest | EmbeddingsRequest | undefined
  /** Who the server said was asking, last call. */
  requester: Requester | undefined

  async * chatStream (request: ChatRequest, opts: ServedCallOptions): AsyncGenerator<ChatEvent, void, undefined> {
    const signal = opts.signal
    this.track(signal)
    this.last = request
    this.requester = opts.requester
    const words = (request.messages.at(-1)?.content ?? '').split(/\s+/).filter(w => w.length > 0)
    switch (request.model) {
      case 'echo':
        for (const [i, word] of words.entries()) {
          await sleep(5, undefined, { signal })
          yield { type: 'delta', text: i === 0 ? word : ` ${word}` }
        }
        break
      case 'big':
        yield { type: 'delta', text: 'x'.repeat(10_000) }
        break
      case 'never':
        await forever(signal)
        break
      case 'stall':
        yield { type: 'delta', text: 'first' }
        await forever(signal)
        break
      case 'drip':
        while (true) {
          await sleep(20, undefined, { signal })
          yield { type: 'delta', text: '.' }
        }
      case 'flood':
        this.produced = 0
        for (let i = 0; i < 20_000; i++) {
          signal.throwIfAborted()
          this.produced++
          yield { type: 'delta', text: 'f'.repeat(4096) }
        }
        break
      case 'broken':
        yield { type: 'delta', text: 'a' }
        yield { type: 'delta', text: 'b' }
        return
      default:
        throw new Error(`the fake has no model ${request.model}`)
    }
    this.completed++
    yield { type: 'done', finishReason: 'stop', usage: { promptTokens: 7, completionTokens: Math.max(1, words.length) } }
  }

  async embeddings (request: EmbeddingsRequest, opts: ServedCallOptions): Promise<EmbeddingsResult> {
    const signal = opts.signal
    this.track(signal)
    this.last = request
    this.requester = opts.requester
    if (request.model === 'embed-never') await forever(signal)
    const vectors = request.input.map((text, i) => vectorFor(text, i, this.dims))
    this.completed++
    return { vectors, usage: { promptTokens: request.input.length * 2 } }
  }

  private track (signal: AbortSignal): void {
    this.started++
    signal.addEventListener('abort', () => { this.aborted++ }, { once: true })
  }
}

/** The vector the fake returns for input `i` (tests compare against it). */
export function vectorFor (text: string, i: number, dims: number): number[] {
  return Array.from({ length: dims }, (_, d) => Math.sin((text.length + 1) * (i + 1) * (d + 1)) / 3)
}

async function forever (signal: AbortSignal): Promise<never> {
  return await new Promise<never>((_resolve, reject) => {
    signal.addEventListener('abort', () => { reject(signal.reason as Error) }, { once: true })
  })
}
