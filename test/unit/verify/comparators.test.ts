/** Each comparator on honest pairs and on the cheats it must catch; majority and inconclusive agreement. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { agreement, comparatorFor, embeddingComparator, exactComparator, sentimentComparator, textComparator, type Comparator, type EmbedTexts, type Replica } from '../../../src/verify/index.ts'

const replica = (worker: string, result: unknown, hash = JSON.stringify(result)): Replica => ({ worker, result, hash })

/** A deterministic pseudo-random unit vector (for "a cheater's random vectors"). */
function randomUnit (seed: number, dims: number): number[] {
  let x = seed * 2654435761 % 2 ** 32
  const v = Array.from({ length: dims }, () => { x = (x * 1664525 + 1013904223) % 2 ** 32; return x / 2 ** 32 - 0.5 })
  const n = Math.hypot(...v)
  return v.map(c => c / n)
}

const embedResult = (vectors: number[][]): unknown => ({ model: 'm', dimensions: vectors[0]?.length ?? 0, vectors, chunks: vectors.map((_, i) => ({ start: i, end: i + 1 })) })

test('comparatorFor: exact for deterministic and unlisted types, embedding, sentiment, text for the language-model types', () => {
  const embed: EmbedTexts = async texts => texts.map(() => [1])
  assert.equal(comparatorFor('text.chunk', undefined).method, 'exact')
  assert.equal(comparatorFor('text.entities', undefined).method, 'exact')
  assert.equal(comparatorFor('debug.noop', undefined).method, 'exact')
  assert.equal(comparatorFor('text.embed', undefined).method, 'embedding')
  assert.equal(comparatorFor('text.sentiment', undefined).method, 'sentiment')
  for (const type of ['batch.chat', 'llm.map', 'llm.reduce']) assert.equal(comparatorFor(type, embed).method, 'text')
  assert.throws(() => comparatorFor('batch.chat', undefined), RangeError)
})

test('exact: equal hashes agree, anything else does not', async () => {
  assert.equal(await exactComparator.agree(replica('a', 1, 'h1'), replica('b', 1, 'h1')), true)
  assert.equal(await exactComparator.agree(replica('a', 1, 'h1'), replica('b', 1, 'h2')), false)
})

test('embedding: float noise agrees; random vectors, shuffled vectors, another dimension or count, scaled norms do not', async () => {
  const c = embeddingComparator()
  const honest = [randomUnit(1, 100), randomUnit(2, 100), randomUnit(3, 100)]
  // what a second engine returns: float32 rounding and a little noise
  const noisy = honest.map((v, i) => v.map((x, j) => Math.fround(x + 1e-4 * Math.sin(i * 100 + j))))
  assert.equal(await c.agree(replica('a', embedResult(honest)), replica('b', embedResult(noisy))), true)
  const random = honest.map((_, i) => randomUnit(100 + i, 100))
  assert.equal(await c.agree(replica('a', embedResult(honest)), replica('cheat', embedResult(random))), false)
  assert.equal(await c.agree(replica('a', embedResult(honest)), replica('cheat', embedResult([honest[1], honest[0], honest[2]] as number[][]))), false)
  assert.equal(await c.agree(replica('a', embedResult(honest)), replica('cheat', embedResult(honest.slice(0, 2)))), false)
  assert.equal(await c.agree(replica('a', embedResult(honest)), replica('cheat', embedResult(honest.map(v => v.slice(0, 50))))), false)
  assert.equal(await c.agree(replica('a', embedResult(honest)), replica('cheat', embedResult(honest.map(v => v.map(x => x * 2))))), false, 'same direction, twice the norm')
  assert.equal(await c.agree(replica('a', embedResult(honest)), replica('cheat', { vectors: 'nope' })), false)
  assert.equal(await c.agree(replica('a', embedResult([[0, 0]])), replica('b', embedResult([[0, 0]]))), true, 'two empty texts')
})

test('sentiment: the same labels agree (scores may differ within a label); a flipped or missing chunk does not', async () => {
  const c = sentimentComparator()
  const result = (scores: number[]): unknown => ({ chunks: scores.map((score, i) => ({ start: i, end: i + 1, score, sentences: [] })) })
  assert.equal(await c.agree(replica('a', result([0.6, -0.3, 0.01])), replica('b', result([0.4, -0.5, -0.02]))), true)
  assert.equal(await c.agree(replica('a', result([0.6, -0.3, 0.01])), replica('cheat', result([0.6, 0.3, 0.01]))), false)
  assert.equal(await c.agree(replica('a', result([0.6, -0.3])), replica('cheat', result([0.6]))), false)
  assert.equal(await sentimentComparator({ sentimentAgreement: 0.5 }).agree(replica('a', result([0.6, -0.3])), replica('b', result([0.6, 0.3]))), true)
})

