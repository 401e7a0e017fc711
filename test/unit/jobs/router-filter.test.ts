import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { isAgoraError } from '../../../src/errors.ts'
import { isCode } from '../../harness/checks.ts'
import { A, B, C, D, SELF, fixture, metricValue, micro, offer, peer, request } from './router-fakes.ts'
import type { ClosestOffer } from '../../../src/jobs/router/index.ts'

const peersOf = (f: ReturnType<typeof fixture>, req = request()): string[] => f.router.candidates(req).map(c => c.peerId).sort()

function caught (fn: () => unknown): { code: string, why: string, what: string, details: Record<string, unknown> } {
  try {
    fn()
  } catch (err) {
    assert.ok(isAgoraError(err), String(err))
    return { code: err.code, why: err.why ?? '', what: err.what, details: err.details ?? {} }
  }
  assert.fail('expected an error')
}

describe('jobs router: candidates', () => {
  test('only offers running the task type', () => {
    const f = fixture([offer({ node: A, taskTypes: ['text.embed'] }), offer({ node: B, taskTypes: ['text.chunk'] })])
    assert.deepEqual(peersOf(f), [A])
    assert.deepEqual(peersOf(f, request({ taskType: 'text.chunk' })), [B])
  })

  test('every required model: the request\'s and the constraints\' (union)', () => {
    const f = fixture([
      offer({ node: A, models: ['m1', 'm2'] }),
      offer({ node: B, models: ['m1'] }),
      offer({ node: C, models: ['m2'] })
    ])
    assert.deepEqual(peersOf(f, request({ models: ['m1'] })), [A, B])
    assert.deepEqual(peersOf(f, request({ constraints: { redundancy: 1, models: ['m2'] } })), [A, C])
    assert.deepEqual(peersOf(f, request({ models: ['m1'], constraints: { redundancy: 1, models: ['m2'] } })), [A])
  })

  test('every constraint tag', () => {
    const f = fixture([offer({ node: A, tags: ['gpu', 'eu'] }), offer({ node: B, tags: ['gpu'] }), offer({ node: C })])
    assert.deepEqual(peersOf(f, request({ constraints: { redundancy: 1, tags: ['gpu'] } })), [A, B])
    assert.deepEqual(peersOf(f, request({ constraints: { redundancy: 1, tags: ['gpu', 'eu'] } })), [A])
  })

  test('the zone, when set', () => {
    const f = fixture([offer({ node: A, zone: 'eu-west' }), offer({ node: B, zone: 'us-east' }), offer({ node: C })])
    assert.deepEqual(peersOf(f), [A, B, C])
    assert.deepEqual(peersOf(f, request({ constraints: { redundancy: 1, zone: 'eu-west' } })), [A])
  })

  test('per-task price at or under the max price per subtask and the remaining budget', () => {
    const f = fixture([offer({ node: A, perTask: 1 }), offer({ node: B, perTask: 3 }), offer({ node: C, perTask: 5 })])
    assert.deepEqual(peersOf(f, request({ constraints: { redundancy: 1, maxPricePerSubtask: micro(3) } })), [A, B])
    assert.deepEqual(peersOf(f, request({ constraints: { redundancy: 1, maxPricePerSubtask: micro('2.999999') } })), [A], 'one micro-credit under a price leaves it out')
    assert.deepEqual(peersOf(f, request({ remainingBudget: micro(1) })), [A])
    assert.deepEqual(peersOf(f, request({ remainingBudget: micro(4), constraints: { redundancy: 1, maxPricePerSubtask: micro(10) } })), [A, B])
  })

  test('banned peers and private offers of others are left out', () => {
    const f = fixture([offer({ node: A }), offer({ node: B, trustMode: 'private' }), offer({ node: C, trustMode: 'friends' }), offer({ node: D })])
    f.book.ban(D, { reason: 'test' })
    assert.deepEqual(peersOf(f), [A, C])
  })

  test('this node is a candidate like any other (private or not), marked local, listed once', () => {
    const f = fixture([offer({ node: A }), offer({ node: SELF, trustMode: 'private', tags: ['gpu'] })])
    const all = f.router.candidates(request())
    assert.equal(all.length, 2)
    const local = all.find(c => c.peerId === SELF)
    assert.ok(local !== undefined)
    assert.equal(local.local, true)
    assert.equal(local.latencyMs, 0)
    assert.equal(local.reputation, 1)
    assert.equal(all.find(c => c.peerId === A)?.local, false)
    // the same filters apply to it
    assert.deepEqual(peersOf(f, request({ constraints: { redundancy: 1, tags: ['gpu'] } })), [SELF])
    assert.throws(() => f.router.candidates(request({ taskType: 'text.chunk' })), isCode('E1020'))
  })

  test('no local candidate when this node offers nothing', () => {
    const f = fixture([offer({ node: A })])
    f.offers.local = () => undefined
    assert.deepEqual(f.router.candidates(request()).map(c => c.local), [false])
  })

  test('a candidate carries its offer\'s price, idle slots and the peer book\'s reputation and latency', () => {
    const f = fixture([offer({ node: A, perTask: '2.5', slotsIdle: 7 })])
    f.book.record(A, 'success')
    f.store.peers.recordLatency(A, 42)
    f.router.begin(A)
    const [a] = f.router.candidates(request())
    assert.ok(a !== undefined)
    assert.equal(a.price, 2_500_000, 'micro-credits')
    assert.equal(a.slotsIdle, 7)
    assert.equal(a.latencyMs, 42)
    assert.equal(a.inFlight, 1)
    assert.ok(Math.abs(a.reputation - 2 / 3) < 1e-9, String(a.reputation))
    assert.ok(a.score > 0 && a.score <= 1)
  })
})

