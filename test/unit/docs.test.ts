/** docs/ tells the truth: the generated reference matches the code. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { configDocs } from '../../scripts/config-docs.ts'
import { configKeys } from '../../src/config/index.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

test('docs/configuration.md is the one generated from the schema (run `npm run docs:config`)', () => {
  assert.equal(readFileSync(join(root, 'docs', 'configuration.md'), 'utf8'), configDocs())
})

test('the docs and the code point only to files a clone has: no design file outside the repository', () => {
  const files = execFileSync('git', ['ls-files', 'README.md', 'docs', 'src', 'bench', 'scripts'], { cwd: root, encoding: 'utf8' }).split('\n').filter(f => /\.(md|ts)$/.test(f))
  assert.ok(files.length > 50)
  const outside = files.filter(f => /\.\.\/shared\/|DESIGN\.md|STACK-NOTES|MARKET-NOTES/.test(readFileSync(join(root, f), 'utf8')))
  assert.deepEqual(outside, [])
})

test('the CLI reference names every top-level command', async () => {
  const { buildProgram } = await import('../../src/cli/program.ts')
  const cli = readFileSync(join(root, 'docs', 'cli.md'), 'utf8')
  for (const cmd of buildProgram().commands) assert.ok(cli.includes(`agora ${cmd.name()}`), `docs/cli.md mentions agora ${cmd.name()}`)
  assert.ok(configKeys().length > 10)
})
