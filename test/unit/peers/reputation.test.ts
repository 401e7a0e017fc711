import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { defaultConfig } from '../../../src/config/schema.ts'
import {
  REPUTATION_DEFAULTS, appScore, decayFactor, decayState, evidence, observe, observeUptime,
  priorState, reputationAt, score, shouldBan, uptimeFraction, type BetaState, type Outcome
} from '../../../src/peers/index.ts'

const HOUR = 60 * 60 * 1000
const HALF_LIFE = 6 * HOUR

function run (outcomes: Outcome[], start = 0, stepMs = 1000): BetaState | undefined {
  let state: BetaState | undefined
  outcomes.forEach((outcome, i) => { state = observe(state, outcome, start + i * stepMs, HALF_LIFE) })
  return state
}

describe('peers: reputation formula', () => {
  test('a stranger scores 0.5 and has no evidence', () => {
    assert.equal(reputationAt(undefined, 0, HALF_LIFE), 0.5)
    assert.equal(score(priorState(123)), 0.5)
    assert.equal(evidence(priorState(123)), 0)
  })

  test('decay halves the weight of an observation after one half-life', () => {
    assert.equal(decayFactor(HALF_LIFE, HALF_LIFE), 0.5)
    assert.equal(decayFactor(2 * HALF_LIFE, HALF_LIFE), 0.25)
    assert.equal(decayFactor(-5, HALF_LIFE), 1, 'a clock going backwards does not decay')
    const state: BetaState = { alpha: 1, beta: 1 + 10, updatedAt: 0 }
    const later = decayState(state, HALF_LIFE, HALF_LIFE)
    assert.equal(later.alpha, 1)
    assert.equal(later.beta, 1 + 5, 'ten failures weigh five after one half-life')
    assert.equal(evidence(later), 5)
    // and it drifts back toward the prior, never past it
    assert.ok(Math.abs(reputationAt(state, 100 * HALF_LIFE, HALF_LIFE) - 0.5) < 1e-9)
  })

  test('failures pull the score down, successes up; both are the posterior mean', () => {
    const failing = run(['failure', 'failure', 'failure'], 0, 0)
    assert.ok(failing !== undefined)
    assert.ok(Math.abs(score(failing) - 1 / 5) < 1e-6, `${score(failing)}`)
    const good = run(['success', 'success', 'success'], 0, 0)
    assert.ok(good !== undefined && Math.abs(score(good) - 4 / 5) < 1e-6)
    const timeouts = run(['timeout', 'timeout', 'timeout'], 0, 0)
    assert.ok(timeouts !== undefined && Math.abs(score(timeouts) - score(failing)) < 1e-9, 'a timeout weighs one failure')
  })

  test('an invalid message weighs three failures', () => {
    const invalid = observe(undefined, 'invalid', 0, HALF_LIFE)
    const failures = run(['failure', 'failure', 'failure'], 0, 0)
    assert.ok(failures !== undefined)
    assert.equal(score(invalid), score(failures))
    assert.equal(evidence(invalid), 3)
    assert.ok(score(invalid) < score(observe(undefined, 'failure', 0, HALF_LIFE)))
  })

  test('ban rule: below the threshold with enough evidence, never a trusted peer', () => {
    const rule = { banThreshold: 0.2, minObservations: 8 }
    const three = run(['failure', 'failure', 'failure', 'failure'], 0, 0)
    assert.ok(three !== undefined && score(three) < 0.2)
    assert.equal(shouldBan(three, rule, false), false, 'four observations are not enough evidence')
    const eight = run(Array<Outcome>(8).fill('failure'), 0, 0)
    assert.ok(eight !== undefined)
    assert.equal(shouldBan(eight, rule, false), true)
    assert.equal(shouldBan(eight, rule, true), false, 'trusted peers are never banned automatically')
    // eight failures a minute apart have decayed a little (7.99…) and still count as eight
    const spread = run(Array<Outcome>(8).fill('failure'), 0, 60_000)
    assert.ok(spread !== undefined && evidence(spread) < 8)
    assert.equal(shouldBan(spread, rule, false), true)
    // …but eight failures spread over days are old news
    const old = run(Array<Outcome>(8).fill('failure'), 0, HALF_LIFE)
    assert.ok(old !== undefined && evidence(old) < 2)
    assert.equal(shouldBan(old, rule, false), false)
    // three forged messages are nine observations' worth
    const forged = run(['invalid', 'invalid', 'invalid'], 0, 0)
    assert.ok(forged !== undefined)
    assert.equal(shouldBan(forged, rule, false), true)
  })

  test('the same inputs give the same outputs (deterministic, injected clock)', () => {
    const outcomes: Outcome[] = ['success', 'failure', 'invalid', 'timeout', 'success']
    assert.deepEqual(run(outcomes, 1000, 60_000), run(outcomes, 1000, 60_000))
  })

  test('uptime is the decayed share of answered pings', () => {
    assert.equal(uptimeFraction(undefined), null)
    let uptime = observeUptime(undefined, true, 0, HALF_LIFE)
    uptime = observeUptime(uptime, false, 0, HALF_LIFE)
    assert.equal(uptimeFraction(uptime), 0.5)
    // an old failure counts half after one half-life
    const old = observeUptime(observeUptime(undefined, false, 0, HALF_LIFE), true, HALF_LIFE, HALF_LIFE)
    assert.equal(uptimeFraction(old), 1 / 1.5)
  })

  test('gossipsub app score: −10..+10 by reputation, −1000 banned, +10 trusted', () => {
    assert.equal(appScore(0.5, { banned: false, trusted: false }), 0)
    assert.equal(appScore(1, { banned: false, trusted: false }), 10)
    assert.equal(appScore(0.1, { banned: false, trusted: false }), (0.1 - 0.5) * 20)
    // docs/reputation.md: banned −1000 (below the graylist), trusted +10
    assert.equal(appScore(0.9, { banned: true, trusted: true }), -1000)
    assert.equal(appScore(0.1, { banned: false, trusted: true }), 10)
  })

  test('the documented defaults (docs/reputation.md), in the room and in the config schema alike', () => {
    // ban below 0.2 with 8 observations, for 10 min; half-life 6 h; trusted peers redialled after 1 s, doubling up to 60 s
    const documented = { halfLifeMs: 6 * HOUR, banThreshold: 0.2, minObservations: 8, banDurationMs: 10 * 60 * 1000, trustedReconnectMinMs: 1000, trustedReconnectMaxMs: 60_000 }
    assert.deepEqual({ ...REPUTATION_DEFAULTS }, documented)
    assert.deepEqual(defaultConfig().reputation, documented)
  })
})
