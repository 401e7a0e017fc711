/**
 * Shared benchmark helpers: timing, medians and percentiles, a printed table,
 * and a JSON result under bench/results/<name>.json. Machines here are noisy,
 * so every figure is a median over repeated runs and, where a bar is relative,
 * a ratio against a baseline measured in the same run.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results')

export interface BenchRow {
  /** What was measured. */
  metric: string
  /** The measured value (a median, a rate or a ratio). */
  value: number
  unit: string
  /** The bar it must meet, as text, e.g. "< 1500 ms". */
  target: string
  /** Whether the bar is met. */
  pass: boolean
  /** Extra figures (p90, baseline, samples). */
  detail?: string
}

export function percentile (samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN
  const sorted = [...samples].sort((a, b) => a - b)
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index] as number
}

export function median (samples: readonly number[]): number {
  return percentile(samples, 50)
}

/** Milliseconds taken by `fn`. */
export async function timeMs (fn: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now()
  await fn()
  return performance.now() - start
}

export function round (value: number, digits = 2): number {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}

/** Print the rows as a table and write them to bench/results/<name>.json. */
export function report (name: string, rows: BenchRow[], extra: Record<string, unknown> = {}): void {
  const header = ['metric', 'value', 'unit', 'target', 'pass', 'detail']
  const lines = rows.map(r => [r.metric, String(round(r.value)), r.unit, r.target, r.pass ? 'yes' : 'NO', r.detail ?? ''])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map(l => (l[i] as string).length)))
  const format = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ') + ' |'
  console.log(`\n${name}`)
  console.log(format(header))
  console.log('|' + widths.map(w => '-'.repeat(w + 2)).join('|') + '|')
  for (const line of lines) console.log(format(line))
  const file = join(RESULTS_DIR, `${name}.json`)
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, JSON.stringify({ name, date: new Date().toISOString(), node: process.version, rows, ...extra }, null, 2) + '\n')
}

/** xorshift32: a seeded uniform [0, 1) source, so every run can be replayed. */
export function seeded (seed: number): () => number {
  let x = (seed * 2654435761) >>> 0 || 1
  return () => {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    return x / 2 ** 32
  }
}
