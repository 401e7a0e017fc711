/** The catalogue on disk (src/packages/repository.ts): put/get, versions, resolve, owners, providers, paging. */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import semver from 'semver'
import { generateIdentity, type NodeIdentity } from '../../../src/identity/index.ts'
import type { Manifest } from '../../../src/packages/manifest.ts'
import { signPackage } from '../../../src/packages/package-envelope.ts'
import { PackageRepository } from '../../../src/packages/repository.ts'
import { openStore, type Store } from '../../../src/store/index.ts'

const FILE_CID = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'

function manifestOf (publisher: string, name: string, version: string, over: Partial<Manifest> = {}): Manifest {
  return {
    v: 1, name, version, kind: 'prompt', description: `${name} ${version}`, license: 'MIT', tags: ['summarize', 'en'], created: 1_760_000_000_000,
    publisher, files: [{ path: 'a.txt', cid: FILE_CID, size: 10, sha256: 'b'.repeat(64), mediaType: 'text/plain' }], dependencies: {}, ...over
  }
}

describe('package repository', () => {
  let alice: NodeIdentity
  let store: Store
  let repo: PackageRepository

  async function put (name: string, version: string, over: Partial<Manifest> = {}): Promise<string> {
    const manifest = manifestOf(alice.peerIdString, name, version, over)
    const { envelope, cid, bytes } = await signPackage(alice, manifest)
    assert.equal(repo.put({ cid: cid.toString(), manifest, envelope, bytes }, 1000), true)
    return cid.toString()
  }

  before(async () => {
    alice = await generateIdentity()
    store = openStore(':memory:')
    repo = new PackageRepository(store.db.sqlite)
  })
  after(() => { store.close() })

  test('put then get gives back the manifest, envelope and bytes; a second put of the CID or name@version is refused', async () => {
    const manifest = manifestOf(alice.peerIdString, 'acme/one', '1.0.0')
    const { envelope, cid, bytes } = await signPackage(alice, manifest)
    assert.equal(repo.put({ cid: cid.toString(), manifest, envelope, bytes }, 42, [alice.peerIdString]), true)
    const stored = repo.get(cid.toString())
    assert.ok(stored !== undefined)
    assert.deepEqual(stored.manifest, manifest)
    assert.deepEqual(stored.envelope, envelope)
    assert.deepEqual(stored.bytes, bytes)
    assert.equal(stored.receivedAt, 42)
    assert.equal(repo.has(cid.toString()), true)
    assert.equal(repo.cidOf('acme/one', '1.0.0'), cid.toString())
    assert.deepEqual(repo.owners('acme/one'), [alice.peerIdString])
    assert.equal(repo.put({ cid: cid.toString(), manifest, envelope, bytes }, 43), false)
    const other = await signPackage(alice, { ...manifest, description: 'another' })
    assert.equal(repo.put({ cid: other.cid.toString(), manifest: { ...manifest, description: 'another' }, envelope: other.envelope, bytes: other.bytes }, 44), false)
    assert.equal(repo.get(other.cid.toString()), undefined)
    // the FTS index follows the table
    const hits = store.db.sqlite.prepare("SELECT rowid FROM packages_fts WHERE packages_fts MATCH 'one'").all()
    assert.equal(hits.length, 1)
  })

  test('versions newest first; resolve a name, an exact version, ranges and a CID', async () => {
    const cids = new Map<string, string>()
    for (const v of ['1.0.0', '1.2.0', '1.2.5', '1.10.0', '2.0.0-beta.1', '0.9.0']) cids.set(v, await put('acme/multi', v))
    assert.deepEqual(repo.versions('acme/multi').map(p => p.manifest.version), ['2.0.0-beta.1', '1.10.0', '1.2.5', '1.2.0', '1.0.0', '0.9.0'])
    assert.equal(repo.resolve('acme/multi')?.manifest.version, '1.10.0', 'the highest release, not the pre-release')
    assert.equal(repo.resolve('acme/multi@1.2.0')?.cid, cids.get('1.2.0'))
    assert.equal(repo.resolve('acme/multi@^1.2')?.manifest.version, '1.10.0')
    assert.equal(repo.resolve('acme/multi@~1.2')?.manifest.version, '1.2.5')
    assert.equal(repo.resolve('acme/multi@<1')?.manifest.version, '0.9.0')
    assert.equal(repo.resolve('acme/multi@2.0.0-beta.1')?.manifest.version, '2.0.0-beta.1')
    assert.equal(repo.resolve(cids.get('1.2.5') as string)?.manifest.version, '1.2.5')
    assert.equal(repo.resolve('acme/multi@3.0.0'), undefined)
    assert.equal(repo.resolve('acme/multi@^7'), undefined)
    assert.equal(repo.resolve('acme/multi@not a range!'), undefined)
    assert.equal(repo.resolve('acme/nothing'), undefined)
    assert.equal(repo.resolve('bafynotacid'), undefined)
  })

  test('a name with only pre-releases resolves to the highest of them', async () => {
    await put('acme/pre', '0.1.0-alpha.1')
    await put('acme/pre', '0.1.0-alpha.2')
    assert.equal(repo.resolve('acme/pre')?.manifest.version, '0.1.0-alpha.2')
  })

  test('owners are replaced as a set', () => {
    repo.setOwners('acme/rot', ['k1', 'k2'], 1)
    assert.deepEqual(repo.owners('acme/rot'), ['k1', 'k2'])
    repo.setOwners('acme/rot', ['k3'], 2)
    assert.deepEqual(repo.owners('acme/rot'), ['k3'])
    assert.deepEqual(repo.owners('acme/none'), [])
  })

  test('providers: add (idempotent), list most recent first, count, forget a peer', () => {
    repo.addProvider('cid-p', 'peer-a', 10)
    repo.addProvider('cid-p', 'peer-b', 20)
    repo.addProvider('cid-p', 'peer-a', 5)
    repo.addProvider('cid-q', 'peer-a', 30)
    assert.deepEqual(repo.providers('cid-p'), ['peer-b', 'peer-a'])
    assert.equal(repo.providerCount('cid-p'), 2)
    assert.equal(repo.forgetPeer('peer-a'), 2)
    assert.deepEqual(repo.providers('cid-p'), ['peer-b'])
    assert.equal(repo.providerCount('cid-q'), 0)
  })

  test('cidsAfter pages every CID once, in order; allCids and count agree', () => {
    const all = repo.allCids().sort()
    assert.equal(all.length, repo.count())
    const paged: string[] = []
    for (let after = ''; ;) {
      const page = repo.cidsAfter(after, 3)
      if (page.length === 0) break
      paged.push(...page)
      after = page[page.length - 1] as string
    }
    assert.deepEqual(paged, all)
  })

  test('resolve(name@range) is always the highest version satisfying the range', async () => {
    const store2 = openStore(':memory:')
    const repo2 = new PackageRepository(store2.db.sqlite)
    try {
      const version = fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3)).map(([a, b, c]) => `${a}.${b}.${c}`)
      const range = fc.oneof(
        version.map(v => `^${v}`), version.map(v => `~${v}`), version.map(v => `>=${v}`), version.map(v => `<${v}`),
        fc.tuple(fc.nat(3), fc.nat(3)).map(([a, b]) => `${a}.${b}.x`), fc.constant('*')
      )
      let n = 0
      await fc.assert(fc.asyncProperty(fc.uniqueArray(version, { minLength: 1, maxLength: 8 }), range, async (versions, wanted) => {
        const name = `acme/p${n++}`
        for (const v of versions) {
          const manifest = manifestOf(alice.peerIdString, name, v)
          const { envelope, cid, bytes } = await signPackage(alice, manifest)
          repo2.put({ cid: cid.toString(), manifest, envelope, bytes }, 1)
        }
        assert.equal(repo2.resolve(`${name}@${wanted}`)?.manifest.version ?? null, semver.maxSatisfying(versions, wanted))
      }), { numRuns: 60 })
    } finally {
      store2.close()
    }
  })
})
