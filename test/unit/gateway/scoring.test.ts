import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { CandidateStats, parseModelRef, rankCandidates, scoreCandidate, suggestModels, GATEWAY_DEFAULTS, type Candidate, type ScoreInput } from '../../../src/gateway/index.ts'
import { FakeProvider, PEER_A, PEER_B } from './router-fakes.ts'

const free = { perTask: 0, per1kPromptTokens: 0, per1kCompletionTokens: 0 }
const local: Candidate = { route: 'local', server: 'local', key: 'local:ollama', model: 'm', kind: 'chat', providerId: 'ollama', price: 0, prices: free, features: [], provider: new FakeProvider('ollama', [{ name: 'm' }]) }
const a: Candidate = { route: 'remote', server: PEER_A, key: `${PEER_A}:m`, model: 'm', kind: 'chat', providerId: 'ollama', price: 1, prices: free, features: [] }
const b: Candidate = { route: 'remote', server: PEER_B, key: `${PEER_B}:m`, model: 'm', kind: 'chat', providerId: 'ollama', price: 3, prices: free, features: [] }

describe('scoring', () => {
  test('the formula: latency, load, reputation, price (min–max), tie-break', () => {
    const ctx = { minPrice: 1, maxPrice: 3, latencyScaleMs: 1000, weights: { latency: 0.35, load: 0.25, reputation: 0.25, price: 0.15, tieBreak: 0.01 }, random: () => 1 }
    const score = scoreCandidate({ latencyMs: 1000, inFlight: 1, reputation: 0.8, price: 2 }, ctx)
    assert.ok(Math.abs(score - (0.35 * 0.5 + 0.25 * 0.5 + 0.25 * 0.8 + 0.15 * 0.5 + 0.01)) < 1e-12)
    assert.ok(Math.abs(scoreCandidate({ latencyMs: null, inFlight: 0, reputation: 1, price: 1 }, ctx) - (0.35 * 0.5 + 0.25 + 0.25 + 0.15 + 0.01)) < 1e-12)
  })

  test('prefer-local keeps local candidates first; load-balance ranks by score alone', () => {
    const inputs = new Map<Candidate, ScoreInput>([
      [local, { latencyMs: 5000, inFlight: 4, reputation: 1, price: 0 }],
      [a, { latencyMs: 100, inFlight: 0, reputation: 0.5, price: 1 }],
      [b, { latencyMs: 100, inFlight: 0, reputation: 1, price: 3 }]
    ])
    const inputOf = (c: Candidate): ScoreInput => inputs.get(c) as ScoreInput
    assert.deepEqual(rankCandidates([a, b, local], 'prefer-local', inputOf), [local, b, a])
    assert.deepEqual(rankCandidates([a, b, local], 'load-balance', inputOf), [b, a, local])
    assert.deepEqual(rankCandidates([a, b, local], 'local-only', inputOf), [local])
    // deterministic: same inputs, same order
    assert.deepEqual(rankCandidates([b, a, local], 'load-balance', inputOf), [b, a, local])
  })

  test('CandidateStats: latency EWMA and in-flight counts', () => {
    const stats = new CandidateStats({ alpha: 0.5 })
    assert.equal(stats.latencyOf('k'), undefined)
    assert.equal(stats.observeLatency('k', 100), 100)
    assert.equal(stats.observeLatency('k', 200), 150)
    stats.begin('s')
    stats.begin('s')
    stats.end('s')
    assert.equal(stats.inFlight('s'), 1)
    stats.end('s')
    stats.end('s')
    assert.equal(stats.inFlight('s'), 0)
    assert.equal(GATEWAY_DEFAULTS.attempts, 3)
  })

  test('model@peer parsing and model suggestions', () => {
    assert.deepEqual(parseModelRef(`llama3.2:3b@${PEER_A}`), { model: 'llama3.2:3b', target: PEER_A })
    assert.deepEqual(parseModelRef('llama3.2:3b@local'), { model: 'llama3.2:3b', target: 'local' })
    assert.deepEqual(parseModelRef('org/model@v2'), { model: 'org/model@v2' })
    assert.deepEqual(parseModelRef('@local'), { model: '@local' })
    assert.deepEqual(suggestModels('llama', ['llama3.2:3b', 'qwen2.5:7b', 'llama3.1:8b']), ['llama3.1:8b', 'llama3.2:3b'])
    assert.deepEqual(suggestModels('qwen2.5:7', ['llama3.2:3b', 'qwen2.5:7b']), ['qwen2.5:7b'])
    assert.deepEqual(suggestModels('mistral', ['llama3.2:3b']), [])
  })
})
