/** The local package index: safe FTS5 queries, ranking, kind filter, newest version only. */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { isAgoraError } from '../../../src/errors.ts'
import { generateIdentity, type NodeIdentity } from '../../../src/identity/index.ts'
import { PackageRepository } from '../../../src/packages/repository.ts'
import { ftsQuery, SearchIndex, scoreOf } from '../../../src/packages/search-index.ts'
import { openStore, type Store } from '../../../src/store/index.ts'
import { isCode, thrown } from '../../harness/checks.ts'
import { storeSigned } from '../../harness/search-catalog.ts'

describe('ftsQuery: user text to a safe FTS5 expression', () => {
  test('every word a quoted phrase, the last a prefix; names split on / - .', () => {
    assert.equal(ftsQuery('summarize'), '"summarize"*')
    assert.equal(ftsQuery('acme/summarize-prompts.v2'), '"acme" "summarize" "prompts" "v2"*')
    assert.equal(ftsQuery('  Über   café '), '"Über" "café"*')
  })

  test('FTS5 syntax in the text is only text', () => {
    assert.equal(ftsQuery('a OR b NOT c'), '"a" "OR" "b" "NOT" "c"*')
    assert.equal(ftsQuery('NEAR(x y, 3) name:foo "quoted" ^start *'), '"NEAR" "x" "y" "3" "name" "foo" "quoted" "start"*')
    assert.equal(ftsQuery('"); DROP TABLE packages; --'), '"DROP" "TABLE" "packages"*')
  })

  test('no words: undefined (list everything)', () => {
    assert.equal(ftsQuery(''), undefined)
    assert.equal(ftsQuery(' -/.*"() '), undefined)
  })

  test('too long or too many words: E1420', () => {
    assert.throws(() => ftsQuery('x'.repeat(257)), isCode('E1420'))
    assert.throws(() => ftsQuery(Array.from({ length: 17 }, (_, i) => `w${i}`).join(' ')), isCode('E1420'))
    assert.equal(ftsQuery(Array.from({ length: 16 }, (_, i) => `w${i}`).join(' '))?.split(' ').length, 16)
  })
})

