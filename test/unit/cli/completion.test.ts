/**
 * The completion walk over the real command tree (what `agora __complete`
 * offers), the live-id table against the commands it names, and the
 * PowerShell script, which no shell here can run (pwsh is neither in
 * Debian's archive nor installable from npm without a download).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import type { Command } from 'commander'
import { allCommands, buildProgram } from '../../../src/cli/program.ts'
import { complete } from '../../../src/cli/completion/walk.ts'
import { ID_SLOTS, commandPath } from '../../../src/cli/completion/live-ids.ts'
import { completionScript } from '../../../src/cli/completion/scripts.ts'
import { completionLines } from '../../../src/cli/commands/completion.ts'
import { AgoraError } from '../../../src/errors.ts'
import { tempDir } from '../../harness/temp.ts'

const program = buildProgram()
const values = (words: string[]): string[] => complete(program, words).candidates.map(c => c.value)

test('every slot in the live-id table is a real argument or option of a real command', () => {
  const byPath = new Map<string, Command>(allCommands(program).map(c => [commandPath(c), c]))
  for (const slot of Object.keys(ID_SLOTS)) {
    const at = slot.lastIndexOf(' ')
    const cmd = byPath.get(slot.slice(0, at))
    assert.ok(cmd !== undefined, `${slot}: no command ${slot.slice(0, at)}`)
    const name = slot.slice(at + 1)
    const known = [...cmd.registeredArguments.map(a => `<${a.name()}>`), ...cmd.options.map(o => o.long)]
    assert.ok(known.includes(name), `${slot}: ${name} is not one of ${known.join(' ')}`)
  }
})

test('each level: nouns, verbs (aliases walk too), flags of the verb and its ancestors', () => {
  assert.ok(values(['']).includes('jobs'))
  assert.ok(!values(['']).includes('__complete'), 'the hidden command is not offered')
  assert.deepEqual(values(['jobs', 'sh']), ['show'])
  const listFlags = values(['jobs', 'ls', '--'])
  for (const flag of ['--state', '--limit', '--data-dir', '--json', '--help']) assert.ok(listFlags.includes(flag), flag)
  assert.ok(!listFlags.includes('--version'), '--version is agora\'s own flag')
  assert.ok(values(['--']).includes('--version'))
  assert.deepEqual(values(['jobs', 'submit', '-']).filter(f => f === '-m' || f === '-w'), ['-m', '-w'])
})

test('option values: choices, ids, files; a value the flag takes is not read as a verb', () => {
  assert.deepEqual(values(['peers', 'list', '--sort', '']), ['latency', 'reputation', 'peer'])
  assert.deepEqual(values(['completion', 'p']), ['powershell'])
  const model = complete(program, ['jobs', 'submit', '--type', 'text.embed', '-m', ''])
  assert.deepEqual([model.live, model.files], ['model', false])
  assert.equal(complete(program, ['--config', 'x.yaml', 'identity', 'import', '']).files, true)
  assert.equal(complete(program, ['service', 'install', '--service-data-dir', '']).files, true)
  const typed = complete(program, ['-d', '/tmp/a', 'keys', 'revoke', 'f'])
  assert.deepEqual([typed.live, typed.globals.dataDir], ['key', '/tmp/a'])
  assert.deepEqual(complete(program, ['--data-dir=/tmp/b', 'peers', 'ping', '']).globals.dataDir, '/tmp/b')
  // the model is chat's first argument, the prompt its second (free text)
  assert.equal(complete(program, ['chat', '']).live, 'model')
  assert.equal(complete(program, ['chat', 'm', '']).live, undefined)
  // a variadic option keeps its values until the next flag
  assert.deepEqual(values(['start', '--listen', '/ip4/1', '/ip4/2', '']), [])
  assert.ok(values(['start', '--listen', '/ip4/1', '--no-m']).includes('--no-mdns'))
})

test('__complete without a node: no candidates for an id, only the directive, at once', async () => {
  const empty = tempDir()
  const started = Date.now()
  const out = await completionLines(program, ['keys', 'revoke', ''], { AGORA_DATA_DIR: empty })
  rmSync(empty, { recursive: true })
  assert.equal(out, ':none\n')
  assert.ok(Date.now() - started < 5000)
  assert.equal(await completionLines(program, ['identity', 'import', '']), ':files\n')
  assert.match(await completionLines(program, ['jobs', 'sh']), /^show\tone job and its subtasks[^\n]*\n:none\n$/)
})

test('the PowerShell script registers a native completer that hands the words typed to __complete', () => {
  const script = completionScript('powershell')
  assert.match(script, /^Register-ArgumentCompleter -Native -CommandName agora -ScriptBlock \{$/m)
  assert.match(script, /& \$words\[0\] __complete -- @\(\$words \| Select-Object -Skip 1\)/)
  assert.match(script, /if \(\$wordToComplete -eq ''\) \{ \$words \+= '' \}/, 'an empty word asks for what comes next')
  assert.match(script, /\$out\[-1\] -eq ':files'/, 'file names are left to PowerShell')
  assert.match(script, /CompletionResult\]::new\(\$value, \$value, 'ParameterValue', \$help\)/)
})

test('an unknown shell is E1320', () => {
  assert.throws(() => completionScript('tcsh'), (err: unknown) => err instanceof AgoraError && err.code === 'E1320')
})
