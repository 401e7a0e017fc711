import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { isAgoraError } from '../../../src/errors.ts'
import { AccessControl, globMatch, TokenMeter, estimateChatTokens, type AccessControlInit } from '../../../src/gateway/access/index.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { createRegistry } from '../../../src/observability/metrics.ts'

const SELF = 'self-peer'

function setup (init: AccessControlInit = {}): { access: AccessControl, trusted: Set<string>, banned: Set<string>, clock: { now: number } } {
  const trusted = new Set<string>(['friend'])
  const banned = new Set<string>()
  const clock = { now: 1_000_000 }
  const access = new AccessControl({
    peerBook: { isTrusted: peer => trusted.has(peer), isBanned: peer => banned.has(peer) },
    logger: silentLogger()
  }, { selfPeerId: SELF, now: () => clock.now, ...init })
  return { access, trusted, banned, clock }
}

function refusedWith (code: string): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(isAgoraError(err), String(err))
    assert.equal(err.code, code, err.format())
    return true
  }
}

describe('gateway: access control', () => {
  test('friends (the default) serves trusted peers only', () => {
    const { access, trusted } = setup()
    assert.equal(access.trustMode(), 'friends')
    access.check('friend', { model: 'm' })
    assert.throws(() => { access.check('stranger', { model: 'm' }) }, refusedWith('E901'))
    trusted.add('stranger')
    access.check('stranger', { model: 'm' })
  })

  test('private refuses every peer, public serves any peer not banned; the mode changes at run time', () => {
    const { access, banned } = setup({ trustMode: 'private' })
    assert.throws(() => { access.check('friend') }, refusedWith('E900'))
    assert.throws(() => { access.check('stranger') }, refusedWith('E900'))
    access.check(SELF) // only this node
    access.setTrustMode('public')
    assert.equal(access.trustMode(), 'public')
    access.check('stranger')
    banned.add('stranger')
    assert.throws(() => { access.check('stranger') }, refusedWith('E902'))
    // a banned peer stays refused even when trusted, in friends mode
    access.setTrustMode('friends')
    banned.add('friend')
    assert.throws(() => { access.check('friend') }, refusedWith('E902'))
    assert.throws(() => { access.setTrustMode('open' as 'public') }, refusedWith('E300'))
  })

  test('model lists: deny wins, an empty allow list allows all, * matches any run', () => {
    const { access } = setup({ allowModels: ['llama3*', 'agora/wink-embed-100d'], denyModels: ['llama3:70b*'] })
    access.check('friend', { model: 'llama3:8b' })
    access.check('friend', { model: 'agora/wink-embed-100d' })
    assert.throws(() => { access.check('friend', { model: 'llama3:70b-q4' }) }, (err: unknown) => refusedWith('E903')(err) && /deny/.test((err as Error & { why: string }).why))
    assert.throws(() => { access.check('friend', { model: 'mistral' }) }, (err: unknown) => refusedWith('E903')(err) && /allow/.test((err as Error & { why: string }).why))
    // work that names no model is not subject to the lists
    access.check('friend')
    access.setLists({ allow: [] })
    access.check('friend', { model: 'mistral' })
    assert.throws(() => { access.check('friend', { model: 'llama3:70b' }) }, refusedWith('E903'))
    assert.deepEqual(access.settings().denyModels, ['llama3:70b*'])
  })

  test('requests per minute: E904 with retryAfterMs, refilled with time', () => {
    const { access, clock } = setup({ requestsPerMinute: 3 })
    for (let i = 0; i < 3; i++) access.check('friend')
    assert.throws(() => { access.check('friend') }, (err: unknown) => {
      refusedWith('E904')(err)
      const details = (err as { details: Record<string, unknown> }).details
      assert.equal(details.retryAfterMs, 20_000)
      assert.equal((err as { status: number }).status, 429)
      return true
    })
    // another peer has its own bucket; this node is never limited
    access.setTrustMode('public')
    access.check('other')
    for (let i = 0; i < 10; i++) access.check(SELF)
    clock.now += 20_000
    access.check('friend')
    assert.throws(() => { access.check('friend') }, refusedWith('E904'))
  })

  test('tokens per minute: admitted on the estimate, charged the actual usage, E905 with the wait until enough is back', () => {
    const { access, clock } = setup({ tokensPerMinute: 6000 })
    const reserved = access.check('friend', { estimatedTokens: 5000 })
    assert.equal(reserved, 5000)
    assert.equal(access.tokensAvailable('friend'), 1000, 'the estimate is taken at admission')
    access.charge('friend', 5500, reserved)
    assert.equal(access.tokensAvailable('friend'), 500)
    assert.throws(() => { access.check('friend', { estimatedTokens: 1000 }) }, (err: unknown) => {
      refusedWith('E905')(err)
      // 500 tokens missing at 100 tokens/s
      assert.equal((err as { details: Record<string, unknown> }).details.retryAfterMs, 5000)
      return true
    })
    // a refusal by tokens does not use up a request
    clock.now += 5000
    const next = access.check('friend', { estimatedTokens: 1000 })
    // debt: an answer larger than the budget is charged in full, the peer waits it off
    access.charge('friend', 20_000, next)
    assert.ok(access.tokensAvailable('friend') < 0)
    assert.throws(() => { access.check('friend', { estimatedTokens: 1 }) }, refusedWith('E905'))
    // an estimate above the whole budget is admitted once the budget is full
    clock.now += 10 * 60_000
    access.check('friend', { estimatedTokens: 1_000_000 })
  })

  test('concurrent requests cannot all pass on one budget; what a request did not use comes back when it settles', () => {
    const { access } = setup({ tokensPerMinute: 6000, requestsPerMinute: 1000 })
    const running = [access.check('friend', { estimatedTokens: 2000 }), access.check('friend', { estimatedTokens: 2000 }), access.check('friend', { estimatedTokens: 2000 })]
    assert.throws(() => { access.check('friend', { estimatedTokens: 2000 }) }, refusedWith('E905'), 'the fourth waits: the first three hold the minute\'s budget')
    for (const reserved of running) access.charge('friend', 500, reserved)
    assert.equal(access.tokensAvailable('friend'), 4500, 'each used 500 of its 2000')
    access.check('friend', { estimatedTokens: 2000 })
    assert.equal(access.check(SELF, { estimatedTokens: 10_000 }), 0, 'this node itself reserves nothing')
  })

  test('an estimate beyond the debt\'s floor reserves only what was taken, so settling cannot refill the budget', () => {
    const { access } = setup({ tokensPerMinute: 1000, requestsPerMinute: 1000 })
    const reserved = access.check('friend', { estimatedTokens: 10_000_000 })
    assert.ok(reserved < 10_000_000, `${reserved}: the meter stops at its floor`)
    access.charge('friend', 900, reserved)
    assert.equal(access.tokensAvailable('friend'), 100, 'the 900 used are paid')
    assert.throws(() => { access.check('friend', { estimatedTokens: 10_000_000 }) }, refusedWith('E905'))
  })

  test('setLimits starts every peer with a full budget; invalid limits are refused', () => {
    const { access } = setup({ requestsPerMinute: 1 })
    access.check('friend')
    assert.throws(() => { access.check('friend') }, refusedWith('E904'))
    access.setLimits({ requestsPerMinute: 2 })
    access.check('friend')
    access.check('friend')
    assert.throws(() => { access.check('friend') }, refusedWith('E904'))
    assert.throws(() => { access.setLimits({ tokensPerMinute: 0 }) }, refusedWith('E300'))
    assert.equal(access.settings().requestsPerMinute, 2)
  })

  test('admitPeer answers who may ask at all (mode, ban, trust), without spending the peer\'s requests/min', () => {
    const { access, banned } = setup({ requestsPerMinute: 1 })
    assert.equal(access.admitPeer('friend'), undefined)
    assert.equal(access.admitPeer(SELF), undefined)
    assert.equal(access.admitPeer('stranger')?.code, 'E901')
    for (let i = 0; i < 5; i++) assert.equal(access.admitPeer('friend'), undefined)
    access.check('friend', { model: 'm' }) // the one request of its minute is still there
    assert.throws(() => { access.check('friend', { model: 'm' }) }, refusedWith('E904'))
    banned.add('friend')
    assert.equal(access.admitPeer('friend')?.code, 'E902')
    access.setTrustMode('private')
    assert.equal(access.admitPeer('friend')?.code, 'E900')
    assert.equal(access.admitPeer(SELF), undefined)
  })

  test('refusals and admissions are counted by code', async () => {
    const registry = createRegistry({ defaultMetrics: false })
    const access = new AccessControl({ peerBook: { isTrusted: () => false, isBanned: () => false }, logger: silentLogger(), metrics: registry }, {})
    assert.throws(() => { access.check('x') }, refusedWith('E901'))
    access.setTrustMode('public')
    access.check('x')
    access.charge('x', 42)
    const refused = (await registry.getSingleMetric('agora_access_refused_total')?.get())?.values ?? []
    assert.equal(refused.find(v => v.labels.code === 'E901')?.value, 1)
    assert.equal((await registry.getSingleMetric('agora_access_admitted_total')?.get())?.values[0]?.value, 1)
    assert.equal((await registry.getSingleMetric('agora_access_tokens_charged_total')?.get())?.values[0]?.value, 42)
  })

  test('the token meter keeps a bounded number of peers and a bounded debt', () => {
    let now = 0
    const meter = new TokenMeter({ perMinute: 60, maxKeys: 3, maxDebtMinutes: 2, now: () => now })
    for (const key of ['a', 'b', 'c', 'd', 'e']) meter.debit(key, 10)
    assert.equal(meter.size, 3)
    // the least recently charged were forgotten (and start again full)
    assert.equal(meter.available('a'), 60)
    meter.debit('e', 10_000)
    assert.equal(meter.available('e'), -120)
    assert.equal(meter.waitMs('e', 1), 121_000)
    now += 121_000
    assert.equal(meter.waitMs('e', 1), 0)
    assert.equal(meter.waitMs('unknown', 1000), 0)
  })

  test('glob matching and the chat estimate', () => {
    assert.ok(globMatch('llama3*', 'llama3:8b'))
    assert.ok(globMatch('*:70b*', 'llama3:70b-q4'))
    assert.ok(globMatch('a*b*c', 'aXXbYYc'))
    assert.ok(!globMatch('a*b*c', 'aXXbYY'))
    assert.ok(globMatch('*', ''))
    assert.ok(!globMatch('exact', 'exactly'))
    // a pathological pattern ends (no regex backtracking): ~1 ms here; exponential backtracking would not end this year
    const started = performance.now()
    assert.ok(!globMatch('*a'.repeat(100) + 'b', 'a'.repeat(256)))
    assert.ok(performance.now() - started < 2000, 'a hang guard, not a speed bar')
    assert.equal(estimateChatTokens({ messages: [{ role: 'user', content: 'x'.repeat(40) }], max_tokens: 100 }), 4 + 10 + 100)
  })
})
