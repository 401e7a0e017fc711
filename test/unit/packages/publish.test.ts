/**
 * Publish: request validation (E1435 naming the field), the manifest it
 * builds (publisher, previous, files), pins, and immutability — the same
 * content again answers the same CID, other content is refused (E1411) —
 * through the real catalogue and repository on a real SQLite store, blocks
 * in a real FsBlockstore.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { FsBlockstore } from 'blockstore-fs'
import toBuffer from 'it-to-buffer'
import { CID } from 'multiformats/cid'
import { generateIdentity, type NodeIdentity } from '../../../src/identity/index.ts'
import { AgoraEvents } from '../../../src/events.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { openStore, type Store } from '../../../src/store/index.ts'
import { PackageCatalog } from '../../../src/packages/catalog.ts'
import { decodeManifest } from '../../../src/packages/manifest.ts'
import { PackageRepository } from '../../../src/packages/repository.ts'
import { parsePublishInit, publish, type PublishComponents } from '../../../src/packages/publish.ts'
import type { PublishInit, TransferProgress } from '../../../src/packages/types.ts'
import { isCode } from '../../harness/checks.ts'
import { tempDir } from '../../harness/temp.ts'

const LIMITS = { maxFiles: 100, maxPackageBytes: 16 * 1024 * 1024 }

describe('publish', () => {
  let dir: string
  let store: Store
  let blocks: FsBlockstore
  let identity: NodeIdentity
  let repository: PackageRepository
  let components: PublishComponents
  const pinned = new Set<string>()
  const provided: string[] = []
  const announced: unknown[] = []

  before(async () => {
    dir = tempDir('agora-publish-')
    store = openStore(join(dir, 'agora.db'))
    blocks = new FsBlockstore(join(dir, 'blocks'))
    await blocks.open()
    identity = await generateIdentity()
    repository = new PackageRepository(store.db.sqlite)
    const catalog = new PackageCatalog({
      repository,
      // a node alone: gossip reaches nobody, sync is never started in this test
      gossip: { publish: async () => { announced.push(true); return { recipients: 0 } }, subscribe: () => () => {}, validate: () => () => {} },
      reqresp: { handle: async () => {}, unhandle: async () => {}, request: async () => { throw new Error('no peers') } },
      libp2p: { addEventListener: () => {}, removeEventListener: () => {}, getPeers: () => [] },
      peerFeedback: { record: () => {}, isBanned: () => false },
      events: new AgoraEvents(),
      logger: silentLogger()
    } as unknown as ConstructorParameters<typeof PackageCatalog>[0], { maxManifestBytes: 256 * 1024, announcePerPublisherPerMinute: 30 })
    components = {
      identity,
      blockstore: blocks,
      // Helia's pins, reduced to what publish uses: a recursive pin walks the package's blocks
      pins: {
        add: async function * (cid: CID) { pinned.add(cid.toString()); yield cid },
        isPinned: async (cid: CID) => pinned.has(cid.toString())
      },
      versions: name => repository.versions(name),
      catalog,
      provide: cids => { provided.push(...cids.map(c => c.toString())) }
    }
  })

  after(() => {
    store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  function folder (name: string, files: Record<string, string>): string {
    const root = join(dir, name)
    mkdirSync(root, { recursive: true })
    for (const [path, text] of Object.entries(files)) writeFileSync(join(root, path), text)
    return root
  }

  function init (over: Partial<PublishInit> = {}): PublishInit {
    return { path: folder('v1', { 'summarize.txt': 'Summarise: {{text}}', 'README.md': '# prompts' }), name: 'acme/summarize-prompts', version: '1.0.0', kind: 'prompt', tags: ['summarize', 'en'], license: 'MIT', ...over }
  }

  test('a folder becomes a signed, pinned, catalogued, provided package', async () => {
    const progress: TransferProgress[] = []
    const result = await publish(components, LIMITS, init(), p => { progress.push(p) })
    assert.equal(result.manifest.publisher, identity.peerIdString)
    assert.deepEqual(result.manifest.files.map(f => f.path), ['README.md', 'summarize.txt'])
    assert.equal(result.size, 'Summarise: {{text}}'.length + '# prompts'.length)
    assert.equal(result.manifest.previous, undefined)
    assert.equal(result.recipients, 0)
    // the manifest's DAG-CBOR block is in the blockstore and decodes to what was signed
    const bytes = await toBuffer(blocks.get(CID.parse(result.cid)))
    assert.deepEqual(await decodeManifest(bytes, CID.parse(result.cid)), result.manifest)
    assert.ok(pinned.has(result.cid))
    assert.equal(repository.get(result.cid)?.manifest.version, '1.0.0')
    assert.deepEqual(repository.owners('acme/summarize-prompts'), [identity.peerIdString])
    assert.deepEqual(provided.slice(-3), [result.cid, ...result.manifest.files.map(f => f.cid)])
    assert.equal(announced.length, 1)
    assert.deepEqual(progress.at(-1), { operation: 'publish', name: 'acme/summarize-prompts', phase: 'done', bytes: result.size, totalBytes: result.size, providers: 0 })
  })

  test('the same name@version with the same content: the same CID, nothing new', async () => {
    const first = repository.cidOf('acme/summarize-prompts', '1.0.0')
    const again = await publish(components, LIMITS, init(), undefined, () => Date.now() + 60_000)
    assert.equal(again.cid, first)
    assert.equal(announced.length, 1, 'not announced again')
  })

  test('the same name@version with other content is refused (E1411)', async () => {
    await assert.rejects(publish(components, LIMITS, init({ path: folder('v1-changed', { 'summarize.txt': 'Summarise briefly: {{text}}' }) })), isCode('E1411'))
    await assert.rejects(publish(components, LIMITS, init({ description: 'now with a description' })), isCode('E1411'))
  })

  test('a later version links the highest earlier one as previous', async () => {
    const v1 = repository.cidOf('acme/summarize-prompts', '1.0.0')
    const v2 = await publish(components, LIMITS, init({ version: '1.2.0', path: folder('v2', { 'summarize.txt': 'v2' }) }))
    assert.equal(v2.manifest.previous, v1)
    const v11 = await publish(components, LIMITS, init({ version: '1.1.0', path: folder('v11', { 'summarize.txt': 'v1.1' }) }))
    assert.equal(v11.manifest.previous, v1, 'the highest version below 1.1.0, not the newest')
    assert.deepEqual(repository.versions('acme/summarize-prompts').map(v => v.manifest.version), ['1.2.0', '1.1.0', '1.0.0'])
  })

  test('a name another key owns is refused by the catalogue (E1410)', async () => {
    const other = await generateIdentity()
    await assert.rejects(publish({ ...components, identity: other }, LIMITS, init({ version: '9.0.0' })), isCode('E1410'))
  })

  test('a bad request names its field (E1435), before anything is read', async () => {
    const path = folder('ok', { 'a.txt': 'a' })
    const bad: Array<[Partial<PublishInit> & Record<string, unknown>, string]> = [
      [{ name: 'NoSlash' }, 'name'],
      [{ name: 'acme/Upper' }, 'name'],
      [{ version: '1.2' }, 'version'],
      [{ version: 'v1.2.0' }, 'version'],
      [{ kind: 'virus' as PublishInit['kind'] }, 'kind'],
      [{ tags: ['x'.repeat(33)] }, 'tags.0'],
      [{ tags: [''] }, 'tags.0'],
      [{ dependencies: { 'acme/base': 'not a range' } }, 'dependencies.acme/base'],
      [{ dependencies: { Bad: '^1' } }, 'dependencies.Bad'],
      [{ compat: { contextLength: 0 } }, 'compat.contextLength'],
      [{ compat: { baseModelSha256: 'abc' } }, 'compat.baseModelSha256'],
      [{ owners: ['not-a-peer-id'] }, 'owners.0'],
      [{ owners: [] }, 'owners'],
      [{ path: '' }, 'path'],
      [{ extra: true }, 'request']
    ]
    for (const [over, field] of bad) {
      assert.throws(() => parsePublishInit({ ...init({ path }), ...over }), (err: unknown) => {
        isCode('E1435')(err)
        assert.equal((err as { details?: { field?: string } }).details?.field, field, JSON.stringify(over))
        return true
      })
      await assert.rejects(publish(components, LIMITS, { ...init({ path }), ...over } as PublishInit), isCode('E1435'))
    }
    // a good one passes, with the manifest's defaults
    const ok = parsePublishInit({ path, name: 'acme/x', version: '0.1.0', kind: 'tool', owners: [identity.peerIdString] })
    assert.deepEqual([ok.tags, ok.description, ok.dependencies], [[], '', {}])
  })

  test('a path that is not there is refused (E1430), a package over the limit (E1434)', async () => {
    await assert.rejects(publish(components, LIMITS, init({ path: join(dir, 'nothing-here'), version: '3.0.0' })), isCode('E1430'))
    await assert.rejects(publish(components, { ...LIMITS, maxPackageBytes: 4 }, init({ version: '3.0.0' })), isCode('E1434'))
    assert.equal(repository.cidOf('acme/summarize-prompts', '3.0.0'), undefined)
  })
})
