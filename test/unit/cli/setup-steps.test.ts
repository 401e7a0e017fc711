/** `agora setup`'s steps, driven by scripted answers (no terminal): answers → config set lines → a config that validates. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defaultConfig, loadConfig } from '../../../src/config/index.ts'
import { CONFIG_VERSION } from '../../../src/config/version.ts'
import { exportIdentityPem, generateIdentity, readIdentity } from '../../../src/identity/index.ts'
import { loadSpecs } from '../../../src/providers/index.ts'
import { openStore } from '../../../src/store/index.ts'
import {
  checkBootstrapAddr, checkCredits, checkEngineUrl, configEdits, discoveryOf, equivalentCommands, initialAnswers, providerSpecs, shellQuote,
  type EngineChoice, type SetupAnswers
} from '../../../src/cli/setup/answers.ts'
import { engineName, runSteps, SETUP_STEPS, type Choice, type Prompter, type SetupContext, type SetupProbes } from '../../../src/cli/setup/steps.ts'
import { writeConfigEdits, writeSetup } from '../../../src/cli/setup/write.ts'

const PEER = '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp'
const BOOT = `/ip4/192.0.2.7/tcp/41145/p2p/${PEER}`

/** A prompter that answers from a script, in order, and records what it was asked and told. */
function scripted (script: unknown[]): Prompter & { asked: string[], said: string[], rejected: string[] } {
  const next = (message: string): unknown => {
    if (script.length === 0) throw new Error(`script ran out at: ${message}`)
    return script.shift()
  }
  const self = {
    asked: [] as string[],
    said: [] as string[],
    rejected: [] as string[],
    async select<T> (message: string, choices: Array<Choice<T>>): Promise<T> {
      self.asked.push(message)
      const value = next(message) as T
      assert.ok(choices.some(c => c.value === value), `${message}: '${String(value)}' is one of the choices ${choices.map(c => String(c.value)).join(', ')}`)
      return value
    },
    async input (message: string, init: { default?: string, validate?: (t: string) => true | string } = {}): Promise<string> {
      self.asked.push(message)
      for (;;) {
        const raw = next(message)
        const text = raw === undefined ? init.default ?? '' : String(raw)
        const verdict = init.validate?.(text) ?? true
        if (verdict === true) return text
        self.rejected.push(verdict) // the terminal asks again, as here
      }
    },
    async checkbox<T> (message: string, choices: Array<Choice<T>>): Promise<T[]> {
      self.asked.push(message)
      const value = next(message)
      return value === undefined ? choices.filter(c => c.checked === true).map(c => c.value) : value as T[]
    },
    say (text: string): void { self.said.push(text) }
  }
  return self
}

const ollamaFound: EngineChoice = { name: 'ollama-local', kind: 'ollama', url: 'http://127.0.0.1:11434', source: 'found', models: ['llama3.2:3b'] }

function probes (found: EngineChoice[] = []): SetupProbes & { tested: string[] } {
  const tested: string[] = []
  return {
    tested,
    pemPeerId: async file => { if (!file.endsWith('good.pem')) throw new Error(`no key in ${file}`); return PEER },
    discover: async () => found.map(e => ({ ...e })),
    listModels: async (kind, url) => {
      tested.push(`${kind} ${url}`)
      if (url.includes(':9')) throw new Error('connection refused')
      return ['m1', 'm2']
    }
  }
}

function context (prompt: Prompter, machine: SetupProbes, existingPeerId?: string): SetupContext {
  return { prompt, probes: machine, existingPeerId, configFile: '/tmp/agora.yaml', commandsOf: a => equivalentCommands(a, { fresh: true }) }
}

