/** Amounts: exact decimal parsing to micro-credits, six-place formatting, and refusals with E1100. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { addMicro, creditsInput, creditsWire, formatCredits, MAX_MICRO, mulMicro, parseCredits, perThousand, sumMicro } from '../../../src/market/amount.ts'
import { isCode } from '../../harness/checks.ts'

test('decimal strings and JSON numbers parse exactly', () => {
  assert.equal(parseCredits('12.5'), 12_500_000)
  assert.equal(parseCredits('12.500000'), 12_500_000)
  assert.equal(parseCredits('0.000001'), 1)
  assert.equal(parseCredits('0'), 0)
  assert.equal(parseCredits(0.1), 100_000)
  assert.equal(parseCredits(0.3), 300_000, 'not 299999.99…: no float touches the amount')
  assert.equal(parseCredits(' 7 '), 7_000_000)
  assert.equal(parseCredits('9007199254.740991'), MAX_MICRO)
})

test('negative, more than six decimals, not a number, past the safe range → E1100 saying why', () => {
  const why = (input: string | number): string => {
    try {
      parseCredits(input, 'budget')
    } catch (err) {
      isCode('E1100')(err)
      return (err as { why: string }).why
    }
    throw new Error(`${String(input)} was accepted`)
  }
  assert.match(why('-1'), /negative/)
  assert.match(why(-0.5), /negative/)
  assert.match(why('0.0000001'), /7 decimals, at most 6/)
  assert.match(why(1e-7), /not a decimal number/)
  assert.match(why('1,5'), /not a decimal number/)
  assert.match(why('abc'), /not a decimal number/)
  assert.match(why(Number.NaN), /not a finite number/)
  assert.match(why('9007199254.740992'), /past the largest amount/)
  assert.match(why(1e12), /past the largest amount/)
})

test('formatting has six places, keeps the sign of a sum, and round-trips', () => {
  assert.equal(formatCredits(12_500_000), '12.500000')
  assert.equal(formatCredits(1), '0.000001')
  assert.equal(formatCredits(-2_000_001n), '-2.000001')
  assert.equal(formatCredits(BigInt(MAX_MICRO) * 3n), '27021597764.222973')
  fc.assert(fc.property(fc.integer({ min: 0, max: MAX_MICRO }), micro => parseCredits(formatCredits(micro)) === micro), { numRuns: 2000 })
})

test('arithmetic refuses to leave the safe range; token prices round up once', () => {
  assert.equal(addMicro(1, 2), 3)
  assert.throws(() => addMicro(MAX_MICRO, 1), isCode('E1100'))
  assert.equal(mulMicro(250_000, 4), 1_000_000)
  assert.throws(() => mulMicro(MAX_MICRO, 2), isCode('E1100'))
  assert.equal(perThousand(1_000_000, 1000), 1_000_000)
  assert.equal(perThousand(1_000_000, 1), 1000)
  assert.equal(perThousand(1, 1), 1, 'a thousandth of a micro-credit is charged as one')
  assert.equal(perThousand(3, 1000), 3)
  assert.equal(perThousand(0, 10_000), 0)
  assert.equal(sumMicro([MAX_MICRO, MAX_MICRO]), 2n * BigInt(MAX_MICRO))
})

test('the zod edges: creditsInput parses, creditsWire takes only the six-place form', () => {
  assert.equal(creditsInput.parse('1.25'), 1_250_000)
  assert.equal(creditsInput.parse(2), 2_000_000)
  assert.equal(creditsInput.safeParse('-1').success, false)
  assert.equal(creditsWire.safeParse('1.250000').success, true)
  assert.equal(creditsWire.safeParse('1.25').success, false)
  assert.equal(creditsWire.safeParse('99999999999.000000').success, false)
})
