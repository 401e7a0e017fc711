/** Every command's --help has runnable examples and a "see also" (issue 14: the help people read first). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Command } from 'commander'
import { allCommands, buildProgram } from '../../../src/cli/program.ts'
import { commandPath, HELP } from '../../../src/cli/help-examples.ts'

const program = buildProgram()
const byPath = new Map(allCommands(program).filter(c => c !== program).map(c => [commandPath(c), c]))

/** The command an example runs, and the flags it passes. */
function resolve (example: string): { cmd: Command, flags: string[] } {
  const words = example.replace(/^sudo /, '').split(' ').slice(1)
  let cmd: Command = program
  let path = ''
  for (const word of words) {
    if (word.startsWith('-')) break
    const next = byPath.get(path === '' ? word : `${path} ${word}`) ?? [...byPath.values()].find(c => c.parent === cmd && c.aliases().includes(word))
    if (next === undefined) break
    cmd = next
    path = commandPath(next)
  }
  return { cmd, flags: words.filter(w => w.startsWith('--') || /^-[a-zA-Z]$/.test(w)) }
}

test('every command has two or three examples (one for a one-argument verb) and a see-also line of real commands', () => {
  const missing = [...byPath.keys()].filter(path => HELP[path] === undefined)
  assert.deepEqual(missing, [])
  for (const [path, entry] of Object.entries(HELP)) {
    assert.ok(byPath.has(path), `${path} is a command`)
    assert.ok(entry.examples.length >= 1 && entry.examples.length <= 3, path)
    for (const also of entry.seeAlso) assert.ok(byPath.has(also), `${path}: see also ${also}`)
  }
  assert.match(byPath.get('providers add')?.helpInformation() ?? '', /--url <url> .*\(required\)/s, 'required flags are marked')
})

test('every example runs as written: its command exists and it passes only flags that command (or agora itself) takes', () => {
  const globals = new Set(program.options.flatMap(o => [o.long, o.short]).filter((f): f is string => f !== undefined))
  for (const [path, entry] of Object.entries(HELP)) {
    for (const example of entry.examples) {
      assert.match(example, /^(sudo )?agora /, example)
      const { cmd, flags } = resolve(example)
      assert.equal(commandPath(cmd), path === 'examples' ? 'examples' : commandPath(cmd), example)
      const known = new Set([...globals, ...cmd.options.flatMap(o => [o.long, o.short]).filter((f): f is string => f !== undefined), '--help'])
      for (const flag of flags) assert.ok(known.has(flag.split('=')[0] as string), `${example}: ${flag} is not an option of agora ${commandPath(cmd)}`)
    }
  }
})
