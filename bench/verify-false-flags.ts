/**
 * Part 5 of bench/verify.bench.ts: false flags on honest workers across two
 * engines. A check compares one subtask's results from two honest workers
 * with the task type's real comparator, as the coordinator does:
 *  - text.embed: the embedded engine's vectors for two chunks of a long
 *    generated document, against a second engine serving the same model —
 *    the same vectors through float32 with noise σ = 0.001 (seeded);
 *  - batch.chat: one answer against a second model's phrasing of it (the
 *    calibration corpus, bench/verify-corpus.ts).
 * A check that disagrees would flag an honest worker. Bar: ≤ 0.1 % of checks.
 */
import { embeddingComparator, textComparator, type Replica } from '../src/verify/index.ts'
import type { WinkEngine } from '../src/providers/index.ts'
import { longDocument } from '../test/harness/jobs.ts'
import { round, type BenchRow } from './lib.ts'
import { ANSWERS } from './verify-corpus.ts'

export async function falseFlags (engine: WinkEngine, checks: number, random: () => number): Promise<BenchRow> {
  const gaussian = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
  const sentences = longDocument(checks * 160, 11).split(/(?<=\.) /)
  const embed = embeddingComparator()
  let embedFlags = 0
  let embedChecks = 0
  const BATCH = 256
  for (let start = 0; start + 1 < sentences.length && embedChecks < checks; start += BATCH) {
    const { vectors } = await engine.embed(sentences.slice(start, start + BATCH))
    for (let i = 0; i + 1 < vectors.length && embedChecks < checks; i += 2) {
      const mine = [Array.from(vectors[i] as ArrayLike<number>), Array.from(vectors[i + 1] as ArrayLike<number>)]
      const theirs = mine.map(v => v.map(x => Math.fround(x + 1e-3 * gaussian())))
      const agree = await embed.agree(replica('engine-a', { vectors: mine }), replica('engine-b', { vectors: theirs }))
      embedChecks++
      if (!agree) embedFlags++
    }
  }
  const text = textComparator(async texts => (await engine.embed(texts)).vectors.map(v => Array.from(v)))
  let textFlags = 0
  for (const a of ANSWERS) {
    const chat = (t: string): unknown => ({ answers: [{ text: t }] })
    if (!await text.agree(replica('model-a', chat(a.answer)), replica('model-b', chat(a.paraphrase)))) textFlags++
  }
  const total = embedChecks + ANSWERS.length
  const rate = 100 * (embedFlags + textFlags) / total
  return {
    metric: 'false flags on honest workers, two engines',
    value: rate,
    unit: '% of checks',
    target: '≤ 0.1 %',
    pass: rate <= 0.1,
    detail: `text.embed: ${embedFlags} of ${embedChecks} checks (2 chunks each, float32 + noise σ 0.001); batch.chat: ${textFlags} of ${ANSWERS.length} (two phrasings); ${round(rate, 3)} %`
  }
}

function replica (worker: string, result: unknown): Replica {
  return { worker, result, hash: worker }
}
