/**
 * The local package index: full-text search over `packages_fts` (FTS5,
 * unicode61: names split on / - .) joined with `packages`, ranked by one
 * formula (search-constants.ts SCORE_WEIGHTS) of text relevance (bm25),
 * the publisher's reputation and the number of providers.
 *
 * User text never reaches FTS5 as syntax: it is cut into words (letters
 * and digits), each quoted as a phrase, the last one a prefix — so
 * `summ` finds `summarize` and `"`, `*`, `NEAR`, `OR`, `:` are just text.
 */
import semver from 'semver'
import { z } from 'zod'
import { AgoraError } from '../errors.ts'
import { PACKAGE_KINDS, type PackageKind } from './manifest.ts'
import { BM25_WEIGHTS, PROVIDERS_HALF, SCORE_WEIGHTS, SEARCH_LIMITS } from './search-constants.ts'
import type { PackageSummary } from './types.ts'
import type { DatabaseSync, StatementSync } from 'node:sqlite'

/** What the index is asked: the shared SearchQuery's local part. */
export const indexQuerySchema = z.object({
  text: z.string().max(SEARCH_LIMITS.textChars, `at most ${SEARCH_LIMITS.textChars} characters`),
  kind: z.enum(PACKAGE_KINDS).optional(),
  limit: z.number().int().min(1).max(SEARCH_LIMITS.maxLimit).optional(),
  /** Every matching version, not only the newest of each name. */
  allVersions: z.boolean().optional()
})

export type IndexQuery = z.infer<typeof indexQuerySchema>

export interface IndexHit extends PackageSummary {
  score: number
  /** This node holds the package's blocks (installed, or a provider row of its own). */
  held: boolean
}

export interface SearchIndexComponents {
  /** The node's store (`store.db.sqlite`), migration 022 applied. */
  db: DatabaseSync
  /** The publisher's reputation as this node sees it, 0..1 (PeerBook.reputation). */
  reputation: (peerId: string) => number
}

export interface SearchIndexInit {
  /** This node's peer id: a provider row of its own means "held here", and is counted once. */
  self: string
}

/** Letters, digits and private-use characters: what unicode61 keeps as token characters. */
const WORD = /[\p{L}\p{N}\p{Co}]+/gu

/**
 * Free text → a safe FTS5 MATCH expression: every word a quoted phrase
 * (implicit AND), the last one a prefix. Undefined when the text has no
 * word (list everything). E1420 past the length or word bounds.
 */
export function ftsQuery (text: string): string | undefined {
  if (text.length > SEARCH_LIMITS.textChars) {
    throw new AgoraError('E1420', 'search text too long', { why: `${text.length} characters, at most ${SEARCH_LIMITS.textChars}` })
  }
  const words = text.match(WORD) ?? []
  if (words.length > SEARCH_LIMITS.terms) {
    throw new AgoraError('E1420', 'too many words in the search text', { why: `${words.length} words, at most ${SEARCH_LIMITS.terms}` })
  }
  if (words.length === 0) return undefined
  // a word holds no `"` (not a letter or digit), so quoting it is enough
  return words.map((word, i) => i === words.length - 1 ? `"${word}"*` : `"${word}"`).join(' ')
}

