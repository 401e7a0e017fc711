/**
 * Shell completion as a user gets it: each real shell (bash, zsh, fish) with
 * the script `agora completion <shell>` prints, asked what TAB offers —
 * verbs, a verb's own and global flags, option choices, file names, and
 * live ids from a real running node. Without a node, completion offers no
 * ids and says nothing. (PowerShell cannot be installed here: its script is
 * checked in test/unit/cli/completion.test.ts.)
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { agora, killDaemons, runAgora, startDaemon, type Daemon } from '../harness/cli.ts'
import { hasShell, shellBench, shellComplete, type ShellBench, type TestShell } from '../harness/shell-complete.ts'

const SHELLS: TestShell[] = ['bash', 'zsh', 'fish']

describe('shell completion against a running node', () => {
  let daemon: Daemon
  let bench: ShellBench
  let keyId: string
  const scripts = new Map<TestShell, string>()

  before(async () => {
    daemon = await startDaemon()
    const created = JSON.parse(await agora(['keys', 'create', 'laptop', '--data-dir', daemon.dataDir, '--json'])) as { id: string }
    keyId = created.id
    bench = shellBench({ AGORA_DATA_DIR: daemon.dataDir })
    for (const shell of SHELLS) {
      const file = join(bench.dir, `agora.${shell}`)
      writeFileSync(file, await agora(['completion', shell]))
      scripts.set(shell, file)
    }
    mkdirSync(join(bench.dir, 'inputs'))
    writeFileSync(join(bench.dir, 'inputs', 'identity.pem'), '')
  })
  after(async () => {
    bench?.cleanup()
    await killDaemons()
  })

  for (const shell of SHELLS) {
    describe(shell, () => {
      const offered = async (line: string): Promise<string[]> => {
        assert.ok(hasShell(shell), `${shell} is not installed: \`apt-get install zsh fish\` (.ci/run installs them)`)
        return (await shellComplete(shell, scripts.get(shell) as string, line, bench)).sort()
      }

      test('verbs of a noun, and a verb from its first letters', async () => {
        const verbs = await offered('agora jobs ')
        for (const verb of ['submit', 'list', 'show', 'watch', 'result', 'cancel', 'types']) assert.ok(verbs.includes(verb), `${verb} in ${verbs.join(' ')}`)
        assert.deepEqual(await offered('agora jobs sh'), ['show'])
      })

      test('third level: a verb\'s own flags and the global ones, not other verbs\' flags', async () => {
        const flags = await offered('agora jobs result --')
        for (const flag of ['--output', '--data-dir', '--json', '--help']) assert.ok(flags.includes(flag), `${flag} in ${flags.join(' ')}`)
        assert.ok(!flags.includes('--wait'), 'jobs submit\'s --wait is not offered to jobs result')
        assert.deepEqual(await offered('agora peers ban --re'), ['--reason'])
      })

      test('option choices', async () => {
        assert.deepEqual(await offered('agora peers list --sort r'), ['reputation'])
        assert.deepEqual(await offered('agora start --log-level w'), ['warn'])
      })

      test('live ids from the running node: a key id, a model', async () => {
        assert.deepEqual(await offered('agora keys revoke '), [keyId])
        assert.deepEqual(await offered('agora embed agora/wink'), ['agora/wink-embed-100d'])
      })

      test('file names where a command takes a file', async () => {
        const files = await offered(`agora identity import ${bench.dir}/inputs/id`)
        assert.equal(files.length, 1, files.join(' '))
        assert.match(files[0] as string, /identity\.pem$/)
      })

      test('no node on the --data-dir typed: no ids, no error, no files', async () => {
        assert.deepEqual(await offered(`agora --data-dir ${bench.dir}/nowhere keys revoke `), [])
      })
    })
  }

  test('__complete prints candidates and a directive, and never an error', async () => {
    const ids = await runAgora(['__complete', '--', '--data-dir', daemon.dataDir, 'keys', 'revoke', ''])
    assert.equal(ids.code, 0)
    assert.equal(ids.stdout, `${keyId}\tlaptop\n:none\n`)
    const nonsense = await runAgora(['__complete', '--', 'no-such-noun', '--what', '', 'x'])
    assert.deepEqual([nonsense.code, nonsense.stdout, nonsense.stderr], [0, ':none\n', ''])
  })
})
