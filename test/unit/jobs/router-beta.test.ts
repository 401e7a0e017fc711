import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { sampleBeta, sampleGamma, sampleNormal, seededRandom } from '../../../src/jobs/router/index.ts'

function moments (draw: () => number, n: number): { mean: number, variance: number } {
  let sum = 0
  let sq = 0
  for (let i = 0; i < n; i++) {
    const x = draw()
    sum += x
    sq += x * x
  }
  const mean = sum / n
  return { mean, variance: sq / n - mean * mean }
}

describe('jobs router: Beta sampler (Marsaglia–Tsang)', () => {
  test('Gamma(k, 1) has mean k and variance k, for shapes below and above 1', () => {
    for (const shape of [0.3, 1, 2.5, 11]) {
      const random = seededRandom(shape * 1000)
      const { mean, variance } = moments(() => sampleGamma(shape, random), 40_000)
      assert.ok(Math.abs(mean - shape) < 0.05 * shape + 0.02, `shape ${shape}: mean ${mean}`)
      assert.ok(Math.abs(variance - shape) < 0.1 * shape + 0.03, `shape ${shape}: variance ${variance}`)
    }
  })

  test('Beta(a, b) has mean a / (a + b) and the right variance, and stays in [0, 1]', () => {
    for (const [a, b] of [[1, 1], [1, 11], [11, 1], [3, 7], [50.5, 20.25]] as const) {
      const random = seededRandom(a * 31 + b)
      let outside = 0
      const { mean, variance } = moments(() => {
        const x = sampleBeta(a, b, random)
        if (x < 0 || x > 1) outside++
        return x
      }, 40_000)
      const m = a / (a + b)
      const v = a * b / ((a + b) ** 2 * (a + b + 1))
      assert.equal(outside, 0)
      assert.ok(Math.abs(mean - m) < 0.01, `Beta(${a}, ${b}): mean ${mean} vs ${m}`)
      assert.ok(Math.abs(variance - v) < 0.1 * v + 1e-4, `Beta(${a}, ${b}): variance ${variance} vs ${v}`)
    }
  })

  test('standard normal draws', () => {
    const random = seededRandom(1)
    const { mean, variance } = moments(() => sampleNormal(random), 40_000)
    assert.ok(Math.abs(mean) < 0.02, String(mean))
    assert.ok(Math.abs(variance - 1) < 0.03, String(variance))
  })

  test('the same seed gives the same draws; another seed others', () => {
    const draws = (seed: number): number[] => { const r = seededRandom(seed); return Array.from({ length: 20 }, () => sampleBeta(2, 3, r)) }
    assert.deepEqual(draws(5), draws(5))
    assert.notDeepEqual(draws(5), draws(6))
  })

  test('a shape that is not positive is refused', () => {
    assert.throws(() => sampleGamma(0, Math.random), RangeError)
    assert.throws(() => sampleGamma(Number.NaN, Math.random), RangeError)
  })
})
