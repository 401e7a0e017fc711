/** The shared fake engines are faithful enough: the real `openai` client talks to fake-openai; fake-ollama answers non-streamed chats. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { fakeVector } from '../../fixtures/fake-engine.ts'
import { startFakeOllama } from '../../fixtures/fake-ollama.ts'
import { startFakeOpenAI } from '../../fixtures/fake-openai.ts'

describe('fake engines', () => {
  test('fake-openai with the openai client: models, streamed chat with usage, plain chat, base64 embeddings, API key', async () => {
    const fake = await startFakeOpenAI({ apiKey: 'sk-fake' })
    try {
      const client = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: 'sk-fake', maxRetries: 0 })
      assert.deepEqual((await client.models.list()).data.map(m => m.id), ['fake-chat', 'fake-embed'])
      const stream = await client.chat.completions.create({ model: 'fake-chat', messages: [{ role: 'user', content: 'hi there' }], stream: true, stream_options: { include_usage: true } })
      let text = ''
      let usage: OpenAI.CompletionUsage | null | undefined
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? ''
        usage = chunk.usage ?? usage
      }
      assert.equal(text, 'Hello, world!')
      assert.deepEqual([usage?.prompt_tokens, usage?.completion_tokens], [2, 4])
      const plain = await client.chat.completions.create({ model: 'fake-chat', messages: [{ role: 'user', content: 'hi' }] })
      assert.equal(plain.choices[0]?.message.content, 'Hello, world!')
      const embedded = await client.embeddings.create({ model: 'fake-embed', input: ['a', 'b'] })
      const round = (v: number[]): number[] => v.map(x => Math.round(x * 1000) / 1000)
      assert.deepEqual(embedded.data.map(d => round(d.embedding)), [round(fakeVector('a', 4)), round(fakeVector('b', 4))], 'float32 via base64')
      const wrongKey = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: 'nope', maxRetries: 0 })
      await assert.rejects(wrongKey.models.list(), err => err instanceof OpenAI.APIError && err.status === 401)
      assert.equal(fake.stats.completed, 2)
    } finally {
      await fake.close()
    }
  })

  test('fake-ollama answers a non-streamed chat in one JSON body', async () => {
    const fake = await startFakeOllama({ reply: ['a', 'b'] })
    try {
      const response = await fetch(`${fake.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'fake-chat', messages: [], stream: false }) })
      const body = await response.json() as { message: { content: string }, done: boolean, eval_count: number }
      assert.deepEqual([body.message.content, body.done, body.eval_count], ['ab', true, 2])
    } finally {
      await fake.close()
    }
  })
})