test('a full pass with one step back: the answers become config set lines and a file that validates', async () => {
  const answers = initialAnswers(defaultConfig(), undefined)
  const prompt = scripted([
    'create', // identity
    'add', 'http://127.0.0.1:9', 'ollama', undefined, // an engine that does not answer: not added
    'add', 'not a url', 'http://127.0.0.1:8000/v1', 'openai', undefined, // one that does (the bad URL is asked again)
    'next', undefined, // continue, serve every engine (as ticked)
    '__back', // sharing → back to engines
    'next', ['openai-8000'], // engines again: the added one is still there, serve it alone
    'public', '0.5', '-1', '0.25', undefined, // sharing: prices (a negative one refused; the last keeps its default)
    'add', '/ip4/192.0.2.7/tcp/41145', BOOT, 'next', // bootstrap: an address without a peer id refused
    'write'
  ])
  const machine = probes([ollamaFound])
  assert.equal(await runSteps(SETUP_STEPS, answers, context(prompt, machine)), true)

  assert.deepEqual(machine.tested, ['ollama http://127.0.0.1:9', 'openai http://127.0.0.1:8000/v1'])
  assert.ok(prompt.said.some(s => /not added: .*connection refused/.test(s)), 'a failed test call is shown')
  assert.equal(prompt.asked.filter(m => m === 'Engines').length, 4, 'the engines step was shown again after "back"')
  assert.equal(prompt.rejected.length, 3, prompt.rejected.join(' | '))
  assert.deepEqual(answers.engines.serve, ['openai-8000'])
  assert.equal(discoveryOf(answers), false, 'a found engine left out turns discovery off')
  assert.deepEqual(providerSpecs(answers), [{ name: 'openai-8000', kind: 'openai', url: 'http://127.0.0.1:8000/v1' }])

  assert.deepEqual(equivalentCommands(answers, { fresh: true, configFile: '/tmp/a b.yaml', dataDir: '/tmp/d' }), [
    "agora config init --path '/tmp/a b.yaml'",
    "agora config set providers.discovery false --config '/tmp/a b.yaml'",
    "agora config set access.trustMode public --config '/tmp/a b.yaml'",
    "agora config set offers.prices.perTask 0.5 --config '/tmp/a b.yaml'",
    "agora config set offers.prices.per1kPromptTokens 0.25 --config '/tmp/a b.yaml'",
    "agora config set offers.prices.per1kCompletionTokens 0 --config '/tmp/a b.yaml'",
    `agora config set network.bootstrap '["${BOOT}"]' --config '/tmp/a b.yaml'`,
    'agora providers add openai-8000 --kind openai --url http://127.0.0.1:8000/v1 --data-dir /tmp/d'
  ])

  const dir = mkdtempSync(join(tmpdir(), 'agora-setup-unit-'))
  try {
    const file = join(dir, 'agora.yaml')
    writeConfigEdits(file, configEdits(answers), true)
    const { config } = loadConfig({ configFile: file, env: {} })
    assert.equal(config.providers.discovery, false)
    assert.equal(config.access.trustMode, 'public')
    assert.deepEqual(config.offers.prices, { perTask: '0.5', per1kPromptTokens: '0.25', per1kCompletionTokens: '0' })
    assert.deepEqual(config.network.bootstrap, [BOOT])
    assert.match(readFileSync(file, 'utf8'), new RegExp(`^version: ${CONFIG_VERSION}$`, 'm'), 'a new file carries the format version')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('every found engine served keeps discovery on and pins nothing; private skips prices; quitting at review writes nothing', async () => {
  const answers = initialAnswers(defaultConfig(), PEER)
  const prompt = scripted(['keep', 'next', undefined, 'private', 'next', 'quit'])
  assert.equal(await runSteps(SETUP_STEPS, answers, context(prompt, probes([ollamaFound]), PEER)), false)
  assert.equal(discoveryOf(answers), true)
  assert.deepEqual(providerSpecs(answers), [])
  assert.equal(answers.trustMode, 'private')
  assert.ok(!prompt.asked.some(m => m.startsWith('Price')), 'no price is asked when nobody may buy')
  assert.ok(prompt.said.some(s => s.includes('agora config set access.trustMode private')), 'the review shows the lines')
})

test('identity: a file without a key is refused and asked again; "back" from engines asks the identity again', async () => {
  const answers = initialAnswers(defaultConfig(), PEER)
  const prompt = scripted(['import', '/tmp/nokey.pem', 'import', '/tmp/good.pem', '__back', 'keep', 'next', 'friends', undefined, undefined, undefined, 'next', 'write'])
  assert.equal(await runSteps(SETUP_STEPS, answers, context(prompt, probes(), PEER)), true)
  assert.ok(prompt.said.some(s => s.includes('no key in /tmp/nokey.pem')))
  assert.deepEqual(answers.identity, { action: 'keep', peerId: PEER })
  const again = initialAnswers(defaultConfig(), PEER)
  await runSteps(SETUP_STEPS, again, context(scripted(['import', '/tmp/good.pem', 'next', 'friends', undefined, undefined, undefined, 'next', 'write']), probes(), PEER))
  assert.deepEqual(again.identity, { action: 'import', pemFile: '/tmp/good.pem', peerId: PEER, replaces: true })
  assert.match(equivalentCommands(again, { fresh: false })[0] ?? '', /^agora identity import \/tmp\/good\.pem --force$/)
})

test('bootstrap: addresses can be removed again; the list starts from the config in use', async () => {
  const config = defaultConfig()
  config.network.bootstrap = [BOOT]
  const answers = initialAnswers(config, PEER)
  await runSteps(SETUP_STEPS, answers, context(scripted(['keep', 'next', 'friends', undefined, undefined, undefined, 'remove', BOOT, 'next', 'write']), probes(), PEER))
  assert.deepEqual(answers.bootstrap, [])
  assert.deepEqual(configEdits(answers).find(e => e.key === 'network.bootstrap'), { key: 'network.bootstrap', value: '[]' })
})

test('the checks behind the prompts', () => {
  assert.equal(checkBootstrapAddr(BOOT), true)
  assert.match(String(checkBootstrapAddr('192.0.2.7:41145')), /starts with "\/"/)
  assert.match(String(checkBootstrapAddr('/ip4/192.0.2.7/tcp/41145')), /\/p2p\/<peer id>/)
  assert.match(String(checkBootstrapAddr('/ip4/999.0.0.1/tcp/1/p2p/x')), /not a multiaddr/)
  assert.equal(checkCredits('0.000001'), true)
  assert.match(String(checkCredits('0.0000001')), /7 decimals/)
  assert.equal(checkEngineUrl('https://gpu1:8000/v1'), true)
  assert.match(String(checkEngineUrl('ftp://x')), /http or https/)
  assert.match(String(checkEngineUrl('http://u:p@x')), /credentials/)
  assert.equal(engineName('http://127.0.0.1:11434', 'ollama', new Set(['ollama-11434'])), 'ollama-11434-2')
  assert.equal(engineName('https://gpu1.lan/v1', 'openai', new Set()), 'openai-gpu1.lan-443')
  assert.equal(shellQuote(`it's`), `'it'\\''s'`)
})

test('writeSetup with no node running: config keys, engines in the store, and an imported key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agora-setup-write-'))
  try {
    const dataDir = join(dir, 'data')
    const configFile = join(dir, 'conf', 'agora.yaml')
    writeFileSync(join(dir, 'old.yaml'), 'api:\n  port: 9999 # kept\n')
    const key = await generateIdentity()
    writeFileSync(join(dir, 'good.pem'), exportIdentityPem(key))
    const answers: SetupAnswers = {
      ...initialAnswers(defaultConfig(), undefined),
      identity: { action: 'import', pemFile: join(dir, 'good.pem'), peerId: key.peerIdString, replaces: false },
      engines: { found: [], added: [{ name: 'openai-8000', kind: 'openai', url: 'http://127.0.0.1:8000/v1', source: 'added', models: [] }], serve: ['openai-8000'], discovery: true },
      trustMode: 'public'
    }
    const result = await writeSetup(answers, { dataDir, configFile, fresh: true })
    assert.deepEqual(result, { configFile, peerId: key.peerIdString, providers: ['openai-8000'], nodeRunning: false })
    assert.equal((await readIdentity(dataDir)).peerIdString, key.peerIdString)
    assert.equal(loadConfig({ configFile, env: {} }).config.access.trustMode, 'public')
    const store = openStore(join(dataDir, 'agora.db'))
    try {
      assert.deepEqual(loadSpecs(store.kv).specs, [{ name: 'openai-8000', kind: 'openai', url: 'http://127.0.0.1:8000/v1' }])
    } finally {
      store.close()
    }

    // an existing file keeps its other keys and comments
    const old = join(dir, 'old.yaml')
    writeConfigEdits(old, configEdits({ ...answers, trustMode: 'friends' }), false)
    assert.match(readFileSync(old, 'utf8'), /port: 9999 # kept/)
    // a bad value leaves the file as it was, and no scratch file behind
    const before = readFileSync(old, 'utf8')
    assert.throws(() => writeConfigEdits(old, [{ key: 'access.trustMode', value: 'everyone' }], false), (err: Error & { code?: string }) => err.code === 'E300' && err.message.includes(old) && !/agora-setup-\w{6}\/agora\.yaml/.test(err.message))
    assert.equal(readFileSync(old, 'utf8'), before)
    assert.equal(existsSync(`${old}.tmp`), false)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
