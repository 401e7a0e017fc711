/** The built-in echo chat engine through the one inference interface, and registered as a built-in provider. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { isAgoraError } from '../../../src/errors.ts'
import { CapabilityRegistry, collectChat, EchoProvider, ECHO_CHAT_MODEL, ECHO_LABEL, type ChatEvent } from '../../../src/providers/index.ts'
import { defaultConfig, loadConfig } from '../../../src/config/index.ts'

const ask = (content: string, extra: Partial<{ max_tokens: number, model: string }> = {}): Parameters<EchoProvider['chatStream']>[0] => ({
  model: extra.model ?? ECHO_CHAT_MODEL,
  messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'first question' }, { role: 'assistant', content: 'an answer' }, { role: 'user', content }],
  ...(extra.max_tokens === undefined ? {} : { max_tokens: extra.max_tokens })
})

async function events (stream: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const seen: ChatEvent[] = []
  for await (const event of stream) seen.push(event)
  return seen
}

describe('echo provider', () => {
  test('answers with the last user message, labelled, streamed word by word, with usage', async () => {
    const echo = new EchoProvider({ enabled: true })
    const seen = await events(echo.chatStream(ask('hello swarm, are you there?')))
    const deltas = seen.filter(e => e.type === 'delta')
    assert.ok(deltas.length > 1, 'streamed in pieces')
    const text = deltas.map(e => e.text).join('')
    assert.equal(text, `${ECHO_LABEL} hello swarm, are you there?`)
    const done = seen.at(-1)
    assert.equal(done?.type, 'done')
    assert.equal(seen.filter(e => e.type === 'done').length, 1, 'exactly one done, last')
    if (done?.type !== 'done') return
    assert.equal(done.finishReason, 'stop')
    assert.equal(done.usage.completionTokens, deltas.length)
    // every message's characters count towards the prompt
    assert.equal(done.usage.promptTokens, Math.ceil(('be brief' + 'first question' + 'an answer' + 'hello swarm, are you there?').length / 4))
  })

  test('max_tokens cuts the echo with finish reason length', async () => {
    const echo = new EchoProvider({ enabled: true })
    const result = await collectChat(echo.chatStream(ask('one two three four five six', { max_tokens: 3 })))
    assert.equal(result.finishReason, 'length')
    assert.equal(result.usage.completionTokens, 3)
    assert.ok(`${ECHO_LABEL} one two three four five six`.startsWith(result.content))
  })

  test('advertises agora/echo as a chat model in the registry only when enabled', () => {
    const on = new CapabilityRegistry()
    on.register(new EchoProvider({ enabled: true, slots: 3 }))
    const snap = on.snapshot()
    assert.deepEqual(snap.models, [{ name: ECHO_CHAT_MODEL, provider: 'echo', kind: 'chat', contextLength: 8192 }])
    assert.deepEqual(snap.tags, ['echo'])
    assert.deepEqual(snap.capacity, { slotsTotal: 3, slotsIdle: 3 })
    const off = new EchoProvider()
    assert.equal(off.enabled, false, 'off by default')
    assert.deepEqual(off.models(), [])
    assert.deepEqual(off.capacity(), { slotsTotal: 0, slotsIdle: 0 })
    assert.equal(off.health().status, 'unhealthy')
  })

  test('refuses with E1300: another model, embeddings, no user message, while off; E703 when cancelled; E704 bad slots', async () => {
    const echo = new EchoProvider({ enabled: true })
    await assert.rejects(collectChat(echo.chatStream(ask('x', { model: 'llama3' }))), err => isAgoraError(err, 'E1300') && /llama3/.test(err.message))
    await assert.rejects(echo.embeddings({ model: ECHO_CHAT_MODEL, input: ['x'] }), err => isAgoraError(err, 'E1300'))
    await assert.rejects(collectChat(echo.chatStream({ model: ECHO_CHAT_MODEL, messages: [{ role: 'system', content: 'x' }] })), err => isAgoraError(err, 'E1300'))
    await assert.rejects(collectChat(new EchoProvider().chatStream(ask('x'))), err => isAgoraError(err, 'E1300'))
    await assert.rejects(collectChat(echo.chatStream(ask('x'), { signal: AbortSignal.abort() })), err => isAgoraError(err, 'E703'))
    assert.throws(() => new EchoProvider({ enabled: true, slots: 0 }), err => isAgoraError(err, 'E704'))
    assert.equal(echo.capacity().slotsIdle, echo.slots, 'a refused or cancelled call leaves no slot taken')
    await echo.stop()
    assert.equal(echo.health().status, 'unhealthy')
    await assert.rejects(collectChat(echo.chatStream(ask('x'))), err => isAgoraError(err, 'E1300'))
  })

  test('the config key providers.echo.enabled defaults to false and turns it on', () => {
    assert.equal(defaultConfig().providers.echo.enabled, false)
    const nowhere = { cwd: '/nonexistent', xdgConfigHome: '/nonexistent', etcDir: '/nonexistent' }
    assert.equal(loadConfig({ ...nowhere, env: { AGORA_PROVIDERS_ECHO_ENABLED: 'true' } }).config.providers.echo.enabled, true)
  })
})
