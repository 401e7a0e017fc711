import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { seededRandom, relativeLoad, recencyOf, scoreWorkers, ROUTER_DEFAULTS } from '../../../src/jobs/router/index.ts'
import { isCode } from '../../harness/checks.ts'
import { A, B, C, SELF, T0, fixture, metricValue, offer, request } from './router-fakes.ts'

describe('jobs router: score', () => {
  test('cheaper, closer, less loaded, more reputable, fresher each score higher', () => {
    const base = { reputation: 0.5, price: 1_000_000, latencyMs: 50, inFlight: 0, slotsIdle: 4, recency: 1 }
    const opts = { weights: ROUTER_DEFAULTS.weights, latencyScaleMs: ROUTER_DEFAULTS.latencyScaleMs }
    const pairs: Array<[string, Partial<typeof base>]> = [
      ['price', { price: 500_000 }], ['latency', { latencyMs: 5 }], ['load', { inFlight: 0 }],
      ['reputation', { reputation: 0.9 }], ['recency', { recency: 1 }]
    ]
    const worse = { ...base, inFlight: 2, recency: 0.5 }
    for (const [name, better] of pairs) {
      const [w, b] = scoreWorkers([worse, { ...worse, ...better }], opts)
      assert.ok((b as number) > (w as number), `${name}: ${String(b)} > ${String(w)}`)
    }
    // the same inputs give the same scores
    assert.deepEqual(scoreWorkers([base, worse], opts), scoreWorkers([base, worse], opts))
    // every term at its best: 1
    assert.ok(Math.abs((scoreWorkers([{ ...base, reputation: 1, latencyMs: 0 }], opts)[0] as number) - 1) < 1e-12)
  })

  test('load is relative to the idle slots the offer advertised; an offer with none counts as full', () => {
    assert.equal(relativeLoad(0, 4), 0)
    assert.equal(relativeLoad(2, 4), 0.5)
    assert.equal(relativeLoad(2, 1), 2)
    assert.equal(relativeLoad(0, 0), 1)
    assert.ok(relativeLoad(0, 8) < relativeLoad(1, 8))
  })

  test('recency: the freshest of the offer and the last success', () => {
    const opts = { offerTtlMs: 100_000, recencyHalfLifeMs: 10_000 }
    assert.equal(recencyOf({ now: 0, expiresAt: 100_000, lastSuccessAt: null }, opts), 1)
    assert.equal(recencyOf({ now: 0, expiresAt: 25_000, lastSuccessAt: null }, opts), 0.25)
    assert.equal(recencyOf({ now: 10_000, expiresAt: 12_500, lastSuccessAt: 0 }, opts), 0.5)
    assert.equal(recencyOf({ now: 0, expiresAt: -1, lastSuccessAt: null }, opts), 0)
  })

  test('candidates come best first: in-flight subtasks push a worker down', () => {
    const f = fixture([offer({ node: A, slotsIdle: 2 }), offer({ node: B, slotsIdle: 2 })])
    assert.deepEqual(f.router.candidates(request()).map(c => c.peerId), [A, B])
    f.router.begin(A)
    assert.deepEqual(f.router.candidates(request()).map(c => c.peerId), [B, A])
    f.router.end(A)
    assert.equal(f.router.inFlight(A), 0)
    assert.deepEqual(f.router.candidates(request()).map(c => c.peerId), [A, B])
  })
})