test('text: answers similar in meaning agree; a canned answer, a missing answer or another shape do not', async () => {
  // sentence vectors by shared words: enough to test the comparator's own logic (the real engine is calibrated in bench/verify.bench.ts)
  const vocabulary = ['paris', 'capital', 'france', 'city', 'weather', 'sunny', 'cannot', 'help']
  const embed: EmbedTexts = async texts => texts.map(t => vocabulary.map(w => t.toLowerCase().includes(w) ? 1 : 0))
  const c = textComparator(embed)
  const chat = (...texts: string[]): unknown => ({ answers: texts.map(text => ({ text, usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 } })) })
  assert.equal(await c.agree(replica('a', chat('Paris is the capital of France.', 'It is sunny weather.')), replica('b', chat('The capital of France is Paris.', 'Sunny weather today.'))), true)
  assert.equal(await c.agree(replica('a', chat('Paris is the capital of France.')), replica('cheat', chat('Sorry, I cannot help with that.'))), false)
  assert.equal(await c.agree(replica('a', chat('Paris.', 'Sunny.')), replica('cheat', chat('Paris.'))), false)
  assert.equal(await c.agree(replica('a', { outputs: ['same'] }), replica('b', { outputs: ['same'] })), true, 'equal texts need no vectors')
  assert.equal(await c.agree(replica('a', { text: 'Paris, capital of France' }), replica('b', { text: 'The capital of France: Paris' })), true, 'a reduce')
  assert.equal(await c.agree(replica('a', { text: 'x' }), replica('cheat', { answers: 'x' })), false)
})

test('agreement: a strict majority decides; a tie or a scatter is inconclusive', async () => {
  const r = (worker: string, hash: string): Replica => replica(worker, null, hash)
  const three = await agreement([r('a', 'x'), r('b', 'y'), r('c', 'x')], exactComparator)
  assert.deepEqual(three.majority?.map(x => x.worker), ['a', 'c'])
  assert.deepEqual(three.groups.map(g => g.map(x => x.worker)), [['a', 'c'], ['b']])
  assert.equal((await agreement([r('a', 'x'), r('b', 'y')], exactComparator)).majority, undefined, 'one against one')
  assert.equal((await agreement([r('a', 'x'), r('b', 'y'), r('c', 'z')], exactComparator)).majority, undefined)
  assert.equal((await agreement([r('a', 'x'), r('b', 'x'), r('c', 'y'), r('d', 'y')], exactComparator)).majority, undefined, 'two against two')
  assert.deepEqual((await agreement([r('a', 'x')], exactComparator)).majority?.map(x => x.worker), ['a'])
})

test('agreement with a similarity that is not transitive: a majority must agree pairwise; competing ones are settled by coherence, else inconclusive', async () => {
  // scores between results: answer ~ paraphrase 0.95, canned ~ paraphrase 0.91, canned ~ answer 0.8 (τ 0.9)
  const scores: Record<string, number> = { 'answer paraphrase': 0.95, 'canned paraphrase': 0.91, 'answer canned': 0.8, 'answer other': 0.95, 'other paraphrase': 0.95, 'canned other': 0.8 }
  const score = (a: Replica, b: Replica): number => a.hash === b.hash ? 1 : scores[[a.hash, b.hash].sort().join(' ')] ?? 0
  const graded: Comparator = { method: 'text', agree: async (a, b) => score(a, b) >= 0.9, similarity: async (a, b) => score(a, b) }
  const r = (worker: string, hash: string): Replica => replica(worker, null, hash)
  // the canned answer first (a cheating primary): greedy grouping would pair it with the paraphrase and outvote the honest answer
  const three = await agreement([r('cheat', 'canned'), r('h1', 'answer'), r('h2', 'paraphrase')], graded)
  assert.deepEqual(three.majority?.map(x => x.worker), ['h1', 'h2'], 'the more coherent pair wins')
  // without a similarity to tell them apart, two competing pairs are inconclusive: nobody is blamed
  const flat: Comparator = { method: 'text', agree: graded.agree }
  const ambiguous = await agreement([r('cheat', 'canned'), r('h1', 'answer'), r('h2', 'paraphrase')], flat)
  assert.equal(ambiguous.majority, undefined)
  assert.deepEqual(ambiguous.groups.map(g => g.map(x => x.worker)).sort(), [['cheat', 'h2'], ['h1', 'h2']])
  // five results: the honest clique of four outvotes the canned one
  const five = await agreement([r('cheat', 'canned'), r('h1', 'answer'), r('h2', 'paraphrase'), r('h3', 'other'), r('h4', 'answer')], flat)
  assert.deepEqual(five.majority?.map(x => x.worker), ['h1', 'h2', 'h3', 'h4'])
})
