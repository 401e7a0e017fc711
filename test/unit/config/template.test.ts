import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { configKeys, defaultConfig, leafSpecs, loadConfig, renderDefaultConfig } from '../../../src/config/index.ts'

describe('renderDefaultConfig', () => {
  test('parses to exactly the defaults', () => {
    assert.deepEqual(parse(renderDefaultConfig()), defaultConfig())
  })

  test('loads through the loader to the defaults, every key sourced from the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agora-'))
    try {
      const file = join(dir, 'agora.yaml')
      writeFileSync(file, renderDefaultConfig())
      const loaded = loadConfig({ configFile: file, env: {} })
      assert.deepEqual(loaded.config, defaultConfig())
      for (const key of configKeys()) assert.equal(loaded.sources[key]?.source, 'file', key)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('every key comes with its description, what it allows and its env variable', () => {
    const text = renderDefaultConfig()
    const flat = text.replace(/\n\s*# /g, ' ')
    for (const leaf of leafSpecs()) {
      assert.ok(leaf.description.length > 0, `${leaf.key} has no description`)
      assert.ok(flat.includes(leaf.description), `${leaf.key}: description missing`)
      assert.ok(text.includes(`Env: ${leaf.env}`), `${leaf.key}: env missing`)
    }
    assert.match(text, /# Allowed: an integer 0\.\.65535\.\n\s+# Env: AGORA_API_PORT\n\s+port: 8145\n/)
    assert.match(text, /# Allowed: one of public, private, all\./)
  })

  test('comment lines stay within 80 columns', () => {
    for (const line of renderDefaultConfig().split('\n')) {
      if (line.trimStart().startsWith('#')) assert.ok(line.length <= 80, line)
    }
  })
})
