import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse, parseDocument } from 'yaml'
import { CONFIG_VERSION, initConfigFile, loadConfig, migrateConfigFile, renameKey, setConfigValue } from '../../../src/config/index.ts'
import type { MigrationStep } from '../../../src/config/index.ts'
import { migrateDocument } from '../../../src/config/migrate.ts'
import { thrown } from '../../harness/checks.ts'

const OLD_FILE = '# my node\n\n# where the API listens\napi:\n  port: 9000 # not the default\nlog:\n  level: debug\n'

let dir: string
before(() => { dir = mkdtempSync(join(tmpdir(), 'agora-migrate-')) })
after(() => { rmSync(dir, { recursive: true, force: true }) })

function write (name: string, text: string): string {
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

function backupsOf (name: string): string[] {
  return readdirSync(dir).filter(f => f.startsWith(`${name}.bak-`))
}

describe('config version', () => {
  test('config init writes the current version; a file without one still loads', () => {
    const file = initConfigFile(join(dir, 'init.yaml'))
    assert.equal(parse(readFileSync(file, 'utf8')).version, CONFIG_VERSION)
    assert.equal(loadConfig({ configFile: write('plain.yaml', OLD_FILE), env: {} }).config.api.port, 9000)
  })

  test('a file from a newer agora is refused with E1330, by the loader and by config set', () => {
    const file = write('newer.yaml', `version: ${CONFIG_VERSION + 1}\napi:\n  port: 9000\n`)
    const err = thrown(() => loadConfig({ configFile: file, env: {} }))
    assert.equal(err.code, 'E1330')
    assert.match(err.format(), /newer than this agora knows.*upgrade agora/)
    assert.equal(thrown(() => setConfigValue(file, 'api.port', '1')).code, 'E1330')
    assert.equal(thrown(() => migrateConfigFile(file)).code, 'E1330')
    assert.deepEqual(backupsOf('newer.yaml'), [])
  })

  test('version is not a setting: no env variable, no config set', () => {
    assert.equal(loadConfig({ configFile: write('env.yaml', OLD_FILE), env: { AGORA_VERSION: '9.9.9' } }).config.version, 1)
    assert.equal(thrown(() => setConfigValue(join(dir, 'env.yaml'), 'version', '2')).code, 'E301')
  })
})

describe('agora config migrate', () => {
  test('an old file gets its version, keeps its comments and values, and a backup is kept', () => {
    const file = write('old.yaml', OLD_FILE)
    const result = migrateConfigFile(file, { now: new Date('2026-12-07T20:30:00.000Z') })
    assert.equal(result.from, 0)
    assert.equal(result.to, CONFIG_VERSION)
    assert.equal(result.changes.length, 1)
    assert.match(result.changes[0] ?? '', /version: \(none\) → 1/)
    assert.equal(result.backup, `${file}.bak-2026-12-07T20-30-00-000Z`)
    assert.equal(readFileSync(result.backup, 'utf8'), OLD_FILE)
    const text = readFileSync(file, 'utf8')
    assert.match(text, /^# my node\nversion: 1\n/)
    assert.match(text, /# where the API listens\napi:\n {2}port: 9000 # not the default\n/)
    assert.equal(loadConfig({ configFile: file, env: {} }).config.log.level, 'debug')

    const again = migrateConfigFile(file)
    assert.deepEqual(again.changes, [])
    assert.equal(again.backup, undefined)
    assert.equal(backupsOf('old.yaml').length, 1)
  })

  test('--dry-run says what would change and writes nothing', () => {
    const file = write('dry.yaml', OLD_FILE)
    const result = migrateConfigFile(file, { dryRun: true })
    assert.equal(result.changes.length, 1)
    assert.equal(result.backup, undefined)
    assert.equal(readFileSync(file, 'utf8'), OLD_FILE)
    assert.deepEqual(backupsOf('dry.yaml'), [])
  })

  test('later steps run in order from the file\'s version (a renamed key)', () => {
    const steps: MigrationStep[] = [
      { to: 1, title: 'versioned', apply: () => ['step 1 ran'] },
      { to: 2, title: 'log.lvl renamed', apply: doc => renameKey(doc, ['log', 'lvl'], ['log', 'level']) }
    ]
    const doc = parseDocument('version: 1\nlog:\n  lvl: error # quiet\n')
    const out = migrateDocument(doc, 1, steps)
    assert.equal(out.to, 2)
    assert.deepEqual(out.changes, ['log.lvl → log.level', 'version: 1 → 2 (log.lvl renamed)'])
    assert.equal(doc.toString(), 'version: 2\nlog:\n  level: error # quiet\n')
  })

  test('a file that is not valid once migrated is left alone (E1331)', () => {
    const file = write('bad.yaml', 'api:\n  port: "many"\n')
    const err = thrown(() => migrateConfigFile(file))
    assert.equal(err.code, 'E1331')
    assert.match(err.why ?? '', /E300/)
    assert.equal(readFileSync(file, 'utf8'), 'api:\n  port: "many"\n')
    assert.deepEqual(backupsOf('bad.yaml'), [])
  })
})
