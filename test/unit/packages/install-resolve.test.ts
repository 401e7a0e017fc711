/**
 * Resolving an install: specs through the catalogue, dependencies first,
 * and each refusal with its own code — unknown, cycle, unresolvable
 * dependency, too big, publisher under the reputation bar, a stored
 * envelope that no longer verifies.
 */
import { test, describe, before } from 'node:test'
import assert from 'node:assert/strict'
import { generateIdentity, type NodeIdentity } from '../../../src/identity/index.ts'
import { resolvePlan, type ResolveComponents } from '../../../src/packages/install/resolve.ts'
import type { Manifest } from '../../../src/packages/manifest.ts'
import { signPackage } from '../../../src/packages/package-envelope.ts'
import { PackageRepository } from '../../../src/packages/repository.ts'
import { Database } from '../../../src/store/index.ts'
import { isAgoraError } from '../../../src/errors.ts'

const FILE_CID = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'
const LIMITS = { minPublisherReputation: 0.5, maxPackageBytes: 1000, maxManifestBytes: 64 * 1024 }

async function rejectsCode (promise: Promise<unknown>, code: string): Promise<Error & { why?: string }> {
  try { await promise } catch (err) {
    assert.ok(isAgoraError(err), String(err))
    assert.equal(err.code, code, err.message)
    return err
  }
  assert.fail(`expected ${code}`)
}

describe('install: resolve', () => {
  let alice: NodeIdentity
  let mallory: NodeIdentity
  let repo: PackageRepository
  const reputations = new Map<string, number>()
  let c: ResolveComponents

  async function put (signer: NodeIdentity, over: Partial<Manifest> & Pick<Manifest, 'name' | 'version'>, size = 10): Promise<string> {
    const manifest: Manifest = {
      v: 1, kind: 'prompt', description: '', license: '', tags: [], created: 1, publisher: signer.peerIdString,
      files: [{ path: 'f.txt', cid: FILE_CID, size, sha256: 'a'.repeat(64), mediaType: 'text/plain' }],
      dependencies: {},
      ...over
    }
    const { envelope, cid, bytes } = await signPackage(signer, manifest)
    repo.put({ cid: cid.toString(), manifest, envelope, bytes }, Date.now())
    return cid.toString()
  }

  before(async () => {
    alice = await generateIdentity()
    mallory = await generateIdentity()
    repo = new PackageRepository(new Database({ path: ':memory:' }).sqlite)
    c = { packages: repo, reputation: peer => reputations.get(peer) ?? 0.5, self: 'me' }
    await put(alice, { name: 'acme/base', version: '1.0.0' })
    await put(alice, { name: 'acme/base', version: '1.4.2' })
    await put(alice, { name: 'acme/base', version: '2.0.0' })
    await put(alice, { name: 'acme/tool', version: '1.0.0', dependencies: { 'acme/base': '^1.2' } })
    await put(alice, { name: 'acme/app', version: '1.0.0', dependencies: { 'acme/tool': '1.x', 'acme/base': '>=1' } })
    await put(alice, { name: 'acme/loop-a', version: '1.0.0', dependencies: { 'acme/loop-b': '*' } })
    await put(alice, { name: 'acme/loop-b', version: '1.0.0', dependencies: { 'acme/loop-a': '*' } })
    await put(alice, { name: 'acme/broken', version: '1.0.0', dependencies: { 'acme/missing': '^1' } })
    await put(alice, { name: 'acme/huge', version: '1.0.0' }, 2000)
    await put(mallory, { name: 'shady/thing', version: '0.0.1' })
  })

  test('a range resolves to the highest satisfying version; a CID to itself', async () => {
    const [only] = await resolvePlan(c, LIMITS, 'acme/base@^1')
    assert.equal(only?.manifest.version, '1.4.2')
    const cid = only?.cid ?? ''
    assert.equal((await resolvePlan(c, LIMITS, cid))[0]?.cid, cid)
  })

  test('dependencies come first (in name order, as DAG-CBOR keeps them), each once', async () => {
    const plan = await resolvePlan(c, LIMITS, 'acme/app')
    assert.deepEqual(plan.map(p => `${p.manifest.name}@${p.manifest.version}`), ['acme/base@2.0.0', 'acme/base@1.4.2', 'acme/tool@1.0.0', 'acme/app@1.0.0'])
  })

  test('refusals: unknown E1440, cycle E1444, unresolvable dependency E1445, too big E1443', async () => {
    await rejectsCode(resolvePlan(c, LIMITS, 'acme/nothing'), 'E1440')
    await rejectsCode(resolvePlan(c, LIMITS, 'acme/base@^9'), 'E1440')
    const cycle = await rejectsCode(resolvePlan(c, LIMITS, 'acme/loop-a'), 'E1444')
    assert.match(cycle.why ?? '', /acme\/loop-a → acme\/loop-b → acme\/loop-a/)
    await rejectsCode(resolvePlan(c, LIMITS, 'acme/broken'), 'E1445')
    await rejectsCode(resolvePlan(c, LIMITS, 'acme/huge'), 'E1443')
  })

  test('a publisher under the bar: E1442 naming its reputation, the bar and --trust-publisher; trusted, or our own, it resolves', async () => {
    reputations.set(mallory.peerIdString, 0.31)
    const err = await rejectsCode(resolvePlan(c, LIMITS, 'shady/thing'), 'E1442')
    assert.match(err.why ?? '', /0\.31.*0\.5.*--trust-publisher/)
    assert.equal((await resolvePlan(c, LIMITS, 'shady/thing', { trustPublisher: true })).length, 1)
    assert.equal((await resolvePlan({ ...c, self: mallory.peerIdString }, LIMITS, 'shady/thing')).length, 1)
    reputations.set(mallory.peerIdString, 0.5)
    assert.equal((await resolvePlan(c, LIMITS, 'shady/thing')).length, 1, 'at the bar is enough')
  })

  test('a stored envelope whose signature no longer verifies is refused (the catalogue row was altered)', async () => {
    const stored = repo.resolve('acme/base@1.0.0')
    assert.ok(stored !== undefined)
    const altered = { ...stored, envelope: { ...stored.envelope, ts: stored.envelope.ts + 1 } }
    const lookup = { ...c, packages: { get: () => altered, resolve: () => altered, providers: () => [] } }
    await rejectsCode(resolvePlan(lookup, LIMITS, 'acme/base@1.0.0'), 'E1402')
  })
})
