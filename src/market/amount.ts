/**
 * Amounts of credits. Inside the node: integer micro-credits (1 credit =
 * 1,000,000 micro) in plain numbers, each kept within Number.MAX_SAFE_INTEGER
 * (~9 billion credits); a sum that could pass it is done in bigint. Outside
 * (JSON, the CLI, config files): decimal strings with six places,
 * "12.500000". Parsing is exact — no float ever holds an amount — and
 * refuses negative amounts, more than six decimals and values past the safe
 * range (E1100). Rounding happens only at the edges, where a rate meets a
 * quantity (`perThousand`), and always up: a seller is never paid less than
 * its price.
 */
import { z } from 'zod'
import { AgoraError } from '../errors.ts'

/** Integer micro-credits. */
export type Micro = number

export const MICRO_PER_CREDIT = 1_000_000
/** The largest amount (and balance) held: 9,007,199,254.740991 credits. */
export const MAX_MICRO: Micro = Number.MAX_SAFE_INTEGER

const DECIMAL = /^(\d+)(?:\.(\d{1,6}))?$/

/** Whether `value` is a valid amount: a non-negative safe integer. */
export function isMicro (value: unknown): value is Micro {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

/**
 * "12.5", "12.500000", "0.000001" or a JSON number (12.5) → micro-credits.
 * E1100 names `what` and says why when the value is not an amount.
 */
export function parseCredits (input: string | number, what = 'amount'): Micro {
  const text = typeof input === 'number' ? numberText(input, what) : input.trim()
  if (text.startsWith('-')) throw badAmount(what, input, 'it is negative')
  const match = DECIMAL.exec(text)
  if (match === null) {
    const decimals = /^\d+\.(\d+)$/.exec(text)?.[1]
    throw badAmount(what, input, decimals !== undefined ? `it has ${decimals.length} decimals, at most 6 are allowed` : 'it is not a decimal number')
  }
  const whole = BigInt(match[1] as string)
  const fraction = BigInt((match[2] ?? '').padEnd(6, '0'))
  const micro = whole * BigInt(MICRO_PER_CREDIT) + fraction
  if (micro > BigInt(MAX_MICRO)) throw badAmount(what, input, `it is past the largest amount, ${formatCredits(MAX_MICRO)}`)
  return Number(micro)
}

/** Micro-credits → "12.500000" (a bigint for sums; negative sums keep their sign). */
export function formatCredits (micro: Micro | bigint): string {
  const value = BigInt(micro)
  const sign = value < 0n ? '-' : ''
  const abs = value < 0n ? -value : value
  const unit = BigInt(MICRO_PER_CREDIT)
  return `${sign}${abs / unit}.${(abs % unit).toString().padStart(6, '0')}`
}

/** a + b, refusing a result past the safe range (E1100). */
export function addMicro (a: Micro, b: Micro, what = 'sum'): Micro {
  const sum = a + b
  if (!Number.isSafeInteger(sum)) throw badAmount(what, `${formatCredits(a)} + ${formatCredits(b)}`, `the sum is past the largest amount, ${formatCredits(MAX_MICRO)}`)
  return sum
}

/** unit × quantity, refusing a result past the safe range (E1100). */
export function mulMicro (unit: Micro, quantity: number, what = 'total'): Micro {
  const product = BigInt(unit) * BigInt(quantity)
  if (product > BigInt(MAX_MICRO)) throw badAmount(what, `${formatCredits(unit)} × ${quantity}`, `the total is past the largest amount, ${formatCredits(MAX_MICRO)}`)
  return Number(product)
}

/** The price of `count` units at `per1k` micro-credits per thousand, rounded up to the micro-credit. */
export function perThousand (per1k: Micro, count: number): Micro {
  const exact = BigInt(per1k) * BigInt(Math.max(0, Math.ceil(count)))
  const micro = (exact + 999n) / 1000n
  if (micro > BigInt(MAX_MICRO)) throw badAmount('price', `${formatCredits(per1k)} per 1k × ${count}`, 'the price is past the largest amount')
  return Number(micro)
}

/** The sum of many amounts, exact (for totals and invariants). */
export function sumMicro (values: Iterable<Micro>): bigint {
  let total = 0n
  for (const value of values) total += BigInt(value)
  return total
}

/** An amount at an edge (JSON, config, CLI): a decimal string with at most six decimals, or a JSON number; parsed to micro-credits. */
export const creditsInput = z.union([z.string(), z.number()]).transform((value, ctx) => {
  try {
    return parseCredits(value)
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof AgoraError ? (err.why ?? err.what) : String(err) })
    return z.NEVER
  }
})

/** An amount on the wire: exactly the six-decimal form `formatCredits` writes ("0.500000"). */
export const creditsWire = z.string().regex(/^\d{1,10}\.\d{6}$/, 'expected credits as a decimal string with six places, e.g. "0.500000"')
  .refine(text => BigInt(text.replace('.', '')) <= BigInt(MAX_MICRO), 'past the largest amount')

function numberText (value: number, what: string): string {
  if (!Number.isFinite(value)) throw badAmount(what, value, 'it is not a finite number')
  // String(0.1) is "0.1"; String(1e-7) is "1e-7", which the pattern refuses as it should
  return String(value)
}

function badAmount (what: string, value: unknown, why: string): AgoraError {
  return new AgoraError('E1100', `invalid ${what}: ${JSON.stringify(value)}`, { why, details: { what, value: String(value) } })
}
