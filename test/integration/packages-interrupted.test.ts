/**
 * Installs that fail are not left for ever: the row stays 'fetching' (so
 * the next install resumes) for INSTALL_DEFAULTS.interruptedKeepMs, then
 * `gc` removes it with its partial files; an install still running is
 * never collected, however old its row looks. Real nodes: the package is
 * held only by a node the installer cannot reach, so its install fails.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { INSTALL_DEFAULTS } from '../../src/packages/install/constants.ts'
import { createInstallNodes, publishTo, writeFolder, type InstallNode } from '../harness/install-nodes.ts'
import { isCode } from '../harness/checks.ts'
import { waitFor, within } from '../harness/wait.ts'

const HOUR = 60 * 60_000

describe('interrupted installs and gc', () => {
  let holder: InstallNode
  let installer: InstallNode
  let stop: () => Promise<void> = async () => {}
  let now = 1_800_000_000_000
  const folders: string[] = []

  before(async () => {
    // the two are never connected: the installer finds no provider
    const made = await createInstallNodes(2, { clock: () => now, bitswapBlockTimeoutMs: 1500, findProvidersMs: 100 })
    holder = made.nodes[0] as InstallNode
    installer = made.nodes[1] as InstallNode
    stop = made.stop
  })
  after(async () => {
    await stop()
    for (const dir of folders) rmSync(dir, { recursive: true, force: true })
  })

  const publish = async (name: string): Promise<string> => {
    const dir = writeFolder({ 'data.txt': `bytes of ${name}` })
    folders.push(dir)
    const pkg = await publishTo(holder, [holder], [holder], dir, { name, version: '1.0.0' })
    // known to the installer's catalogue, with no provider it could ask
    installer.packages.put({ cid: pkg.cid, manifest: pkg.manifest, envelope: pkg.envelope, bytes: pkg.bytes }, Date.now())
    return pkg.cid
  }

  test('a failed install is kept for resuming, then collected by gc with its partial files', async () => {
    const cid = await publish('acme/unreachable')
    await assert.rejects(installer.installer.install({ spec: 'acme/unreachable', trustPublisher: true }), isCode('E1446'))
    const row = installer.installer.list().find(pkg => pkg.cid === cid)
    assert.equal(row?.state, 'fetching')
    // a partial file the interrupted install could have left
    mkdirSync(row.dir, { recursive: true })
    writeFileSync(join(row.dir, '.partial.part'), 'half')

    assert.deepEqual((await installer.installer.gc()).removed, [], 'still resumable within the hour')
    assert.equal(installer.installer.list().length, 1)

    now += INSTALL_DEFAULTS.interruptedKeepMs + 1
    const result = await installer.installer.gc()
    assert.deepEqual(result.removed.map(r => `${r.name}@${r.version}`), ['acme/unreachable@1.0.0'])
    assert.equal(installer.installer.list().length, 0)
    assert.equal(existsSync(row.dir), false, 'its partial files are gone')
  })

  test('an install in progress is never collected, even when its row is older than the hour', async () => {
    const cid = await publish('acme/slow')
    const running = installer.installer.install({ spec: 'acme/slow', trustPublisher: true })
    running.catch(() => {})
    await waitFor('the install to begin', () => installer.installer.list().find(pkg => pkg.cid === cid)?.state === 'fetching', { timeoutMs: 5000 })
    now += 2 * HOUR
    assert.deepEqual((await installer.installer.gc()).removed, [])
    assert.equal(installer.installer.list().find(pkg => pkg.cid === cid)?.state, 'fetching')
    await within('the install to fail', assert.rejects(running, isCode('E1446')), 20_000)
    // failed now, and older than the hour: the next gc takes it
    now += 2 * HOUR
    assert.deepEqual((await installer.installer.gc()).removed.map(r => r.name), ['acme/slow'])
  })
})
