/**
 * Whether two workers' results for one subtask agree, per task type
 * (docs/verification.md, "Comparators"):
 * - exact: deterministic types (`text.chunk`, `text.entities`, `debug.*`)
 *   agree when their canonical hashes are equal;
 * - embedding (`text.embed`): same number of vectors of the same dimension,
 *   and each pair at cosine ≥ τ with norms within a tolerance — float noise
 *   between engines passes, random or shuffled vectors do not;
 * - sentiment (`text.sentiment`): the same label (positive, negative,
 *   neutral within a band) on enough of the chunks;
 * - text (`batch.chat`, `llm.map`, `llm.reduce`): as many answers, each pair
 *   similar in meaning — cosine of their sentence vectors (the embedded
 *   engine's) ≥ τ_text; exact text cannot be asked of a language model.
 * Similarity is not transitive (a canned answer can be close to one
 * phrasing of the right answer and far from another), so a majority is a
 * set of results that all agree pairwise — a clique — holding more than
 * half of them; when two such sets compete (they share members) the more
 * coherent one (the higher lowest pairwise similarity) wins only by a clear
 * margin, else the check is inconclusive: more replicas are asked for
 * before anyone is blamed, and an honest worker is never outvoted on
 * ambiguous evidence.
 */
import { COMPARE_DEFAULTS } from './constants.ts'

export type CompareMethod = 'exact' | 'embedding' | 'sentiment' | 'text'

export interface Replica {
  worker: string
  result: unknown
  /** sha256 of the result's canonical JSON. */
  hash: string
}

export interface Comparator {
  method: CompareMethod
  agree: (a: Replica, b: Replica) => Promise<boolean>
  /** How alike two results are (higher: more; the lowest item's cosine for vectors and texts), to choose between competing majorities. */
  similarity?: (a: Replica, b: Replica) => Promise<number>
}

/** A competing majority wins only when its lowest pairwise similarity beats the others' by this much. */
export const MAJORITY_MARGIN = 0.01

/** Sentence vectors for texts (the embedded engine's), for the text comparator. */
export type EmbedTexts = (texts: string[]) => Promise<number[][]>

export interface ComparatorInit {
  embedCosine?: number
  embedNormTolerance?: number
  textCosine?: number
  sentimentNeutral?: number
  sentimentAgreement?: number
}

const TEXT_TYPES: ReadonlySet<string> = new Set(['batch.chat', 'llm.map', 'llm.reduce'])

/** The comparator for a task type: exact for the deterministic ones, and for any type not listed here (deterministic until it says otherwise). */
export function comparatorFor (taskType: string, embed: EmbedTexts | undefined, init: ComparatorInit = {}): Comparator {
  if (taskType === 'text.embed') return embeddingComparator(init)
  if (taskType === 'text.sentiment') return sentimentComparator(init)
  if (TEXT_TYPES.has(taskType)) {
    if (embed === undefined) throw new RangeError(`comparing ${taskType} results needs sentence vectors`)
    return textComparator(embed, init)
  }
  return exactComparator
}

export const exactComparator: Comparator = {
  method: 'exact',
  agree: async (a, b) => a.hash === b.hash
}

export function embeddingComparator (init: ComparatorInit = {}): Comparator {
  const tau = init.embedCosine ?? COMPARE_DEFAULTS.embedCosine
  const tolerance = init.embedNormTolerance ?? COMPARE_DEFAULTS.embedNormTolerance
  /** The lowest cosine over the vector pairs and whether every pair's norms are within the tolerance; undefined when the shapes differ. */
  const compare = (a: Replica, b: Replica): { lowest: number, normsAgree: boolean } | undefined => {
    const va = vectorsOf(a.result)
    const vb = vectorsOf(b.result)
    if (va === undefined || vb === undefined || va.length !== vb.length) return undefined
    let lowest = 1
    let normsAgree = true
    for (let i = 0; i < va.length; i++) {
      const x = va[i] as number[]
      const y = vb[i] as number[]
      if (x.length !== y.length) return undefined
      const nx = norm(x)
      const ny = norm(y)
      if (Math.abs(nx - ny) > tolerance * Math.max(nx, ny)) normsAgree = false
      lowest = Math.min(lowest, cosine(x, y, nx, ny))
    }
    return { lowest, normsAgree }
  }
  return {
    method: 'embedding',
    agree: async (a, b) => {
      const c = compare(a, b)
      return c !== undefined && c.normsAgree && c.lowest >= tau
    },
    similarity: async (a, b) => compare(a, b)?.lowest ?? -1
  }
}