describe('SearchIndex over a real store', () => {
  let store: Store
  let repo: PackageRepository
  let alice: NodeIdentity
  let bob: NodeIdentity
  let self: NodeIdentity
  const reputations = new Map<string, number>()
  let index: SearchIndex

  before(async () => {
    ;[alice, bob, self] = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity()])
    store = openStore(':memory:')
    repo = new PackageRepository(store.db.sqlite)
    index = new SearchIndex({ db: store.db.sqlite, reputation: peer => reputations.get(peer) ?? 0.5 }, { self: self.peerIdString })
    await storeSigned(repo, alice, { name: 'alice/summarize-prompts', version: '1.2.0', description: 'Summarise a text in three lines', tags: ['summarize', 'en'] })
    await storeSigned(repo, alice, { name: 'alice/summarize-prompts', version: '1.10.0', description: 'Summarise a text in three lines', tags: ['summarize', 'en'] })
    await storeSigned(repo, alice, { name: 'alice/summarize-prompts', version: '1.9.0', description: 'Summarise a text in three lines', tags: ['summarize', 'en'] })
    await storeSigned(repo, alice, { name: 'alice/llama-3b-q4', version: '1.0.0', kind: 'model', description: 'Llama 3B, 4-bit, good at summarize tasks', tags: ['gguf', 'llama'] })
    await storeSigned(repo, bob, { name: 'bob/translate-de', version: '0.3.0', kind: 'prompt', description: 'German translation prompts', tags: ['translate', 'de'] })
  })

  after(() => { store.close() })

  test('a word finds packages by name, description or tags; a prefix of the last word is enough', () => {
    assert.deepEqual(index.search({ text: 'translate' }).map(h => h.name), ['bob/translate-de'])
    assert.deepEqual(index.search({ text: 'German' }).map(h => h.name), ['bob/translate-de'])
    assert.deepEqual(index.search({ text: 'transl' }).map(h => h.name), ['bob/translate-de'])
    assert.deepEqual(index.search({ text: 'bob de' }).map(h => h.name), ['bob/translate-de'])
    assert.deepEqual(index.search({ text: 'nothing-matches-this' }), [])
  })

  test('only the newest version of each name (semver, not text order), unless allVersions', () => {
    const hits = index.search({ text: 'summarize prompts' })
    assert.deepEqual(hits.map(h => `${h.name}@${h.version}`), ['alice/summarize-prompts@1.10.0'])
    const all = index.search({ text: 'summarize prompts', allVersions: true })
    assert.deepEqual(all.map(h => h.version).sort(), ['1.10.0', '1.2.0', '1.9.0'])
  })

  test('kind filter', () => {
    assert.deepEqual(index.search({ text: 'summarize', kind: 'model' }).map(h => h.name), ['alice/llama-3b-q4'])
    assert.deepEqual(index.search({ text: 'summarize', kind: 'prompt' }).map(h => h.name), ['alice/summarize-prompts'])
    assert.deepEqual(index.search({ text: '', kind: 'dataset' }), [])
  })

  test('no text lists everything (newest versions), with the limit', () => {
    assert.equal(index.search({ text: '' }).length, 3)
    assert.equal(index.search({ text: '', limit: 2 }).length, 2)
  })

  test('summaries carry size, tags, providers and the publisher reputation', () => {
    const [hit] = index.search({ text: 'translate' })
    assert.ok(hit !== undefined)
    assert.equal(hit.size, 5)
    assert.deepEqual(hit.tags, ['translate', 'de'])
    assert.equal(hit.publisher, bob.peerIdString)
    assert.equal(hit.publisherReputation, 0.5)
    assert.equal(hit.providers, 0)
    assert.equal(hit.held, false)
  })

  test('a name match ranks above a description-only match', () => {
    // alice/summarize-prompts has "summarize" in name and tags; the model only in its description
    assert.deepEqual(index.search({ text: 'summarize' }).map(h => h.name), ['alice/summarize-prompts', 'alice/llama-3b-q4'])
  })

  test('publisher reputation and providers move a result up, by the one formula', async () => {
    const carol = await generateIdentity()
    const dave = await generateIdentity()
    const a = await storeSigned(repo, carol, { name: 'carol/ocr-pack', description: 'ocr pack', tags: [] })
    const b = await storeSigned(repo, dave, { name: 'dave/ocr-pack', description: 'ocr pack', tags: [] })
    // same text: equal relevance; the stranger's tie breaks by cid
    const tie = index.search({ text: 'ocr pack' })
    assert.equal(tie.length, 2)
    assert.equal(tie[0]?.score, tie[1]?.score)
    reputations.set(dave.peerIdString, 0.9)
    assert.deepEqual(index.search({ text: 'ocr pack' }).map(h => h.cid), [b.cid, a.cid])
    // providers: 0.15 × 2/(2+2) = +0.075 for carol; reputation: 0.25 × (0.9 − 0.5) = +0.1 for dave
    repo.addProvider(a.cid, 'peer-1', Date.now())
    repo.addProvider(a.cid, 'peer-2', Date.now())
    const ranked = index.search({ text: 'ocr pack' })
    assert.deepEqual(ranked.map(h => h.cid), [b.cid, a.cid], 'reputation 0.9 vs 0.5 (+0.1) beats 2 providers (+0.075)')
    assert.equal(ranked[1]?.providers, 2)
    assert.equal(ranked[1]?.score, scoreOf(1, 0.5, 2))
    reputations.set(dave.peerIdString, 0.6)
    assert.deepEqual(index.search({ text: 'ocr pack' }).map(h => h.cid), [a.cid, b.cid], 'now 2 providers (+0.075) beat +0.025 of reputation')
  })

  test('this node holding a package counts once as a provider', async () => {
    const { cid } = await storeSigned(repo, bob, { name: 'bob/held-here', description: 'held here', tags: [] })
    repo.addProvider(cid, self.peerIdString, Date.now())
    let [hit] = index.search({ text: 'held here' })
    assert.equal(hit?.held, true)
    assert.equal(hit?.providers, 1)
    store.db.sqlite.prepare("INSERT INTO package_installs (cid, name, version, dir, size, state, installed_at, used_at) VALUES (?, 'bob/held-here', '1.0.0', '/x', 5, 'installed', 1, 1)").run(cid)
    ;[hit] = index.search({ text: 'held here' })
    assert.equal(hit?.providers, 1)
  })

  test('bad queries: E1420, before any SQL', () => {
    for (const query of [{ text: 'x', limit: 0 }, { text: 'x', limit: 101 }, { text: 'x', kind: 'virus' }, { text: 7 }, { text: 'x'.repeat(300) }]) {
      assert.equal(thrown(() => index.search(query as never)).code, 'E1420', JSON.stringify(query).slice(0, 60))
    }
  })

  test('property: any text gives results or a clean E1420, never an SQLite error', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.constantFrom(undefined, 'prompt', 'model'), (text, kind) => {
      try {
        const hits = index.search({ text, ...(kind === undefined ? {} : { kind }) })
        return Array.isArray(hits)
      } catch (err) {
        return isAgoraError(err, 'E1420')
      }
    }), { numRuns: 1000 })
    // and FTS5 operators around real words still find them
    fc.assert(fc.property(fc.constantFrom('"', '*', '(', ')', ':', '^', '-', '+', 'AND', 'OR', 'NOT', 'NEAR', '{', '}'), op => {
      return index.search({ text: `${op}translate${op}` }).some(h => h.name === 'bob/translate-de') || op === 'AND' || op === 'OR' || op === 'NOT' || op === 'NEAR'
    }))
  })
})
