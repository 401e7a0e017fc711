import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { isAgoraError, type AgoraError, type ErrorCode } from '../../../src/errors.ts'
import { collectChat } from '../../../src/providers/index.ts'
import { ANSWER, FakeProvider, PEER_A, PEER_B, PEER_C, SELF, USAGE, chat, ctx, offer, setup } from './router-fakes.ts'

const MODEL = 'llama3.2:3b'
const answer = ANSWER.join('')

async function rejectsWith (promise: Promise<unknown>, code: ErrorCode): Promise<AgoraError> {
  try {
    await promise
  } catch (err) {
    assert.ok(isAgoraError(err), `expected an AgoraError, got ${String(err)}`)
    assert.equal(err.code, code, err.format())
    return err
  }
  assert.fail(`expected ${code}, but it resolved`)
}

describe('InferenceGateway: candidates and strategies', () => {
  test('prefer-local answers locally; load-balance sends a second request to the idle peer', async () => {
    const local = new FakeProvider('ollama', [{ name: MODEL }])
    local.behaviour = 'stall-mid'
    const s = setup([local], [offer({ node: PEER_A, models: [{ name: MODEL }] })], { weights: { latency: 0, load: 1, reputation: 0, price: 0, tieBreak: 0 } })
    const first = await s.gateway.chat(chat(MODEL), ctx())
    assert.equal(first.server, 'local')
    const firstEvents = first.events[Symbol.asyncIterator]()
    assert.deepEqual(await firstEvents.next(), { done: false, value: { type: 'delta', text: 'Hello' } })

    // the local provider is busy with the first request
    local.behaviour = 'answer'
    const preferLocal = await s.gateway.chat(chat(MODEL), ctx())
    assert.equal(preferLocal.server, 'local')
    assert.equal((await collectChat(preferLocal.events)).content, answer)

    const balanced = await s.gateway.chat(chat(MODEL), ctx({ strategy: 'load-balance' }))
    assert.equal(balanced.server, PEER_A)
    assert.equal((await collectChat(balanced.events)).content, answer)
    await firstEvents.return?.()
  })

  test('peers are ranked by reputation and price; local-only never leaves the node', async () => {
    const s = setup([], [
      offer({ node: PEER_A, models: [{ name: MODEL }], per1kCompletionTokens: 2 }),
      offer({ node: PEER_B, models: [{ name: MODEL }], per1kCompletionTokens: 1 }),
      offer({ node: PEER_C, models: [{ name: MODEL }], per1kCompletionTokens: 1 })
    ])
    s.peerBook.reputations.set(PEER_B, 0.9)
    s.peerBook.reputations.set(PEER_C, 0.2)
    const run = await s.gateway.chat(chat(MODEL), ctx())
    assert.equal(run.server, PEER_B)
    await collectChat(run.events)
    await rejectsWith(s.gateway.chat(chat(MODEL), ctx({ strategy: 'local-only' })), 'E932')
  })

  test('explicit target by header, by model@peer, and local', async () => {
    const s = setup([new FakeProvider('ollama', [{ name: MODEL }])], [
      offer({ node: PEER_A, models: [{ name: MODEL }] }),
      offer({ node: PEER_B, models: [{ name: MODEL }] })
    ])
    const byHeader = await s.gateway.chat(chat(MODEL), ctx({ target: PEER_B }))
    assert.equal(byHeader.server, PEER_B)
    await collectChat(byHeader.events)
    const bySuffix = await s.gateway.chat(chat(`${MODEL}@${PEER_A}`), ctx())
    assert.equal(bySuffix.server, PEER_A)
    await collectChat(bySuffix.events)
    assert.deepEqual(s.remote.calls, [PEER_B, PEER_A])
    const self = await s.gateway.chat(chat(`${MODEL}@${SELF}`), ctx({ strategy: 'load-balance' }))
    assert.equal(self.server, 'local')
    await collectChat(self.events)
    await rejectsWith(s.gateway.chat(chat(MODEL), ctx({ target: PEER_C })), 'E935')
    // a suffix that is no peer id stays part of the name
    await rejectsWith(s.gateway.chat(chat(`${MODEL}@v2`), ctx()), 'E930')
  })

  test('X-Agora-Max-Price filters candidates; E931 names the cheapest', async () => {
    const s = setup([], [
      offer({ node: PEER_A, models: [{ name: MODEL }], per1kCompletionTokens: 5 }),
      offer({ node: PEER_B, models: [{ name: MODEL }], per1kCompletionTokens: 8 })
    ])
    s.peerBook.reputations.set(PEER_B, 1)
    const err = await rejectsWith(s.gateway.chat(chat(MODEL), ctx({ maxPrice: 4_999_999 })), 'E931')
    assert.equal(err.details?.cheapest, '5.000000', 'credits with six decimals, one micro-credit over the cap')
    assert.equal(err.details?.maxPrice, '4.999999')
    const run = await s.gateway.chat(chat(MODEL), ctx({ maxPrice: 5_000_000 }))
    assert.equal(run.server, PEER_A)
    await collectChat(run.events)
  })

  test('unknown model: E930 with close model ids', async () => {
    const s = setup([new FakeProvider('ollama', [{ name: 'llama3.2:1b' }])], [offer({ node: PEER_A, models: [{ name: MODEL }, { name: 'qwen2.5:7b' }] })])
    const err = await rejectsWith(s.gateway.chat(chat('llama3.2:3bb'), ctx()), 'E930')
    const suggestions = err.details?.suggestions as string[]
    assert.equal(suggestions[0], MODEL)
    assert.ok(suggestions.includes('llama3.2:1b'))
    assert.ok(!suggestions.includes('qwen2.5:7b'))
    const row = s.metering.list()[0]
    assert.equal(row?.outcome, 'error')
    assert.equal(row?.errorCode, 'E930')
    assert.equal(row?.server, 'none')
  })

  test('a chat call on an embedding model is E941; banned peers are skipped (E934); unhealthy providers go last', async () => {
    const local = new FakeProvider('wink', [{ name: 'embed', kind: 'embedding' }, { name: MODEL }])
    const s = setup([local], [offer({ node: PEER_A, models: [{ name: MODEL }] })])
    await rejectsWith(s.gateway.chat(chat('embed'), ctx()), 'E941')
    local.status = 'unhealthy'
    const elsewhere = await s.gateway.chat(chat(MODEL), ctx())
    assert.equal(elsewhere.server, PEER_A, 'prefer-local skips an unhealthy provider while a peer can serve')
    await collectChat(elsewhere.events)
    s.peerBook.banned.add(PEER_A)
    const lastResort = await s.gateway.chat(chat(MODEL), ctx())
    assert.equal(lastResort.server, 'local', 'with nothing else left, the unhealthy provider is tried')
    await collectChat(lastResort.events)
    const only = setup([], [offer({ node: PEER_A, models: [{ name: MODEL }] })])
    only.peerBook.banned.add(PEER_A)
    const err = await rejectsWith(only.gateway.chat(chat(MODEL), ctx()), 'E934')
    assert.match(err.why ?? '', /banned/)
    assert.equal(only.remote.calls.length, 0)
  })

  test('models() lists local and peers\' models with owners, prices and latency', () => {
    const s = setup([new FakeProvider('ollama', [{ name: MODEL }]), new FakeProvider('wink', [{ name: 'embed', kind: 'embedding' }])], [
      offer({ node: PEER_A, models: [{ name: MODEL }, { name: 'embed', kind: 'embedding' }], per1kCompletionTokens: 2, per1kPromptTokens: 0.5 }),
      offer({ node: PEER_B, models: [{ name: 'banned-model' }] }),
      offer({ node: SELF, models: [{ name: MODEL }] })
    ])
    s.peerBook.latencies.set(PEER_A, 42)
    s.peerBook.banned.add(PEER_B)
    assert.deepEqual(s.gateway.models(), [
      { id: 'embed', kind: 'embedding', ownedBy: SELF, provider: 'wink', price: 0, latencyMs: 0, local: true, features: [] },
      { id: 'embed', kind: 'embedding', ownedBy: PEER_A, provider: 'ollama', price: 500_000, latencyMs: 42, local: false, features: [] },
      { id: MODEL, kind: 'chat', ownedBy: SELF, provider: 'ollama', price: 0, latencyMs: 0, local: true, features: [] },
      { id: MODEL, kind: 'chat', ownedBy: PEER_A, provider: 'ollama', price: 2_000_000, latencyMs: 42, local: false, features: [] }
    ])
  })
})

