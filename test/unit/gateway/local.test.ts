import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { isAgoraError } from '../../../src/errors.ts'
import { LocalInference, Metering } from '../../../src/gateway/index.ts'
import { collectChat } from '../../../src/providers/index.ts'
import { Database } from '../../../src/store/index.ts'
import { ANSWER, FakeProvider, FakeProviders, PEER_A, chat } from './router-fakes.ts'

describe('LocalInference', () => {
  test('serves from the first healthy provider and meters the call with our prices', async () => {
    const sick = new FakeProvider('sick', [{ name: 'm' }])
    sick.status = 'unhealthy'
    const good = new FakeProvider('good', [{ name: 'm' }, { name: 'e', kind: 'embedding' }])
    const db = new Database({ path: ':memory:' })
    const metering = new Metering({ db })
    const local = new LocalInference({ local: new FakeProviders([sick, good]), metering, prices: () => ({ perTask: '1.000000', per1kPromptTokens: '0.000000', per1kCompletionTokens: '1000.000000', currency: 'credits' }) })
    const result = await collectChat(local.chatStream(chat('m'), { requester: { kind: 'peer', peerId: PEER_A } }))
    assert.equal(result.content, ANSWER.join(''))
    assert.equal(good.calls, 1)
    assert.equal(sick.calls, 0)
    const [row] = metering.list()
    assert.equal(row?.outcome, 'ok')
    assert.deepEqual(row?.requester, { kind: 'peer', peerId: PEER_A })
    assert.equal(row?.provider, 'good')
    assert.equal(row?.price, 4_000_000, '1 per task + 3 completion tokens at 1000 per 1k, in micro-credits')
    const vectors = await local.embeddings({ model: 'e', input: ['x'] })
    assert.equal(vectors.vectors.length, 1)
    db.close()
  })

  test('ownPrices: our offer\'s prices in micro-credits (free before there is an offer); a paid call\'s row is capped at its hold', async () => {
    const good = new FakeProvider('good', [{ name: 'm' }])
    const db = new Database({ path: ':memory:' })
    const metering = new Metering({ db }, { flushMs: 0 })
    const offer: { prices?: { perTask: string, per1kPromptTokens: string, per1kCompletionTokens: string, currency: 'credits' } } = {}
    const local = new LocalInference({ local: new FakeProviders([good]), metering, prices: () => offer.prices })
    assert.deepEqual(local.ownPrices(), { perTask: 0, per1kPromptTokens: 0, per1kCompletionTokens: 0 })
    offer.prices = { perTask: '1.000000', per1kPromptTokens: '0.000000', per1kCompletionTokens: '1000.000000', currency: 'credits' }
    assert.deepEqual(local.ownPrices(), { perTask: 1_000_000, per1kPromptTokens: 0, per1kCompletionTokens: 1_000_000_000 })
    await collectChat(local.chatStream(chat('m'), { requester: { kind: 'peer', peerId: PEER_A }, maxPrice: 2_500_000 }))
    assert.equal(metering.list()[0]?.price, 2_500_000, 'the buyer\'s hold caps what the request costs')
    db.close()
  })

  test('unknown model E930 with suggestions, wrong kind E941, an unhealthy provider as the last resort', async () => {
    const p = new FakeProvider('p', [{ name: 'llama3.2:3b' }, { name: 'e', kind: 'embedding' }])
    const local = new LocalInference({ local: new FakeProviders([p]) })
    await assert.rejects(collectChat(local.chatStream(chat('llama3.2:3c'))), (err: unknown) =>
      isAgoraError(err, 'E930') && (err.details?.suggestions as string[]).includes('llama3.2:3b'))
    await assert.rejects(local.embeddings({ model: 'llama3.2:3b', input: ['x'] }), (err: unknown) => isAgoraError(err, 'E941'))
    p.status = 'unhealthy'
    assert.equal((await collectChat(local.chatStream(chat('llama3.2:3b')))).content, ANSWER.join(''), 'with nothing healthy left, an unhealthy provider is tried')
  })

  test('the caller\'s signal reaches the provider', async () => {
    const p = new FakeProvider('p', [{ name: 'm' }])
    p.behaviour = 'hang'
    const controller = new AbortController()
    const pending = collectChat(new LocalInference({ local: new FakeProviders([p]) }).chatStream(chat('m'), { signal: controller.signal }))
    setImmediate(() => { controller.abort() })
    await assert.rejects(pending, (err: unknown) => isAgoraError(err, 'E703'))
  })
})