/** Check a query from a user or a peer: E1420 with the first problem. */
export function parseIndexQuery (query: unknown): IndexQuery {
  const parsed = indexQuerySchema.safeParse(query)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  const where = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.map(String).join('.')}: `
  throw new AgoraError('E1420', 'invalid search query', { why: `${where}${issue?.message ?? 'invalid'}` })
}

/** The share of the providers weight `count` providers earn (0 → 0, 2 → ½, → 1). */
export function providersTerm (count: number): number {
  return count / (count + PROVIDERS_HALF)
}

/** One formula for every result, local or learned from peers. */
export function scoreOf (relevance: number, reputation: number, providers: number): number {
  return SCORE_WEIGHTS.relevance * relevance + SCORE_WEIGHTS.reputation * reputation + SCORE_WEIGHTS.providers * providersTerm(providers)
}

interface Row {
  cid: string
  name: string
  version: string
  kind: string
  description: string
  tags: string
  license: string
  publisher: string
  size: number
  created: number
  bm25: number
  others: number
  held: number
}

const COLUMNS = 'p.cid, p.name, p.version, p.kind, p.description, p.tags, p.license, p.publisher, p.size, p.created'
const WEIGHTS = `${BM25_WEIGHTS.name}, ${BM25_WEIGHTS.description}, ${BM25_WEIGHTS.tags}, ${BM25_WEIGHTS.kind}`
// provider counts only for the few candidates: the CTE's LIMIT keeps it from being flattened into the scan
const PROVIDERS = `
  (SELECT count(*) FROM package_providers pp WHERE pp.cid = p.cid AND pp.peer <> :self) AS others,
  (EXISTS (SELECT 1 FROM package_installs i WHERE i.cid = p.cid AND i.state = 'installed')
    OR EXISTS (SELECT 1 FROM package_providers pp WHERE pp.cid = p.cid AND pp.peer = :self)) AS held`
const TEXT_SQL = `
  WITH hits AS (
    SELECT p.rowid AS rid, bm25(packages_fts, ${WEIGHTS}) AS bm25
    FROM packages_fts JOIN packages p ON p.rowid = packages_fts.rowid
    WHERE packages_fts MATCH :match AND (:kind IS NULL OR p.kind = :kind)
    ORDER BY bm25 LIMIT :candidates
  )
  SELECT ${COLUMNS}, hits.bm25 AS bm25, ${PROVIDERS}
  FROM hits JOIN packages p ON p.rowid = hits.rid`
const BROWSE_SQL = `
  WITH hits AS (
    SELECT p.rowid AS rid FROM packages p
    WHERE (:kind IS NULL OR p.kind = :kind)
    ORDER BY p.created DESC LIMIT :candidates
  )
  SELECT ${COLUMNS}, 0 AS bm25, ${PROVIDERS}
  FROM hits JOIN packages p ON p.rowid = hits.rid`

export class SearchIndex {
  private readonly reputation: (peerId: string) => number
  private readonly self: string
  private readonly s: Record<'text' | 'browse' | 'envelope', StatementSync>

  constructor (components: SearchIndexComponents, init: SearchIndexInit) {
    this.reputation = components.reputation
    this.self = init.self
    const db = components.db
    this.s = { text: db.prepare(TEXT_SQL), browse: db.prepare(BROWSE_SQL), envelope: db.prepare('SELECT envelope FROM packages WHERE cid = ?') }
  }

  /** Ranked hits, best first (E1420 for a bad query). */
  search (query: IndexQuery): IndexHit[] {
    const checked = parseIndexQuery(query)
    const match = ftsQuery(checked.text)
    const limit = checked.limit ?? SEARCH_LIMITS.defaultLimit
    const params = { kind: checked.kind ?? null, candidates: SEARCH_LIMITS.candidates, self: this.self }
    const rows = (match === undefined ? this.s.browse.all(params) : this.s.text.all({ ...params, match })) as unknown as Row[]
    const kept = checked.allVersions === true ? rows : newestPerName(rows)
    return this.rank(kept).slice(0, limit)
  }

  /** The stored PACKAGE envelope (JSON text, as received) of each CID known here. */
  envelopes (cids: readonly string[]): Map<string, string> {
    const out = new Map<string, string>()
    for (const cid of cids) {
      const row = this.s.envelope.get(cid) as { envelope: string } | undefined
      if (row !== undefined) out.set(cid, row.envelope)
    }
    return out
  }

  private rank (rows: Row[]): IndexHit[] {
    // bm25 is negative, lower is better: relevance is each row's share of the best
    const best = rows.reduce((min, row) => Math.min(min, row.bm25), 0)
    const reputations = new Map<string, number>()
    const hits = rows.map(row => {
      let reputation = reputations.get(row.publisher)
      if (reputation === undefined) {
        reputation = this.reputation(row.publisher)
        reputations.set(row.publisher, reputation)
      }
      const held = row.held === 1
      const providers = row.others + (held ? 1 : 0)
      const relevance = best < 0 ? row.bm25 / best : 1
      return { ...summaryOf(row, providers, reputation), held, score: scoreOf(relevance, reputation, providers) }
    })
    return hits.sort((a, b) => b.score - a.score || b.providers - a.providers || b.created - a.created || (a.cid < b.cid ? -1 : 1))
  }
}

/** The highest semver of each name among `rows`. */
function newestPerName (rows: Row[]): Row[] {
  const newest = new Map<string, Row>()
  for (const row of rows) {
    const held = newest.get(row.name)
    if (held === undefined || semver.gt(row.version, held.version)) newest.set(row.name, row)
  }
  return [...newest.values()]
}

function summaryOf (row: Row, providers: number, publisherReputation: number): PackageSummary {
  return {
    cid: row.cid,
    name: row.name,
    version: row.version,
    kind: row.kind as PackageKind,
    description: row.description,
    tags: tagsOf(row.tags),
    license: row.license,
    publisher: row.publisher,
    size: row.size,
    created: row.created,
    providers,
    publisherReputation
  }
}

/** The tags column: a JSON array, or words (what FTS5 indexes either way). */
function tagsOf (text: string): string[] {
  if (text.startsWith('[')) {
    try {
      const value: unknown = JSON.parse(text)
      if (Array.isArray(value)) return value.filter((tag): tag is string => typeof tag === 'string')
    } catch { /* words, then */ }
  }
  return text.split(/\s+/).filter(tag => tag !== '')
}
