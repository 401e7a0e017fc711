/** An answer's tool calls and log-probabilities, held to OpenAI's shape and to bounds, from any engine or peer. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AnswerBounds, MAX_ANSWER_LOGPROBS } from '../../../src/gateway/answer-bounds.ts'
import { toolCallFrames } from '../../../src/gateway/remote/encode.ts'
import { estimatePromptTokens } from '../../../src/gateway/access/estimate.ts'
import { CHAT_LIMITS, jsonDepth, toolSpecSchema } from '../../../src/providers/chat-schemas.ts'
import { isCode } from '../../harness/checks.ts'

const first = (index: number): { index: number, id: string, type: 'function', function: { name: string, arguments: string } } => ({ index, id: `call_${index}`, type: 'function', function: { name: 'f', arguments: '' } })

test('tool calls in order, each begun with id and name, arguments bounded per call', () => {
  const ok = new AnswerBounds('peer/x')
  ok.check({ type: 'tool_calls', calls: [first(0)] })
  ok.check({ type: 'tool_calls', calls: [{ index: 0, function: { arguments: '{"a":' } }, first(1)] })
  ok.check({ type: 'tool_calls', calls: [{ index: 1, function: { arguments: '1}' } }] })
  // a hole would leave nulls in the collected calls list
  assert.throws(() => { new AnswerBounds('peer/x').check({ type: 'tool_calls', calls: [first(3)] }) }, isCode('E1351'))
  assert.throws(() => { new AnswerBounds('peer/x').check({ type: 'tool_calls', calls: [{ index: 0, function: { arguments: '{}' } }] }) }, isCode('E1351'))
  const long = new AnswerBounds('peer/x')
  long.check({ type: 'tool_calls', calls: [first(0)] })
  const half = 'x'.repeat(CHAT_LIMITS.arguments / 2 + 1)
  long.check({ type: 'tool_calls', calls: [{ index: 0, function: { arguments: half } }] })
  assert.throws(() => { long.check({ type: 'tool_calls', calls: [{ index: 0, function: { arguments: half } }] }) }, (err: unknown) => isCode('E1351')(err) && /arguments of tool call 0/.test((err as { why: string }).why))
})

test('log-probabilities of one answer are bounded in total, not only per frame', () => {
  const bounds = new AnswerBounds('local/engine')
  const frame = Array.from({ length: CHAT_LIMITS.logprobTokens }, () => ({ token: 'a', logprob: -1 }))
  for (let sent = 0; sent + frame.length <= MAX_ANSWER_LOGPROBS; sent += frame.length) bounds.check({ type: 'delta', text: 'a', logprobs: frame })
  assert.throws(() => { bounds.check({ type: 'delta', text: 'a', logprobs: frame }) }, isCode('E1351'))
})

test('a long call goes to a peer in frames that fit: the first with id and name, the rest arguments only', () => {
  const args = 'y'.repeat(25)
  const frames = [...toolCallFrames([{ ...first(2), function: { name: 'f', arguments: args } }], 10)]
  assert.equal(frames.length, 3)
  assert.deepEqual(frames[0]?.calls[0], { index: 2, id: 'call_2', type: 'function', function: { name: 'f', arguments: 'y'.repeat(10) } })
  assert.deepEqual(frames[2]?.calls[0], { index: 2, function: { arguments: 'y'.repeat(5) } })
  assert.equal(frames.map(f => f.calls[0]?.function?.arguments).join(''), args)
})

test('tools and schemas count as prompt; a schema nested absurdly deep is refused without walking it recursively', () => {
  const plain = estimatePromptTokens({ messages: [{ role: 'user', content: 'hi' }] })
  const tools = [{ type: 'function' as const, function: { name: 'f', parameters: { description: 'z'.repeat(4000) } } }]
  assert.ok(estimatePromptTokens({ messages: [{ role: 'user', content: 'hi' }], tools }) >= plain + 1000)
  let deep: Record<string, unknown> = {}
  for (let i = 0; i < 100_000; i++) deep = { a: deep }
  assert.ok(jsonDepth(deep) > 64)
  const parsed = toolSpecSchema.safeParse({ type: 'function', function: { name: 'f', parameters: deep } })
  assert.equal(parsed.success, false)
  assert.match(parsed.error?.issues[0]?.message ?? '', /nested more than 64 levels/)
})
