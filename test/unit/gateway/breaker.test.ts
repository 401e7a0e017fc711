import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { CircuitBreakers } from '../../../src/gateway/index.ts'

function breakers (failures = 3, cooldownMs = 1000): { b: CircuitBreakers, clock: { now: number } } {
  const clock = { now: 0 }
  return { b: new CircuitBreakers({ failures, cooldownMs, now: () => clock.now }), clock }
}

describe('CircuitBreakers', () => {
  test('opens after N consecutive failures, not before', () => {
    const { b } = breakers(3)
    assert.equal(b.failure('k'), null)
    assert.equal(b.failure('k'), null)
    assert.equal(b.state('k'), 'closed')
    assert.equal(b.acquire('k'), true)
    assert.equal(b.failure('k'), 'opened')
    assert.equal(b.state('k'), 'open')
    assert.equal(b.allows('k'), false)
    assert.equal(b.acquire('k'), false)
    assert.equal(b.state('other'), 'closed', 'keys are independent')
  })

  test('a success resets the count: failures must be consecutive', () => {
    const { b } = breakers(2)
    b.failure('k')
    assert.equal(b.success('k'), null)
    b.failure('k')
    assert.equal(b.state('k'), 'closed')
    assert.deepEqual(b.snapshot(), [{ key: 'k', state: 'closed', failures: 1, openedAt: null }])
  })

  test('half-open after the cooldown lets exactly one probe through; success closes', () => {
    const { b, clock } = breakers(1, 1000)
    b.failure('k')
    clock.now = 999
    assert.equal(b.state('k'), 'open')
    clock.now = 1000
    assert.equal(b.state('k'), 'half-open')
    assert.equal(b.acquire('k'), true)
    assert.equal(b.acquire('k'), false, 'one probe at a time')
    assert.equal(b.allows('k'), false)
    assert.equal(b.success('k'), 'closed')
    assert.equal(b.state('k'), 'closed')
    assert.deepEqual(b.snapshot(), [])
  })

  test('a failed probe reopens for another cooldown', () => {
    const { b, clock } = breakers(1, 1000)
    b.failure('k')
    clock.now = 1500
    assert.equal(b.acquire('k'), true)
    assert.equal(b.failure('k'), 'reopened')
    assert.equal(b.state('k'), 'open')
    clock.now = 2499
    assert.equal(b.allows('k'), false)
    clock.now = 2500
    assert.equal(b.allows('k'), true)
  })

  test('a released probe (cancelled call) frees the slot without a verdict', () => {
    const { b, clock } = breakers(1, 10)
    b.failure('k')
    clock.now = 10
    assert.equal(b.acquire('k'), true)
    b.release('k')
    assert.equal(b.state('k'), 'half-open')
    assert.equal(b.acquire('k'), true)
  })

  test('a late failure of a call sent before the breaker opened does not extend the cooldown', () => {
    const { b, clock } = breakers(1, 1000)
    b.failure('k')
    clock.now = 500
    assert.equal(b.failure('k'), null)
    clock.now = 1000
    assert.equal(b.state('k'), 'half-open')
  })

  test('memory is bounded: beyond maxKeys the oldest entry is forgotten', () => {
    const b = new CircuitBreakers({ failures: 1, cooldownMs: 1000, maxKeys: 2, now: () => 0 })
    b.failure('a')
    b.failure('b')
    b.failure('c')
    assert.deepEqual(b.snapshot().map(s => s.key), ['b', 'c'])
    assert.equal(b.state('a'), 'closed')
  })
})
