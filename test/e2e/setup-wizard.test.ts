/**
 * `agora setup` as a person uses it: the real CLI on a pseudo-terminal
 * (util-linux `script`), answered key by key, against a fake Ollama on a
 * real port; and the refusal without a terminal.
 */
import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { CLI, runAgora } from '../harness/cli.ts'
import { KEYS, startOnPty, type PtySession } from '../harness/pty.ts'
import { tempDir } from '../harness/temp.ts'
import { startFakeOllama, type FakeEngine } from '../fixtures/fake-ollama.ts'
import { loadConfig } from '../../src/config/index.ts'
import { readIdentity } from '../../src/identity/index.ts'
import { loadSpecs } from '../../src/providers/index.ts'
import { openStore } from '../../src/store/index.ts'

const BOOT = '/ip4/127.0.0.1/tcp/41145/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp'

describe('agora setup', () => {
  const dirs: string[] = []
  const sessions: PtySession[] = []
  let engine: FakeEngine | undefined
  const dir = (): string => { const d = tempDir(); dirs.push(d); return d }
  const onPty = (args: string[], home: string): PtySession => {
    const term = startOnPty([process.execPath, CLI, ...args], { env: { NO_COLOR: '1', XDG_CONFIG_HOME: join(home, 'xdg'), AGORA_DATA_DIR: '' } })
    sessions.push(term)
    return term
  }
  after(async () => {
    for (const s of sessions) s.kill()
    await engine?.close()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  test('a full pass on a terminal: an engine added by URL and tested, one step back, prices, a bootstrap peer, then the written config', async () => {
    engine = await startFakeOllama()
    const home = dir()
    const dataDir = join(home, 'data')
    const configFile = join(home, 'agora.yaml')
    const term = onPty(['setup', '--data-dir', dataDir, '--config', configFile], home)

    await term.expect('Identity: the key that names this node')
    term.press(KEYS.enter) // create a new key
    await term.expect('? Engines')
    term.press(KEYS.down, KEYS.enter) // add an engine by URL
    await term.expect('Engine URL')
    term.press(engine.url, KEYS.enter)
    await term.expect('Which API does it speak?')
    term.press(KEYS.up, KEYS.enter) // Ollama (OpenAI-compatible is preselected off port 11434)
    await term.expect('Name for it')
    term.press('fake-ollama', KEYS.enter)
    await term.expect('fake-ollama answered: 2 model(s): fake-chat, fake-embed')
    await term.expect('? Engines')
    term.press(KEYS.enter) // continue
    await term.expect('Serve which engines?')
    term.press(KEYS.enter) // as ticked: every engine
    await term.expect('Sharing: who may use')
    term.press(KEYS.down, KEYS.down, KEYS.enter) // friends → public → ← back
    await term.expect(/added: fake-ollama ollama http:\/\/127\.0\.0\.1:\d+/) // the engines step again, with what was added
    await term.expect('? Engines')
    term.press(KEYS.enter)
    await term.expect('Serve which engines?')
    term.press(KEYS.enter)
    await term.expect('Sharing: who may use')
    term.press(KEYS.down, KEYS.enter) // public
    await term.expect('Price of one task')
    term.press('0.5', KEYS.enter)
    await term.expect('Price of 1,000 prompt tokens')
    term.press('0.25', KEYS.enter)
    await term.expect('Price of 1,000 completion tokens')
    term.press(KEYS.enter) // keeps 0
    await term.expect('? Bootstrap peers')
    term.press(KEYS.down, KEYS.enter) // add
    await term.expect('Peer address')
    term.press(BOOT, KEYS.enter)
    await term.expect('? Bootstrap peers')
    term.press(KEYS.enter) // continue
    const review = await term.expect('? Write it?')
    assert.match(review, /agora config set access\.trustMode public --config /)
    assert.match(review, /agora config set offers\.prices\.perTask 0\.5 --config /)
    assert.ok(review.includes(`agora config set network.bootstrap '["${BOOT}"]'`), review.slice(-2000))
    assert.match(review, /agora providers add fake-ollama --kind ollama --url http:\/\/127\.0\.0\.1:\d+ --data-dir /)
    term.press(KEYS.enter) // write
    await term.expect(`wrote ${configFile}`)
    assert.equal(await term.exited(), 0, term.output().slice(-2000))

    const { config } = loadConfig({ configFile, env: {} })
    assert.equal(config.access.trustMode, 'public')
    assert.deepEqual(config.offers.prices, { perTask: '0.5', per1kPromptTokens: '0.25', per1kCompletionTokens: '0' })
    assert.deepEqual(config.network.bootstrap, [BOOT])
    assert.equal(config.providers.discovery, true)
    assert.match(readFileSync(configFile, 'utf8'), /^# /, 'a commented file, as `config init` writes it')
    const id = await readIdentity(dataDir)
    assert.ok(term.output().includes(`identity: ${id.peerIdString}`))
    const store = openStore(join(dataDir, 'agora.db'))
    try {
      assert.deepEqual(loadSpecs(store.kv).specs, [{ name: 'fake-ollama', kind: 'ollama', url: engine.url }])
    } finally {
      store.close()
    }
    const valid = await runAgora(['config', 'validate', configFile])
    assert.equal(valid.code, 0, valid.stderr)
  })

  test('without a terminal it refuses with E1340 and prints the commands that do the same', async () => {
    const home = dir()
    const configFile = join(home, 'agora.yaml')
    for (const args of [['setup'], ['config', 'init', '--interactive']]) {
      const res = await runAgora([...args, '--config', configFile, '--data-dir', join(home, 'data')])
      assert.equal(res.code, 1, res.stderr)
      assert.match(res.stderr, /^Error \[E1340\]: `agora setup` asks its questions on a terminal — stdin or stdout is not a terminal/)
      assert.equal(res.stdout.split('\n')[0], `agora config init --path ${configFile}`)
      assert.ok(res.stdout.includes(`agora config set access.trustMode friends --config ${configFile}\n`), res.stdout)
      assert.ok(res.stdout.includes("agora config set network.bootstrap '[]'"), res.stdout)
      assert.equal(existsSync(configFile), false, 'nothing is written')
    }
  })

  test('config init --interactive runs the same wizard; Ctrl-C ends it with E1343 and writes nothing', async () => {
    const home = dir()
    const configFile = join(home, 'agora.yaml')
    const term = onPty(['config', 'init', '--interactive', '--path', configFile, '--data-dir', join(home, 'data')], home)
    await term.expect('Identity: the key that names this node')
    term.press(KEYS.ctrlC)
    await term.expect('Error [E1343]: setup cancelled')
    assert.equal(await term.exited(), 1)
    assert.equal(existsSync(configFile), false)
  })
})
