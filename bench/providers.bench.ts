/**
 * What the HTTP adapters add on top of the wire: a 2000-token answer from
 * the fake Ollama (NDJSON) and the fake OpenAI server (SSE) read raw with
 * fetch (baseline) and through the adapter (incremental parse, schema check,
 * events), and the time to the first token both ways. Medians of 15 runs.
 */
import { silentLogger } from '../src/observability/logger.ts'
import { OllamaProvider, OpenAICompatibleProvider, type HttpProvider } from '../src/providers/index.ts'
import { startFakeOllama } from '../test/fixtures/fake-ollama.ts'
import { startFakeOpenAI } from '../test/fixtures/fake-openai.ts'
import { median, report, round, timeMs, type BenchRow } from './lib.ts'

const TOKENS = 2000
const RUNS = 15
const reply = Array.from({ length: TOKENS }, (_, i) => ` tok${i}`)
const request = { model: 'fake-chat', messages: [{ role: 'user' as const, content: 'write a lot' }] }

async function raw (url: string, body: unknown, untilFirst: boolean): Promise<void> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  for await (const chunk of response.body as ReadableStream<Uint8Array>) {
    if (chunk.byteLength > 0 && untilFirst) break
  }
}

async function viaAdapter (provider: HttpProvider, untilFirst: boolean): Promise<void> {
  for await (const event of provider.chatStream(request)) {
    if (event.type === 'delta' && untilFirst) break
  }
}

const rows: BenchRow[] = []
for (const flavour of ['ollama', 'openai'] as const) {
  const fake = flavour === 'ollama' ? await startFakeOllama({ reply }) : await startFakeOpenAI({ reply })
  const provider: HttpProvider = flavour === 'ollama'
    ? new OllamaProvider({ logger: silentLogger() }, { id: 'bench', url: fake.url })
    : new OpenAICompatibleProvider({ logger: silentLogger() }, { id: 'bench', url: fake.url })
  const url = flavour === 'ollama' ? `${fake.url}/api/chat` : `${fake.url}/v1/chat/completions`
  const body = flavour === 'ollama' ? request : { ...request, stream: true }
  const whole = { raw: [] as number[], adapter: [] as number[] }
  const first = { raw: [] as number[], adapter: [] as number[] }
  for (let i = 0; i < RUNS + 2; i++) {
    const r = await timeMs(async () => { await raw(url, body, false) })
    const a = await timeMs(async () => { await viaAdapter(provider, false) })
    const rf = await timeMs(async () => { await raw(url, body, true) })
    const af = await timeMs(async () => { await viaAdapter(provider, true) })
    if (i < 2) continue // warm-up
    whole.raw.push(r)
    whole.adapter.push(a)
    first.raw.push(rf)
    first.adapter.push(af)
  }
  const perToken = (median(whole.adapter) - median(whole.raw)) * 1000 / TOKENS
  rows.push({
    metric: `${flavour}: adapter overhead per streamed token`,
    value: Math.max(0, perToken),
    unit: 'µs',
    target: '< 25 µs',
    pass: perToken < 25,
    detail: `${TOKENS} tokens: raw ${round(median(whole.raw))} ms, adapter ${round(median(whole.adapter))} ms`
  })
  const ttft = median(first.adapter) - median(first.raw)
  rows.push({
    metric: `${flavour}: time to first token, added by the adapter`,
    value: Math.max(0, ttft),
    unit: 'ms',
    target: '< 3 ms',
    pass: ttft < 3,
    detail: `raw ${round(median(first.raw))} ms, adapter ${round(median(first.adapter))} ms`
  })
  await provider.stop()
  await fake.close()
}
report('providers', rows, { tokens: TOKENS, runs: RUNS })