export function sentimentComparator (init: ComparatorInit = {}): Comparator {
  const band = init.sentimentNeutral ?? COMPARE_DEFAULTS.sentimentNeutral
  const share = init.sentimentAgreement ?? COMPARE_DEFAULTS.sentimentAgreement
  const label = (score: number): number => score > band ? 1 : score < -band ? -1 : 0
  return {
    method: 'sentiment',
    agree: async (a, b) => {
      const sa = scoresOf(a.result)
      const sb = scoresOf(b.result)
      if (sa === undefined || sb === undefined || sa.length !== sb.length) return false
      if (sa.length === 0) return true
      let same = 0
      for (let i = 0; i < sa.length; i++) if (label(sa[i] as number) === label(sb[i] as number)) same++
      return same / sa.length >= share
    }
  }
}

export function textComparator (embed: EmbedTexts, init: ComparatorInit = {}): Comparator {
  const tau = init.textCosine ?? COMPARE_DEFAULTS.textCosine
  /** The lowest cosine over the answer pairs (1 when every text is equal), or undefined when the results cannot be compared. */
  const lowest = async (a: Replica, b: Replica): Promise<number | undefined> => {
    const ta = textsOf(a.result)
    const tb = textsOf(b.result)
    if (ta === undefined || tb === undefined || ta.length !== tb.length) return undefined
    // equal texts need no vectors (and an empty text has none)
    const pairs = ta.flatMap((t, i) => t !== tb[i] ? [t, tb[i] as string] : [])
    if (pairs.length === 0) return 1
    const vectors = await embed(pairs)
    let low = 1
    for (let i = 0; i < pairs.length; i += 2) {
      const x = vectors[i]
      const y = vectors[i + 1]
      if (x === undefined || y === undefined || x.length !== y.length || x.length === 0) return undefined
      low = Math.min(low, cosine(x, y, norm(x), norm(y)))
    }
    return low
  }
  return {
    method: 'text',
    agree: async (a, b) => ((await lowest(a, b)) ?? -1) >= tau,
    similarity: async (a, b) => (await lowest(a, b)) ?? -1
  }
}

export interface Agreement {
  /** The majority first (when there is one), then the other results, each alone; or, inconclusive, the competing cliques. */
  groups: Replica[][]
  /** Results that all agree pairwise and are more than half of them; undefined: inconclusive. */
  majority: Replica[] | undefined
}

/** The majority of `replicas` (see the module comment); a single result is its own majority. */
export async function agreement (replicas: readonly Replica[], comparator: Comparator): Promise<Agreement> {
  const n = replicas.length
  const agrees: boolean[][] = replicas.map(() => new Array<boolean>(n).fill(false))
  for (let i = 0; i < n; i++) {
    agrees[i]![i] = true
    for (let j = i + 1; j < n; j++) {
      const same = await comparator.agree(replicas[i] as Replica, replicas[j] as Replica)
      agrees[i]![j] = same
      agrees[j]![i] = same
    }
  }
  const largest = maximumCliques(agrees).filter(c => c.length * 2 > n)
  const pick = largest.length <= 1 ? largest[0] : await mostCoherent(largest, replicas, comparator)
  if (pick === undefined) return { groups: largest.map(c => c.map(i => replicas[i] as Replica)), majority: undefined }
  const majority = pick.map(i => replicas[i] as Replica)
  const rest = replicas.filter((_, i) => !pick.includes(i)).map(r => [r])
  return { groups: [majority, ...rest], majority }
}