describe('jobs router: no candidate', () => {
  test('E1020 names what is missing and the up to 3 closest offers with what each lacks', async () => {
    const f = fixture([
      offer({ node: A, models: ['llama'], tags: ['gpu'] }), // lacks zone only
      offer({ node: B, models: ['llama'], name: 'bee' }), // lacks tag and zone
      offer({ node: C, taskTypes: ['text.chunk'] }), // lacks type, model, tag, zone
      offer({ node: D, models: ['llama'], tags: ['gpu'], zone: 'us' }) // lacks zone
    ])
    const req = request({ models: ['llama'], constraints: { redundancy: 1, tags: ['gpu'], zone: 'eu' } })
    const err = caught(() => f.router.choose(req))
    assert.equal(err.code, 'E1020')
    assert.match(err.what, /text\.embed/)
    assert.match(err.why, /no offer is in zone 'eu'/)
    assert.match(err.why, /closest: 12D3KooWA+ lacks zone 'eu'/)
    assert.deepEqual(err.details.missing, ["zone 'eu'"])
    const closest = err.details.closest as ClosestOffer[]
    assert.deepEqual(closest, [
      { node: A, lacks: ["zone 'eu'"] },
      { node: D, lacks: ["zone 'eu'"] },
      { node: B, name: 'bee', lacks: ["tag 'gpu'", "zone 'eu'"] }
    ])
    assert.equal(await metricValue(f.registry, 'agora_jobs_router_no_candidate_total', { reason: 'missing' }), 1)
  })

  test('E1020 lists every requirement no offer meets', () => {
    const f = fixture([offer({ node: A, models: ['m1'] })])
    const err = caught(() => f.router.candidates(request({ taskType: 'llm.map', models: ['m1', 'm9'], constraints: { redundancy: 1, tags: ['gpu'] } })))
    assert.equal(err.code, 'E1020')
    assert.match(err.why, /no offer runs task type 'llm\.map'/)
    assert.match(err.why, /no offer serves model 'm9'/)
    assert.match(err.why, /no offer has tag 'gpu'/)
    assert.doesNotMatch(err.why, /model 'm1'/)
    assert.deepEqual(err.details.missing, ["task type 'llm.map'", "model 'm9'", "tag 'gpu'"])
  })

  test('E1020 when every requirement is served, but by no single offer', () => {
    const f = fixture([offer({ node: A, models: ['m1'] }), offer({ node: B, tags: ['gpu'] })])
    const err = caught(() => f.router.candidates(request({ models: ['m1'], constraints: { redundancy: 1, tags: ['gpu'] } })))
    assert.equal(err.code, 'E1020')
    assert.match(err.why, /no single offer has all of task type 'text\.embed', model 'm1', tag 'gpu'/)
    assert.equal((err.details.closest as ClosestOffer[]).length, 2)
  })

  test('E1020 says when the only matching offers are banned or private', () => {
    const f = fixture([offer({ node: A }), offer({ node: B, trustMode: 'private' })])
    f.book.ban(A, { reason: 'test' })
    const err = caught(() => f.router.choose(request()))
    assert.equal(err.code, 'E1020')
    assert.match(err.why, /2 offer\(s\) that match are banned or private/)
    assert.deepEqual((err.details.closest as ClosestOffer[]).map(c => c.lacks), [['banned'], ['private (serves only its owner)']])
  })

  test('E1020 with no offer known at all', () => {
    const f = fixture([])
    const err = caught(() => f.router.choose(request()))
    assert.equal(err.code, 'E1020')
    assert.match(err.why, /no offer is known/)
    assert.deepEqual(err.details.closest, [])
  })

  test('E1021 names the cheapest price and the max price', async () => {
    const f = fixture([offer({ node: A, perTask: 4 }), offer({ node: B, perTask: 2.5 }), offer({ node: C, taskTypes: ['x'], perTask: 0 })])
    const err = caught(() => f.router.choose(request({ constraints: { redundancy: 1, maxPricePerSubtask: micro(2) } })))
    assert.equal(err.code, 'E1021')
    assert.match(err.why, /asks 2\.500000 credits per subtask, above the max price per subtask \(2\.000000\)/)
    assert.equal(err.details.cheapest, '2.500000')
    assert.equal(err.details.cheapestNode, B)
    assert.equal(err.details.limit, '2.000000')
    assert.equal(err.details.candidates, 2)
    assert.equal(await metricValue(f.registry, 'agora_jobs_router_no_candidate_total', { reason: 'price' }), 1)
  })

  test('E1021 names the remaining budget when that is the limit', () => {
    const f = fixture([offer({ node: A, perTask: 4 })])
    const err = caught(() => f.router.choose(request({ remainingBudget: micro(1), constraints: { redundancy: 1, maxPricePerSubtask: micro(10) } })))
    assert.equal(err.code, 'E1021')
    assert.match(err.why, /asks 4\.000000 credits per subtask, above the job's remaining budget \(1\.000000\)/)
    assert.doesNotMatch(err.why, /max price/)
    assert.equal(err.details.remainingBudget, '1.000000')
    assert.equal(err.details.maxPricePerSubtask, '10.000000')
    assert.equal(err.details.limit, '1.000000')
  })

  test('a missing capability wins over the price (E1020 before E1021)', () => {
    const f = fixture([offer({ node: A, perTask: 4 })])
    assert.throws(() => f.router.choose(request({ models: ['nope'], remainingBudget: 0 })), isCode('E1020'))
  })

  test('a free offer passes a zero budget', () => {
    const f = fixture([offer({ node: peer('F'), perTask: 0 })])
    assert.equal(f.router.choose(request({ remainingBudget: 0 })).candidate.price, 0)
  })
})