describe('jobs router: choice', () => {
  test('a worker\'s share of the task type (adaptive replication halves it per catch) multiplies its score', () => {
    const shares = new Map<string, number>()
    const f = fixture([offer({ node: A }), offer({ node: B })], { exploration: 0 }, { shareOf: (peer, type) => type === 'text.embed' ? shares.get(peer) ?? 1 : 1 })
    assert.equal(f.router.choose(request()).candidate.peerId, A)
    const full = f.router.candidates(request()).find(c => c.peerId === A)?.score as number
    shares.set(A, 0.5)
    assert.equal(f.router.choose(request()).candidate.peerId, B, 'halved: the equal worker comes first')
    assert.equal(f.router.candidates(request()).find(c => c.peerId === A)?.score, full * 0.5)
  })

  test('exploration 0: always the best score, never explored, no draw', async () => {
    let draws = 0
    const f = fixture([offer({ node: A, perTask: 1 }), offer({ node: B, perTask: 2 })], {
      exploration: 0, random: () => { draws++; return 0.5 }
    })
    for (let i = 0; i < 100; i++) {
      const choice = f.router.choose(request())
      assert.equal(choice.candidate.peerId, A)
      assert.equal(choice.explored, false)
    }
    assert.equal(draws, 0)
    assert.equal(f.router.explorationRatio(), 0)
    assert.equal(await metricValue(f.registry, 'agora_jobs_router_choices_total', { task_type: 'text.embed' }), 100)
    assert.equal(await metricValue(f.registry, 'agora_jobs_router_explorations_total'), 0)
    assert.equal(await metricValue(f.registry, 'agora_jobs_router_exploration_ratio'), 0)
  })

  test('an exploration outside [0, 1] is refused (E300)', () => {
    assert.throws(() => fixture([], { exploration: 1.5 }), isCode('E300'))
    assert.throws(() => fixture([], { exploration: -0.1 }), isCode('E300'))
  })

  test('excluded workers are passed over unless nobody else is left', () => {
    const f = fixture([offer({ node: A, perTask: 1 }), offer({ node: B, perTask: 2 }), offer({ node: C, perTask: 3 })], { exploration: 0 })
    assert.equal(f.router.choose(request({ exclude: new Set([A]) })).candidate.peerId, B)
    assert.equal(f.router.choose(request({ exclude: new Set([A, B]) })).candidate.peerId, C)
    // everyone tried: fall back to the best of them
    assert.equal(f.router.choose(request({ exclude: new Set([A, B, C]) })).candidate.peerId, A)
    // candidates() lists the excluded ones last
    assert.deepEqual(f.router.candidates(request({ exclude: new Set([A]) })).map(c => c.peerId), [B, C, A])
  })

  test('excluded workers are never drawn while others are left, with exploration too', () => {
    const f = fixture([offer({ node: A }), offer({ node: B }), offer({ node: C })], { exploration: 1, random: seededRandom(3) })
    for (let i = 0; i < 200; i++) assert.notEqual(f.router.choose(request({ exclude: new Set([A, C]) })).candidate.peerId, A)
  })

  test('over 1,000 seeded choices a worker that fails is chosen less often than an equal one that succeeds', async () => {
    // the neutral peer book keeps reputations equal (and bans nobody): only the bandit tells A and B apart
    const f = fixture([offer({ node: A }), offer({ node: B })], { exploration: 0.3, random: seededRandom(42) }, { neutral: true })
    for (let i = 0; i < 10; i++) {
      f.router.record(A, 'text.embed', 'failure')
      f.router.record(B, 'text.embed', 'success')
    }
    const [first, second] = f.router.candidates(request())
    assert.equal(first?.peerId, A, 'equal scores: A first by peer id')
    assert.equal(first?.score, second?.score)
    const counts = new Map<string, number>()
    let explored = 0
    for (let i = 0; i < 1000; i++) {
      const choice = f.router.choose(request())
      counts.set(choice.candidate.peerId, (counts.get(choice.candidate.peerId) ?? 0) + 1)
      if (choice.explored) explored++
    }
    const a = counts.get(A) ?? 0
    const b = counts.get(B) ?? 0
    assert.equal(a + b, 1000)
    assert.ok(b > 900, `B ${b} chosen far more than A ${a}`)
    // explored: the choice was not the best deterministic score (A)
    assert.equal(explored, b)
    assert.equal(f.router.explorationRatio(), explored / 1000)
    assert.equal(await metricValue(f.registry, 'agora_jobs_router_explorations_total'), explored)
    assert.equal(await metricValue(f.registry, 'agora_jobs_router_exploration_ratio'), explored / 1000)
    assert.equal(f.neutral.records.filter(([p, o]) => p === A && o === 'failure').length, 10)
  })

  test('with the real peer book the failing worker loses reputation too, and the bandit still prefers the other', () => {
    const f = fixture([offer({ node: A }), offer({ node: B })], { exploration: 0.3, random: seededRandom(1) })
    for (let i = 0; i < 5; i++) {
      f.router.record(A, 'text.embed', 'failure')
      f.router.record(B, 'text.embed', 'success')
    }
    assert.ok(f.book.reputation(A) < 0.5 && f.book.reputation(B) > 0.5)
    let a = 0
    for (let i = 0; i < 1000; i++) if (f.router.choose(request()).candidate.peerId === A) a++
    assert.ok(a < 100, `A chosen ${a} times`)
  })

  test('equal strangers: exploration > 0 explores, exploration 0 never does', () => {
    const explored = (exploration: number): number => {
      const f = fixture([offer({ node: A }), offer({ node: B }), offer({ node: C })], { exploration, random: seededRandom(5) }, { neutral: true })
      for (let i = 0; i < 1000; i++) f.router.choose(request())
      return f.router.explorationRatio()
    }
    const ratio = explored(0.3)
    // three equal strangers: the draw picks one of the two others about two times in three
    assert.ok(ratio > 0.55 && ratio < 0.78, String(ratio))
    assert.equal(explored(0), 0)
  })

  test('the bandit is per task type', () => {
    const f = fixture([offer({ node: A, taskTypes: ['text.embed', 'text.chunk'] }), offer({ node: B, taskTypes: ['text.embed', 'text.chunk'] })], {
      exploration: 1, random: seededRandom(7)
    }, { neutral: true })
    for (let i = 0; i < 20; i++) f.router.record(A, 'text.chunk', 'failure')
    let embedA = 0
    let chunkA = 0
    for (let i = 0; i < 1000; i++) {
      if (f.router.choose(request()).candidate.peerId === A) embedA++
      if (f.router.choose(request({ taskType: 'text.chunk' })).candidate.peerId === A) chunkA++
    }
    assert.ok(embedA > 400 && embedA < 600, `equal strangers on text.embed: ${embedA}`)
    assert.ok(chunkA < 100, `A fails on text.chunk: ${chunkA}`)
  })

  test('the same seed gives the same choices', () => {
    const run = (): string[] => {
      const f = fixture([offer({ node: A }), offer({ node: B }), offer({ node: C })], { exploration: 0.5, random: seededRandom(9) })
      return Array.from({ length: 50 }, () => f.router.choose(request()).candidate.peerId)
    }
    assert.deepEqual(run(), run())
  })

  test('the exploration ratio is over a sliding window of recent choices', async () => {
    // a constant random source makes each draw a fixed, increasing function of the successes and decreasing of the failures
    const f = fixture([offer({ node: A, perTask: 1 }), offer({ node: B, perTask: 2 })], { exploration: 1, explorationWindow: 10, random: () => 0.5 }, { neutral: true })
    for (let i = 0; i < 40; i++) f.router.record(A, 'text.embed', 'failure')
    // A scores best (cheaper) but draws low: B chosen, explored
    for (let i = 0; i < 10; i++) assert.equal(f.router.choose(request()).explored, true)
    assert.equal(f.router.explorationRatio(), 1)
    for (let i = 0; i < 80; i++) f.router.record(A, 'text.embed', 'success')
    for (let i = 0; i < 5; i++) assert.equal(f.router.choose(request()).explored, false)
    assert.equal(f.router.explorationRatio(), 0.5)
    assert.equal(await metricValue(f.registry, 'agora_jobs_router_exploration_ratio'), 0.5)
    assert.equal(await metricValue(f.registry, 'agora_jobs_router_explorations_total'), 10)
  })
})

