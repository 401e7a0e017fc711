/**
 * Packages across three real daemons, as issue 15 asks: publish on A; B
 * (a neighbour of A) fetches a copy; C — given only B's address —
 * finds the package by search (it may meet A through the DHT meanwhile:
 * that is how it learns where A is); C installs from A and B at once, A is
 * SIGKILLed mid-install and the install completes from B, the files
 * byte-for-byte what A published. And a name published by A is refused to
 * another key (E1410), on the command line of that key's node.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { agora, killDaemons, runAgora, startDaemon, type Daemon } from '../harness/cli.ts'
import { tempDir } from '../harness/temp.ts'
import { waitFor } from '../harness/wait.ts'
import { clientFor, isAlive } from '../../src/client/index.ts'
import type { InstalledPackage, PublishResult, SearchResult, TransferProgress } from '../../src/client/packages-schemas.ts'

// public trust mode: the daemons serve each other; a stranger's reputation (0.5) meets the default publisher bar
const env: NodeJS.ProcessEnv = { AGORA_ACCESS_TRUST_MODE: 'public' }
/** Big enough that the install is still running when A dies (many 1 MiB blocks), small enough for CI. */
const MODEL_BYTES = 96 * 1024 * 1024

async function json<T> (daemon: Daemon, args: string[]): Promise<T> {
  return JSON.parse(await agora([...args, '--data-dir', daemon.dataDir, '--json'])) as T
}

describe('packages on three daemons', () => {
  let a: Daemon
  let b: Daemon
  let c: Daemon
  const work = tempDir()
  let published: PublishResult
  let modelSha = ''

  before(async () => {
    a = await startDaemon([], tempDir(), env)
    b = await startDaemon(['--bootstrap', a.address], tempDir(), env)
    const model = randomBytes(MODEL_BYTES)
    modelSha = createHash('sha256').update(model).digest('hex')
    mkdirSync(join(work, 'model'), { recursive: true })
    writeFileSync(join(work, 'model', 'tiny-q4.gguf'), model)
    writeFileSync(join(work, 'model', 'README.md'), '# tiny\n')
    published = await json<PublishResult>(a, ['pkg', 'publish', join(work, 'model'), '--name', 'acme/tiny-q4', '--version', '1.0.0', '--kind', 'model', '--tags', 'gguf,tiny', '--description', 'a tiny quantised model'])
  })
  after(async () => { await killDaemons() })

  test('a name A published is refused to another key (E1410)', async () => {
    await waitFor('B to learn A\'s package', async () => (await json<SearchResult>(b, ['pkg', 'search', 'tiny', '--timeout', '1s'])).results.some(r => r.cid === published.cid), { timeoutMs: 30_000, intervalMs: 500 })
    writeFileSync(join(work, 'squat.txt'), 'not the model\n')
    const squat = await runAgora(['pkg', 'publish', join(work, 'squat.txt'), '--name', 'acme/tiny-q4', '--version', '2.0.0', '--kind', 'model', '--data-dir', b.dataDir])
    assert.notEqual(squat.code, 0)
    assert.match(squat.stderr, /^Error \[E1410\]: /m)
  })

  test('C, bootstrapped through B only, finds it; installs from A and B; A SIGKILLed mid-install; it completes from B', async () => {
    // B holds a copy: a second provider
    const onB = await json<InstalledPackage>(b, ['pkg', 'install', 'acme/tiny-q4@^1'])
    assert.equal(onB.state, 'installed')
    // C is given only B's address: A it can learn only through the network (the catalogue from B, A's address from the DHT)
    c = await startDaemon(['--bootstrap', b.address], tempDir(), env)

    const connected = async (): Promise<string[]> => (await json<Array<{ peerId: string, connected: boolean }>>(c, ['peers', 'list'])).filter(p => p.connected).map(p => p.peerId)
    await waitFor('C to connect to B', async () => (await connected()).includes(b.peerId), { timeoutMs: 15_000, intervalMs: 200 })
    let found: SearchResult | undefined
    await waitFor('C to find the package through B', async () => {
      found = await json<SearchResult>(c, ['pkg', 'search', 'tiny quantised', '--timeout', '2s'])
      return found.results.some(r => r.cid === published.cid)
    }, { timeoutMs: 30_000, intervalMs: 500 })
    const hit = found?.results.find(r => r.cid === published.cid)
    assert.deepEqual([hit?.name, hit?.version, hit?.kind, hit?.publisher, hit?.size], ['acme/tiny-q4', '1.0.0', 'model', a.peerId, MODEL_BYTES + '# tiny\n'.length])

    const progress: TransferProgress[] = []
    let killedAt: TransferProgress | undefined
    const install = clientFor(c.dataDir).installPackage({ spec: 'acme/tiny-q4@1.0.0' }, {
      onProgress: p => {
        progress.push(p)
        // both providers serving, part of the bytes in: kill the publisher
        if (killedAt === undefined && p.phase === 'fetch' && p.providers >= 2 && p.bytes > 0 && p.bytes < p.totalBytes / 2) {
          killedAt = p
          process.kill(a.pid, 'SIGKILL')
        }
      }
    })
    const installed = await install
    assert.ok(killedAt !== undefined, `A was never killed mid-install: ${JSON.stringify(progress.slice(-3))}`)
    assert.ok(killedAt.bytes < killedAt.totalBytes, 'killed before the last byte arrived')
    await waitFor('A to be gone', () => !isAlive(a.pid), { timeoutMs: 5000 })
    assert.equal(installed.state, 'installed')
    const bytes = readFileSync(join(installed.dir, 'tiny-q4.gguf'))
    assert.equal(bytes.length, MODEL_BYTES)
    assert.equal(createHash('sha256').update(bytes).digest('hex'), modelSha)
    const verified = await json<Array<{ cid: string, ok: boolean }>>(c, ['pkg', 'verify', 'acme/tiny-q4'])
    assert.deepEqual(verified.map(r => [r.cid, r.ok]), [[published.cid, true]])
  })
})
