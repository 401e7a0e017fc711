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
 * Replicas are grouped by agreement; a strict majority decides, anything
 * less is inconclusive (more replicas are asked for before anyone is blamed).
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
}

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
  return {
    method: 'embedding',
    agree: async (a, b) => {
      const va = vectorsOf(a.result)
      const vb = vectorsOf(b.result)
      if (va === undefined || vb === undefined || va.length !== vb.length) return false
      for (let i = 0; i < va.length; i++) {
        const x = va[i] as number[]
        const y = vb[i] as number[]
        if (x.length !== y.length) return false
        const nx = norm(x)
        const ny = norm(y)
        if (Math.abs(nx - ny) > tolerance * Math.max(nx, ny)) return false
        if (cosine(x, y, nx, ny) < tau) return false
      }
      return true
    }
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
  return {
    method: 'text',
    agree: async (a, b) => {
      const ta = textsOf(a.result)
      const tb = textsOf(b.result)
      if (ta === undefined || tb === undefined || ta.length !== tb.length) return false
      // equal texts need no vectors (and an empty text has none)
      const differ = ta.map((t, i) => t !== tb[i])
      const pairs = ta.flatMap((t, i) => differ[i] === true ? [t, tb[i] as string] : [])
      if (pairs.length === 0) return true
      const vectors = await embed(pairs)
      for (let i = 0; i < pairs.length; i += 2) {
        const x = vectors[i]
        const y = vectors[i + 1]
        if (x === undefined || y === undefined || x.length !== y.length || x.length === 0) return false
        if (cosine(x, y, norm(x), norm(y)) < tau) return false
      }
      return true
    }
  }
}

export interface Agreement {
  /** Replicas grouped by agreement with each group's first member, largest group first. */
  groups: Replica[][]
  /** The group holding a strict majority of the replicas; undefined: inconclusive. */
  majority: Replica[] | undefined
}

/** Group `replicas` by agreement; a group of more than half of them decides. */
export async function agreement (replicas: readonly Replica[], comparator: Comparator): Promise<Agreement> {
  const groups: Replica[][] = []
  for (const replica of replicas) {
    let placed = false
    for (const group of groups) {
      if (await comparator.agree(group[0] as Replica, replica)) {
        group.push(replica)
        placed = true
        break
      }
    }
    if (!placed) groups.push([replica])
  }
  groups.sort((x, y) => y.length - x.length)
  const top = groups[0]
  return { groups, majority: top !== undefined && top.length * 2 > replicas.length ? top : undefined }
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