/** Of competing cliques (same size), the one whose lowest pairwise similarity beats every other's by MAJORITY_MARGIN; undefined when none does. */
async function mostCoherent (cliques: number[][], replicas: readonly Replica[], comparator: Comparator): Promise<number[] | undefined> {
  const similarity = comparator.similarity
  if (similarity === undefined) return undefined
  const scored: Array<{ clique: number[], score: number }> = []
  for (const clique of cliques) {
    let score = 1
    for (let x = 0; x < clique.length; x++) {
      for (let y = x + 1; y < clique.length; y++) score = Math.min(score, await similarity(replicas[clique[x] as number] as Replica, replicas[clique[y] as number] as Replica))
    }
    scored.push({ clique, score })
  }
  scored.sort((a, b) => b.score - a.score)
  const [best, second] = scored
  return best !== undefined && second !== undefined && best.score - second.score >= MAJORITY_MARGIN ? best.clique : undefined
}

/** The cliques of largest size in an agreement matrix (Bron–Kerbosch; a handful of replicas at most). */
function maximumCliques (agrees: boolean[][]): number[][] {
  const found: number[][] = []
  const extend = (clique: number[], candidates: number[], excluded: number[]): void => {
    if (candidates.length === 0 && excluded.length === 0) {
      found.push(clique)
      return
    }
    for (const v of [...candidates]) {
      const neighbours = (u: number): boolean => u !== v && agrees[v]?.[u] === true
      extend([...clique, v], candidates.filter(neighbours), excluded.filter(neighbours))
      candidates = candidates.filter(u => u !== v)
      excluded = [...excluded, v]
    }
  }
  extend([], agrees.map((_, i) => i), [])
  const size = Math.max(0, ...found.map(c => c.length))
  return found.filter(c => c.length === size).map(c => [...c].sort((a, b) => a - b))
}

function vectorsOf (result: unknown): number[][] | undefined {
  const vectors = (result as { vectors?: unknown } | null)?.vectors
  return Array.isArray(vectors) && vectors.every(v => Array.isArray(v) && v.every(n => typeof n === 'number' && Number.isFinite(n))) ? vectors as number[][] : undefined
}

function scoresOf (result: unknown): number[] | undefined {
  const chunks = (result as { chunks?: unknown } | null)?.chunks
  if (!Array.isArray(chunks)) return undefined
  const scores = chunks.map(c => (c as { score?: unknown } | null)?.score)
  return scores.every(s => typeof s === 'number' && Number.isFinite(s)) ? scores as number[] : undefined
}

/** The answers of a chat batch, the outputs of a map, or the one text of a reduce. */
function textsOf (result: unknown): string[] | undefined {
  const r = result as { answers?: unknown, outputs?: unknown, text?: unknown } | null
  if (r === null || typeof r !== 'object') return undefined
  if (typeof r.text === 'string') return [r.text]
  if (Array.isArray(r.outputs) && r.outputs.every(o => typeof o === 'string')) return r.outputs as string[]
  if (Array.isArray(r.answers)) {
    const texts = r.answers.map(a => (a as { text?: unknown } | null)?.text)
    return texts.every(t => typeof t === 'string') ? texts as string[] : undefined
  }
  return undefined
}

function norm (v: readonly number[]): number {
  let sum = 0
  for (const x of v) sum += x * x
  return Math.sqrt(sum)
}

/** Cosine of two vectors of the same length; two zero vectors are alike, one zero vector is like nothing. */
function cosine (x: readonly number[], y: readonly number[], nx: number, ny: number): number {
  if (nx === 0 || ny === 0) return nx === ny ? 1 : 0
  let dot = 0
  for (let i = 0; i < x.length; i++) dot += (x[i] as number) * (y[i] as number)
  return dot / (nx * ny)
}
