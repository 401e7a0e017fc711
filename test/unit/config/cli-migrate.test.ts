/** `agora config migrate [--dry-run]` through the CLI, in this process. */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cliInProcess } from '../../harness/in-process-cli.ts'

const cli = cliInProcess

let dir: string

describe('agora config migrate', () => {
  before(() => { dir = mkdtempSync(join(tmpdir(), 'agora-migrate-cli-')) })
  after(() => { rmSync(dir, { recursive: true, force: true }) })

  test('--dry-run prints the changes and writes nothing; then the file is migrated with a backup', async () => {
    const file = join(dir, 'agora.yaml')
    writeFileSync(file, 'api:\n  port: 9000\n')
    const dry = await cli('--config', file, 'config', 'migrate', '--dry-run')
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stdout, /version: \(none\) → 1/)
    assert.match(dry.stdout, /would go from version 0 to 1 \(dry run: nothing written\)/)
    assert.equal(readFileSync(file, 'utf8'), 'api:\n  port: 9000\n')

    const run = await cli('--config', file, 'config', 'migrate', '--json')
    assert.equal(run.code, 0, run.stderr)
    const result = JSON.parse(run.stdout) as { from: number, to: number, backup: string }
    assert.deepEqual([result.from, result.to], [0, 1])
    assert.equal(readFileSync(result.backup, 'utf8'), 'api:\n  port: 9000\n')
    assert.equal(readFileSync(file, 'utf8'), 'version: 1\napi:\n  port: 9000\n')

    const again = await cli('--config', file, 'config', 'migrate')
    assert.match(again.stdout, /at version 1 already: nothing to do/)
    assert.equal(readdirSync(dir).filter(f => f.startsWith('agora.yaml.bak-')).length, 1)
  })

  test('a file from a newer agora exits 1 with E1330', async () => {
    const file = join(dir, 'newer.yaml')
    writeFileSync(file, 'version: 99\n')
    const run = await cli('--config', file, 'config', 'migrate')
    assert.equal(run.code, 1)
    assert.match(run.stderr, /Error \[E1330\]: config file .* has version 99, newer than this agora knows \(1\)/)
  })
})