describe('jobs router: outcomes', () => {
  test('a refusal leaves the bandit and the reputation unchanged', () => {
    const f = fixture([offer({ node: A })])
    f.router.record(A, 'text.embed', 'success')
    const stats = f.router.stats(A, 'text.embed')
    const reputation = f.book.reputation(A)
    const view = f.book.view(A)
    for (let i = 0; i < 20; i++) f.router.record(A, 'text.embed', 'refused')
    assert.deepEqual(f.router.stats(A, 'text.embed'), stats)
    assert.equal(f.book.reputation(A), reputation)
    assert.equal(f.book.view(A)?.failures, view?.failures)
    assert.equal(f.book.view(A)?.successes, view?.successes)
  })

  test('success, failure, timeout and invalid feed the bandit and the peer book (invalid weighs three failures)', () => {
    const f = fixture([offer({ node: A })])
    f.router.record(A, 'text.embed', 'success')
    f.router.record(A, 'text.embed', 'failure')
    f.router.record(A, 'text.embed', 'timeout')
    f.router.record(A, 'text.embed', 'invalid')
    const s = f.router.stats(A, 'text.embed')
    assert.equal(s.successes, 1)
    assert.equal(s.failures, 5)
    assert.equal(s.lastSuccessAt, T0)
    const view = f.book.view(A)
    assert.equal(view?.successes, 1)
    assert.equal(view?.failures, 1)
    assert.equal(view?.timeouts, 1)
    assert.equal(view?.invalids, 1)
  })

  test('this node\'s outcomes feed the bandit but not the peer book', () => {
    const f = fixture([offer({ node: SELF })])
    f.router.record(SELF, 'text.embed', 'failure')
    assert.equal(f.router.stats(SELF, 'text.embed').failures, 1)
    assert.equal(f.book.view(SELF), undefined)
  })

  test('stats decay with the half-life', () => {
    const f = fixture([offer({ node: A })], { halfLifeMs: 60_000 })
    for (let i = 0; i < 8; i++) f.router.record(A, 'text.embed', 'failure')
    f.clock.now += 60_000
    assert.ok(Math.abs(f.router.stats(A, 'text.embed').failures - 4) < 1e-9)
    f.router.record(A, 'text.embed', 'success')
    f.clock.now += 120_000
    const s = f.router.stats(A, 'text.embed')
    assert.ok(Math.abs(s.failures - 1) < 1e-9, String(s.failures))
    assert.ok(Math.abs(s.successes - 0.25) < 1e-9, String(s.successes))
  })

  test('a recent success raises the recency term of the score', () => {
    // offers about to expire: their own freshness is near 0
    const f = fixture([offer({ node: A, expiresAt: T0 + 1000 }), offer({ node: B, expiresAt: T0 + 1000 })], { exploration: 0 }, { neutral: true })
    assert.deepEqual(f.router.candidates(request()).map(c => c.peerId), [A, B])
    f.router.record(B, 'text.embed', 'success')
    const [first, second] = f.router.candidates(request())
    assert.equal(first?.peerId, B)
    assert.ok((first?.score ?? 0) - (second?.score ?? 0) > 0.09, 'about the recency weight (0.1)')
  })
})
