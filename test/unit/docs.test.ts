/** docs/ tells the truth: the generated reference matches the code. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { configDocs } from '../../scripts/config-docs.ts'
import { configKeys } from '../../src/config/index.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

test('docs/configuration.md is the one generated from the schema (run `npm run docs:config`)', () => {
  assert.equal(readFileSync(join(root, 'docs', 'configuration.md'), 'utf8'), configDocs())
})

test('the CLI reference names every top-level command', async () => {
  const { buildProgram } = await import('../../src/cli/program.ts')
  const cli = readFileSync(join(root, 'docs', 'cli.md'), 'utf8')
  for (const cmd of buildProgram().commands) assert.ok(cli.includes(`agora ${cmd.name()}`), `docs/cli.md mentions agora ${cmd.name()}`)
  assert.ok(configKeys().length > 10)
})
