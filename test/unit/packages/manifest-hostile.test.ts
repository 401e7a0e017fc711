/**
 * Manifests a hostile publisher could sign: refused when the PACKAGE
 * envelope is opened (E1406), not half-way through an install — file roots
 * that are not sha2-256 dag-pb/raw, a `previous` that is no manifest CID,
 * two files at one path, a file that is also another file's folder. And
 * resolving a name with many versions decodes only the chosen manifest.
 */
import { test, describe, before } from 'node:test'
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { identity } from 'multiformats/hashes/identity'
import { sha256, sha512 } from 'multiformats/hashes/sha2'
import { generateIdentity, type NodeIdentity } from '../../../src/identity/index.ts'
import type { Manifest, ManifestFile } from '../../../src/packages/manifest.ts'
import { openPackage, signPackage } from '../../../src/packages/package-envelope.ts'
import { PackageRepository } from '../../../src/packages/repository.ts'
import { openStore } from '../../../src/store/index.ts'
import { isCode } from '../../harness/checks.ts'

const LIMITS = { maxManifestBytes: 256 * 1024 }
const FILE_CID = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'

function file (path: string, cid = FILE_CID): ManifestFile {
  return { path, cid, size: 5, sha256: 'a'.repeat(64), mediaType: 'text/plain' }
}

function manifestOf (publisher: string, over: Partial<Manifest> = {}): Manifest {
  return {
    v: 1, name: 'evil/pkg', version: '1.0.0', kind: 'other', description: '', license: '', tags: [], created: 1_760_000_000_000,
    publisher, files: [file('a.txt')], dependencies: {}, ...over
  }
}

describe('hostile manifests are refused when opened', () => {
  let mallory: NodeIdentity
  before(async () => { mallory = await generateIdentity() })

  // signPackage encodes without the schema check, as a hostile client would
  const opens = async (over: Partial<Manifest>): Promise<unknown> =>
    await openPackage(JSON.parse(JSON.stringify((await signPackage(mallory, manifestOf(mallory.peerIdString, over))).envelope)), LIMITS)

  test('a well-formed manifest opens (the baseline the refusals differ from)', async () => {
    await opens({ files: [file('a.txt'), file('dir/b.txt')] })
  })

  test('a file root that is not sha2-256, or not dag-pb or raw, is refused (E1406)', async () => {
    const bytes = new TextEncoder().encode('hello')
    const identityCid = CID.createV1(raw.code, identity.digest(bytes)).toString()
    const sha512Cid = CID.createV1(raw.code, await sha512.digest(bytes)).toString()
    const cborCid = CID.createV1(dagCbor.code, await sha256.digest(bytes)).toString()
    for (const cid of [identityCid, sha512Cid, cborCid]) {
      await assert.rejects(opens({ files: [file('a.txt', cid)] }), isCode('E1406'), cid)
    }
  })

  test('a previous that is not a dag-cbor sha2-256 manifest CID is refused (E1406)', async () => {
    await assert.rejects(opens({ previous: FILE_CID }), isCode('E1406'))
  })

  test('two files at one path, or a file that is another\'s folder, are refused (E1406)', async () => {
    await assert.rejects(opens({ files: [file('a.txt'), file('a.txt')] }), isCode('E1406'))
    await assert.rejects(opens({ files: [file('lib'), file('lib/x/y.txt')] }), isCode('E1406'))
  })
})

test('resolving one version of a name decodes that manifest only, not every version', async () => {
  const alice = await generateIdentity()
  const store = openStore(':memory:')
  try {
    const repo = new PackageRepository(store.db.sqlite)
    const cids: string[] = []
    for (const version of ['1.0.0', '1.1.0', '2.0.0']) {
      const signed = await signPackage(alice, manifestOf(alice.peerIdString, { name: 'acme/many', version }))
      const manifest = manifestOf(alice.peerIdString, { name: 'acme/many', version })
      repo.put({ cid: signed.cid.toString(), manifest, envelope: signed.envelope, bytes: signed.bytes }, 1)
      cids.push(signed.cid.toString())
    }
    // a damaged row of another version: decoding it would throw
    store.db.sqlite.prepare('UPDATE packages SET manifest = ? WHERE cid = ?').run(new Uint8Array([0xff, 0x00]), cids[2] as string)
    assert.equal(repo.resolve('acme/many@1.1.0')?.cid, cids[1])
    assert.equal(repo.resolve('acme/many@^1.0')?.cid, cids[1])
    assert.deepEqual(repo.versionCids('acme/many').map(v => v.version), ['2.0.0', '1.1.0', '1.0.0'])
  } finally {
    store.close()
  }
})