describe('InferenceGateway: failover, breaker, cancellation, metering', () => {
  test('a candidate failing before its first token is replaced; the client sees one clean answer', async () => {
    const s = setup([], [offer({ node: PEER_A, models: [{ name: MODEL }] }), offer({ node: PEER_B, models: [{ name: MODEL }], per1kCompletionTokens: 2, per1kPromptTokens: 1, perTask: 0.25 })])
    s.peerBook.reputations.set(PEER_A, 0.9)
    s.remote.behaviour.set(PEER_A, 'fail')
    const run = await s.gateway.chat(chat(MODEL), ctx())
    assert.equal(run.server, PEER_B)
    assert.equal(run.attempts, 2)
    const result = await collectChat(run.events)
    assert.equal(result.content, answer)
    assert.deepEqual(result.usage, USAGE)
    assert.deepEqual(s.peerBook.records, [[PEER_A, 'failure'], [PEER_B, 'success']])
    const row = s.metering.get(run.id)
    assert.ok(row !== undefined)
    assert.equal(row.outcome, 'ok')
    assert.equal(row.attempts, 2)
    assert.equal(row.server, PEER_B)
    assert.deepEqual(row.requester, { kind: 'local', keyId: 'key-1' })
    assert.equal(row.promptTokens, 12)
    assert.equal(row.completionTokens, 3)
    assert.ok(row.firstTokenMs !== null && row.firstTokenMs >= 0 && row.firstTokenMs <= row.totalMs)
    // 12/1000 × 1 + 3/1000 × 2 + 0.25 credits, exactly, in micro-credits
    assert.equal(row.price, 12_000 + 6_000 + 250_000)
  })

  test('every candidate refused by its access rules: that refusal (403, the peer\'s reason), not E933 "retry later"', async () => {
    const s = setup([], [offer({ node: PEER_A, models: [{ name: MODEL }] }), offer({ node: PEER_B, models: [{ name: MODEL }] })], { backoffMs: 0 })
    s.remote.behaviour.set(PEER_A, 'refuse')
    s.remote.behaviour.set(PEER_B, 'refuse')
    await assert.rejects(s.gateway.chat(chat(MODEL), ctx()), (err: unknown) => {
      assert.ok(isAgoraError(err, 'E901'))
      assert.equal(err.status, 403)
      assert.match(err.what, /serves only trusted peers/)
      assert.equal(err.why, 'friends mode')
      return true
    })
    s.remote.behaviour.set(PEER_B, 'fail')
    await assert.rejects(s.gateway.chat(chat(MODEL), ctx()), (err: unknown) => isAgoraError(err, 'E933'), 'one failure among them: still worth a retry')
  })

  test('a model whose only engine is down is a pause (503 E934 with retryAfterMs), not an unknown model', async () => {
    const local = new FakeProvider('ollama', [{ name: MODEL }])
    local.status = 'unhealthy'
    local.offline = true
    const s = setup([local], [])
    const err = await rejectsWith(s.gateway.chat(chat(MODEL), ctx()), 'E934')
    assert.equal(err.status, 503)
    assert.equal(typeof err.details?.retryAfterMs, 'number')
    assert.match(err.why ?? '', /ollama/)
    await rejectsWith(s.gateway.chat(chat('never-heard-of'), ctx()), 'E930')
  })

  test('when every candidate is over its rate limit, the answer is that limit (429) with the soonest retry, not E933', async () => {
    const s = setup([], [offer({ node: PEER_A, models: [{ name: MODEL }] }), offer({ node: PEER_B, models: [{ name: MODEL }] })], { backoffMs: 0 })
    s.remote.behaviour.set(PEER_A, 'rate-limited')
    s.remote.behaviour.set(PEER_B, 'rate-limited')
    await assert.rejects(s.gateway.chat(chat(MODEL), ctx()), (err: unknown) => {
      assert.ok(isAgoraError(err, 'E904'))
      assert.equal(err.details?.retryAfterMs, Math.min(PEER_A.length, PEER_B.length) * 100)
      return true
    })
    s.remote.behaviour.set(PEER_B, 'fail')
    await assert.rejects(s.gateway.chat(chat(MODEL), ctx()), (err: unknown) => isAgoraError(err, 'E933'))
  })

  test('a peer that never sends a first token times out (E936) and the next one answers', async () => {
    const s = setup([], [offer({ node: PEER_A, models: [{ name: MODEL }] }), offer({ node: PEER_B, models: [{ name: MODEL }] })], {
      timeouts: { firstTokenMs: 50, dialMs: 0 }
    })
    s.peerBook.reputations.set(PEER_A, 0.9)
    s.remote.behaviour.set(PEER_A, 'hang')
    const started = performance.now()
    const run = await s.gateway.chat(chat(MODEL), ctx())
    assert.ok(performance.now() - started < 2000)
    assert.equal(run.server, PEER_B)
    assert.equal((await collectChat(run.events)).content, answer)
    assert.equal(s.remote.signals.get(PEER_A)?.aborted, true, 'the hanging call was cancelled')
    assert.deepEqual(s.peerBook.records, [[PEER_A, 'timeout'], [PEER_B, 'success']])
  })

  test('an error after the first token reaches the client: no retry', async () => {
    const s = setup([], [offer({ node: PEER_A, models: [{ name: MODEL }] }), offer({ node: PEER_B, models: [{ name: MODEL }] })])
    s.peerBook.reputations.set(PEER_A, 0.9)
    s.remote.behaviour.set(PEER_A, 'fail-mid')
    const run = await s.gateway.chat(chat(MODEL), ctx())
    assert.equal(run.server, PEER_A)
    await assert.rejects(collectChat(run.events), (err: unknown) => isAgoraError(err, 'E700'))
    assert.deepEqual(s.remote.calls, [PEER_A])
    assert.deepEqual(s.peerBook.records, [[PEER_A, 'failure']])
    const row = s.metering.get(run.id)
    assert.equal(row?.outcome, 'error')
    assert.equal(row?.errorCode, 'E700')
    assert.equal(row?.attempts, 1)
  })

  test('every candidate failing is E933 with each error; attempts are capped', async () => {
    const s = setup([], [PEER_A, PEER_B, PEER_C].map(node => offer({ node, models: [{ name: MODEL }] })), { attempts: 2 })
    for (const p of [PEER_A, PEER_B, PEER_C]) s.remote.behaviour.set(p, 'fail')
    const err = await rejectsWith(s.gateway.chat(chat(MODEL), ctx()), 'E933')
    const errors = err.details?.errors as Array<{ server: string, code: string }>
    assert.equal(errors.length, 2)
    assert.deepEqual(errors.map(e => e.code), ['E700', 'E700'])
    assert.equal(s.remote.calls.length, 2)
    assert.equal(s.metering.list()[0]?.attempts, 2)
  })

  test('the breaker of a (peer, model) opens after N failures and half-opens after the cooldown', async () => {
    let now = 1_000_000
    const s = setup([], [offer({ node: PEER_A, models: [{ name: MODEL }] })], { breakerFailures: 2, breakerCooldownMs: 5_000, now: () => now })
    s.remote.behaviour.set(PEER_A, 'fail')
    await rejectsWith(s.gateway.chat(chat(MODEL), ctx()), 'E933')
    await rejectsWith(s.gateway.chat(chat(MODEL), ctx()), 'E933')
    await rejectsWith(s.gateway.chat(chat(MODEL), ctx()), 'E934')
    assert.equal(s.remote.calls.length, 2, 'an open breaker lets nothing through')
    assert.equal(s.gateway.breakerStates()[0]?.state, 'open')
    now += 5_000
    s.remote.behaviour.set(PEER_A, 'answer')
    const run = await s.gateway.chat(chat(MODEL), ctx())
    await collectChat(run.events)
    assert.equal(s.remote.calls.length, 3)
    assert.deepEqual(s.gateway.breakerStates(), [], 'the probe closed it')
  })

  test('aborting ctx.signal stops the attempt loop and cancels the running call', async () => {
    const s = setup([], [offer({ node: PEER_A, models: [{ name: MODEL }] }), offer({ node: PEER_B, models: [{ name: MODEL }] })])
    s.peerBook.reputations.set(PEER_A, 0.9)
    s.remote.behaviour.set(PEER_A, 'hang')
    const controller = new AbortController()
    const pending = s.gateway.chat(chat(MODEL), ctx({ signal: controller.signal }))
    setImmediate(() => { controller.abort() })
    await rejectsWith(pending, 'E940')
    assert.deepEqual(s.remote.calls, [PEER_A], 'no other candidate was tried')
    assert.equal(s.remote.signals.get(PEER_A)?.aborted, true)
    assert.deepEqual(s.peerBook.records, [], 'a cancelled call blames nobody')
    assert.deepEqual(s.gateway.breakerStates(), [], 'nor counts against its breaker')
    assert.equal(s.metering.list()[0]?.outcome, 'cancelled')
  })

  test('aborting ctx.signal mid-answer ends the stream and cancels the provider', async () => {
    const local = new FakeProvider('ollama', [{ name: MODEL }])
    local.behaviour = 'stall-mid'
    const s = setup([local], [])
    const controller = new AbortController()
    const run = await s.gateway.chat(chat(MODEL), ctx({ signal: controller.signal }))
    const iterator = run.events[Symbol.asyncIterator]()
    assert.equal((await iterator.next()).done, false)
    const next = iterator.next()
    controller.abort()
    await assert.rejects(next, (err: unknown) => isAgoraError(err, 'E940'))
    assert.equal(local.signals[0]?.aborted, true)
    const row = s.metering.get(run.id)
    assert.equal(row?.outcome, 'cancelled')
    assert.equal(row?.server, 'local')
    assert.equal(row?.provider, 'ollama')
  })

  test('a client that stops reading is metered as cancelled and frees the provider', async () => {
    const local = new FakeProvider('ollama', [{ name: MODEL }])
    local.behaviour = 'stall-mid'
    const s = setup([local], [])
    const run = await s.gateway.chat(chat(MODEL), ctx())
    for await (const event of run.events) { assert.equal(event.type, 'delta'); break }
    assert.equal(local.signals[0]?.aborted, true)
    assert.equal(s.metering.get(run.id)?.outcome, 'cancelled')
  })

  test('an answer cut short is metered with what was delivered: priced when the client left, free when the server failed', async () => {
    const prices = { per1kPromptTokens: 1000, per1kCompletionTokens: 2000, perTask: 0.5 }
    const s = setup([], [offer({ node: PEER_A, models: [{ name: MODEL }], ...prices }), offer({ node: PEER_B, models: [{ name: MODEL }], ...prices })])
    s.remote.behaviour.set(PEER_A, 'stall-mid')
    s.remote.behaviour.set(PEER_B, 'stall-mid')
    const left = await s.gateway.chat({ ...chat(MODEL), model: `${MODEL}@${PEER_A}` }, ctx())
    for await (const event of left.events) { assert.equal(event.type, 'delta'); break }
    // 'hi' is estimated at 5 prompt tokens (4 per message + 1), one delta delivered
    assert.deepEqual(pick(s.metering.get(left.id)), { outcome: 'cancelled', promptTokens: 5, completionTokens: 1, price: 5_000_000 + 2_000_000 + 500_000 })

    s.remote.behaviour.set(PEER_B, 'fail-mid')
    const broken = await s.gateway.chat({ ...chat(MODEL), model: `${MODEL}@${PEER_B}` }, ctx())
    await assert.rejects(collectChat(broken.events))
    assert.deepEqual(pick(s.metering.get(broken.id)), { outcome: 'error', promptTokens: 5, completionTokens: 1, price: 0 })
  })

  test('a local provider with no first token in time (E936) fails over to a peer', async () => {
    const local = new FakeProvider('ollama', [{ name: MODEL }])
    local.behaviour = 'hang'
    const s = setup([local], [offer({ node: PEER_A, models: [{ name: MODEL }] })], { timeouts: { firstTokenMs: 30 } })
    const run = await s.gateway.chat(chat(MODEL), ctx())
    assert.equal(run.server, PEER_A)
    assert.equal(run.attempts, 2)
    await collectChat(run.events)
    assert.deepEqual(s.peerBook.records, [[PEER_A, 'success']], 'local failures do not touch the peer book')
  })

  test('embeddings: failover, metering, and price per prompt token', async () => {
    const local = new FakeProvider('wink', [{ name: 'embed', kind: 'embedding' }])
    local.behaviour = 'fail'
    const s = setup([local], [offer({ node: PEER_A, models: [{ name: 'embed', kind: 'embedding' }], per1kPromptTokens: 10 })])
    const run = await s.gateway.embeddings({ model: 'embed', input: ['a', 'b'] }, ctx())
    assert.equal(run.server, PEER_A)
    assert.equal(run.attempts, 2)
    assert.deepEqual(run.vectors, [[0, 1], [0, 1]])
    const row = s.metering.get(run.id)
    assert.equal(row?.op, 'embeddings')
    assert.equal(row?.promptTokens, 6)
    assert.equal(row?.price, 60_000, '6 tokens at 10 credits per 1k')
    await rejectsWith(s.gateway.embeddings({ model: MODEL, input: ['a'] }, ctx()), 'E930')
  })
})

function pick (row: { outcome: string, promptTokens: number, completionTokens: number, price: number } | undefined): Record<string, unknown> {
  return { outcome: row?.outcome, promptTokens: row?.promptTokens, completionTokens: row?.completionTokens, price: row?.price }
}
