/**
 * Sampling θ ~ Beta(a, b) for Thompson sampling, with an injectable uniform
 * random source so that tests (and the simulator) are reproducible.
 *
 *   Beta(a, b) = X / (X + Y),  X ~ Gamma(a, 1),  Y ~ Gamma(b, 1)
 *
 * Gamma by Marsaglia and Tsang (2000), "A simple method for generating gamma
 * variables": for shape a ≥ 1, with d = a − 1/3 and c = 1 / √(9d), draw
 * x ~ N(0, 1) until v = (1 + c·x)³ > 0, then accept d·v when
 * u < 1 − 0.0331·x⁴ (the squeeze) or ln u < x²/2 + d·(1 − v + ln v).
 * For a < 1: Gamma(a) = Gamma(a + 1) · U^(1/a). Normals by Box–Muller.
 */

/** A uniform source on [0, 1) (Math.random fits). */
export type RandomSource = () => number

/** A uniform on (0, 1]: safe to take the log of. */
function openUniform (random: RandomSource): number {
  return 1 - random()
}

/** One standard normal draw (Box–Muller, the cosine branch). */
export function sampleNormal (random: RandomSource): number {
  const u1 = openUniform(random)
  const u2 = random()
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
}

/** One draw of Gamma(shape, 1); shape > 0. */
export function sampleGamma (shape: number, random: RandomSource): number {
  if (!(shape > 0) || !Number.isFinite(shape)) throw new RangeError(`gamma shape must be a positive finite number, got ${shape}`)
  if (shape < 1) return sampleGamma(shape + 1, random) * Math.pow(openUniform(random), 1 / shape)
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  for (;;) {
    let x: number
    let v: number
    do {
      x = sampleNormal(random)
      v = 1 + c * x
    } while (v <= 0)
    v = v * v * v
    const u = openUniform(random)
    const x2 = x * x
    if (u < 1 - 0.0331 * x2 * x2) return d * v
    if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v
  }
}

/** One draw of Beta(a, b); a, b > 0. */
export function sampleBeta (a: number, b: number, random: RandomSource): number {
  const x = sampleGamma(a, random)
  const y = sampleGamma(b, random)
  const sum = x + y
  return sum > 0 ? x / sum : 0.5
}

/**
 * A small seeded uniform source (mulberry32): the same seed gives the same
 * sequence. For tests, benchmarks and the simulator, not for secrets.
 */
export function seededRandom (seed: number): RandomSource {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6D2B79F5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
