/**
 * Publish never reads the node's data dir (its private key, its API token):
 * a published package is gossiped and served to anyone and cannot be taken
 * back. The key file, the data dir, a folder holding it and a link to the
 * key are refused (E1430) before anything is read; installed packages under
 * `<data dir>/packages/` and folders beside the data dir are not.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { publish, type PublishComponents } from '../../../src/packages/publish.ts'
import { refusePrivatePath } from '../../../src/packages/private-paths.ts'
import type { PublishInit } from '../../../src/packages/types.ts'
import { isCode } from '../../harness/checks.ts'
import { tempDir } from '../../harness/temp.ts'

const home = tempDir('agora-publish-private-')
const dataDir = join(home, '.agora')
mkdirSync(join(dataDir, 'packages', 'acme', 'x', '1.0.0'), { recursive: true })
writeFileSync(join(dataDir, 'identity.key'), 'PRIVATE KEY')
writeFileSync(join(dataDir, 'packages', 'acme', 'x', '1.0.0', 'a.txt'), 'installed')
mkdirSync(join(home, 'prompts'))
writeFileSync(join(home, 'prompts', 'p.txt'), 'a prompt')
symlinkSync(join(dataDir, 'identity.key'), join(home, 'key-link'))
after(() => { rmSync(home, { recursive: true, force: true }) })

// nothing may be touched before the refusal
const untouchable = new Proxy({}, { get: () => { throw new Error('publish read something before refusing') } }) as PublishComponents
const init = (path: string): PublishInit => ({ path, name: 'mallory/keys', version: '1.0.0', kind: 'other' }) as PublishInit
const LIMITS = { maxFiles: 100, maxPackageBytes: 1024 * 1024, dataDir }

test('the key file, the data dir, a folder holding it and a link to the key are refused (E1430)', async () => {
  for (const path of [join(dataDir, 'identity.key'), dataDir, home, join(home, 'key-link')]) {
    await assert.rejects(publish(untouchable, LIMITS, init(path)), isCode('E1430'), path)
  }
})

test('an installed package under <data dir>/packages/ and a folder beside the data dir may be published', async () => {
  await refusePrivatePath(join(dataDir, 'packages', 'acme', 'x', '1.0.0'), dataDir)
  await refusePrivatePath(join(home, 'prompts'), dataDir)
  await assert.rejects(refusePrivatePath(join(dataDir, 'packages'), dataDir), isCode('E1430'))
})
