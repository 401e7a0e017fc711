import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AgoraError, isAgoraError } from '../../../src/errors.ts'
import { configSearchPaths, defaultConfig, findConfigFile, loadConfig } from '../../../src/config/index.ts'
import type { ConfigIssue, LoadConfigInit } from '../../../src/config/index.ts'
import { configPrices } from '../../../src/offers/index.ts'

let root: string
let cwd: string
let xdg: string
let etc: string

/** An init that never looks at the real home, /etc or process env. */
function init (extra: LoadConfigInit = {}): LoadConfigInit {
  return { cwd, xdgConfigHome: xdg, etcDir: etc, env: {}, ...extra }
}

function write (path: string, text: string): string {
  mkdirSync(join(path, '..'), { recursive: true })
  writeFileSync(path, text)
  return path
}

function catchError (fn: () => unknown): AgoraError {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof AgoraError, `expected an AgoraError, got ${String(err)}`)
    return err
  }
  assert.fail('expected an error')
}

function issuesOf (err: AgoraError): ConfigIssue[] {
  return (err.details?.issues ?? []) as ConfigIssue[]
}

describe('loadConfig', () => {
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'agora-'))
    cwd = join(root, 'cwd')
    xdg = join(root, 'xdg')
    etc = join(root, 'etc')
    mkdirSync(cwd)
  })
  after(() => { rmSync(root, { recursive: true, force: true }) })

  test('no file, no env: the defaults, every source "default"', () => {
    const loaded = loadConfig(init())
    assert.equal(loaded.file, undefined)
    assert.deepEqual(loaded.config, defaultConfig())
    assert.deepEqual(loaded.sources['api.port'], { source: 'default' })
    assert.ok(Object.values(loaded.sources).every(s => s.source === 'default'))
  })

  test('search order: cwd before XDG before /etc; --config beats all; missing --config is E303', () => {
    const dir = mkdtempSync(join(root, 'search-'))
    const s = { cwd: join(dir, 'cwd'), xdgConfigHome: join(dir, 'xdg'), etcDir: join(dir, 'etc'), env: {} }
    mkdirSync(s.cwd)
    assert.deepEqual(configSearchPaths(s), [join(s.cwd, 'agora.yaml'), join(s.xdgConfigHome, 'agora', 'agora.yaml'), join(s.etcDir, 'agora', 'agora.yaml')])
    assert.equal(findConfigFile(s), undefined)
    const etcFile = write(join(s.etcDir, 'agora', 'agora.yaml'), 'api:\n  port: 1\n')
    assert.equal(loadConfig(s).config.api.port, 1)
    assert.equal(loadConfig(s).file, etcFile)
    const xdgFile = write(join(s.xdgConfigHome, 'agora', 'agora.yaml'), 'api:\n  port: 2\n')
    assert.equal(findConfigFile(s), xdgFile)
    assert.equal(loadConfig(s).config.api.port, 2)
    const cwdFile = write(join(s.cwd, 'agora.yaml'), 'api:\n  port: 3\n')
    const loaded = loadConfig(s)
    assert.equal(loaded.file, cwdFile)
    // only one file is used: nothing merges in from the others
    assert.equal(loaded.config.api.port, 3)
    const explicit = write(join(dir, 'other.yaml'), 'log:\n  level: debug\n')
    const fromFlag = loadConfig({ ...s, configFile: 'other.yaml', cwd: dir })
    assert.equal(fromFlag.file, explicit)
    assert.equal(fromFlag.config.api.port, 8145)
    assert.equal(fromFlag.config.log.level, 'debug')
    assert.equal(catchError(() => loadConfig({ ...s, configFile: join(dir, 'missing.yaml') })).code, 'E303')
  })

  test('XDG_CONFIG_HOME from env is used when absolute', () => {
    assert.equal(configSearchPaths({ cwd, etcDir: etc, env: { XDG_CONFIG_HOME: '/x/y' } })[1], '/x/y/agora/agora.yaml')
    assert.notEqual(configSearchPaths({ cwd, etcDir: etc, env: { XDG_CONFIG_HOME: 'relative' } })[1], 'relative/agora/agora.yaml')
  })

  test('env overrides are coerced by type and reported as sources', () => {
    const loaded = loadConfig(init({
      env: {
        AGORA_API_PORT: '0',
        AGORA_NETWORK_MDNS: 'false',
        AGORA_LOG_LEVEL: 'debug',
        AGORA_NETWORK_DHT_ADDRESS_FILTER: 'private',
        AGORA_NETWORK_PEERS_TARGET: '3',
        AGORA_NETWORK_BOOTSTRAP: '/ip4/10.0.0.1/tcp/1, /ip4/10.0.0.2/tcp/2',
        AGORA_NETWORK_ANNOUNCE: '["/ip4/1.2.3.4/tcp/41145"]',
        AGORA_NODE_NAME: 'n1',
        AGORA_DATA_DIR: '/tmp/ignored',
        AGORA_API_TOKEN: 'secret',
        AGORA_CLI_MAIN: '1',
        AGORA_SOMETHING_ELSE: 'not ours'
      }
    }))
    const c = loaded.config
    assert.equal(c.api.port, 0)
    assert.equal(c.network.mdns, false)
    assert.equal(c.log.level, 'debug')
    assert.equal(c.network.dht.addressFilter, 'private')
    assert.equal(c.network.peers.target, 3)
    assert.deepEqual(c.network.bootstrap, ['/ip4/10.0.0.1/tcp/1', '/ip4/10.0.0.2/tcp/2'])
    assert.deepEqual(c.network.announce, ['/ip4/1.2.3.4/tcp/41145'])
    assert.equal(c.node.name, 'n1')
    assert.deepEqual(loaded.sources['api.port'], { source: 'env', origin: 'AGORA_API_PORT' })
    assert.deepEqual(loaded.sources['network.dht.addressFilter'], { source: 'env', origin: 'AGORA_NETWORK_DHT_ADDRESS_FILTER' })
    assert.deepEqual(loaded.sources['api.host'], { source: 'default' })
  })

  test('env beats the file, flags beat env; file sources carry file:line', () => {
    const file = write(join(root, 'layers.yaml'), '# comment\napi:\n  host: 127.0.0.2\n  port: 1000\nlog:\n  level: warn\n')
    const loaded = loadConfig(init({
      configFile: file,
      env: { AGORA_API_PORT: '2000', AGORA_LOG_LEVEL: 'error' },
      flags: { api: { port: 3000 }, network: { mdns: undefined } }
    }))
    assert.equal(loaded.config.api.host, '127.0.0.2')
    assert.equal(loaded.config.log.level, 'error')
    assert.equal(loaded.config.api.port, 3000)
    assert.deepEqual(loaded.sources['api.host'], { source: 'file', origin: `${file}:3` })
    assert.deepEqual(loaded.sources['log.level'], { source: 'env', origin: 'AGORA_LOG_LEVEL' })
    assert.deepEqual(loaded.sources['api.port'], { source: 'flag', origin: '--api-port' })
    // a flag left undefined does not count as given
    assert.deepEqual(loaded.sources['network.mdns'], { source: 'default' })
    const named = loadConfig(init({ flags: { network: { dht: { addressFilter: 'public' } } }, flagNames: { 'network.dht.addressFilter': '--dht-filter' } }))
    assert.deepEqual(named.sources['network.dht.addressFilter'], { source: 'flag', origin: '--dht-filter' })
  })

  test('unknown key in the file → E301 with file:line and the nearest key', () => {
    const file = write(join(root, 'typo.yaml'), 'log:\n  level: info\napi:\n  prot: 8080\n')
    const err = catchError(() => loadConfig(init({ configFile: file })))
    assert.equal(err.code, 'E301')
    assert.match(err.message, /unknown config key 'api\.prot'/)
    assert.ok(err.message.includes(`${file}:4`), err.message)
    assert.match(err.why ?? '', /did you mean 'api\.port'\?/)
    assert.equal(issuesOf(err)[0]?.suggestion, 'api.port')
  })

  test('verify.decideBackend etcd without endpoints → E300 naming verify.etcd.endpoints', () => {
    const file = write(join(root, 'etcd.yaml'), 'verify:\n  decideBackend: etcd\n')
    const err = catchError(() => loadConfig(init({ configFile: file })))
    assert.equal(err.code, 'E300')
    assert.match(err.message + (err.why ?? ''), /verify\.etcd\.endpoints/)
    const ok = write(join(root, 'etcd-ok.yaml'), 'verify:\n  decideBackend: etcd\n  etcd:\n    endpoints: [http://127.0.0.1:2379]\n')
    assert.deepEqual(loadConfig(init({ configFile: ok })).config.verify.etcd, { endpoints: ['http://127.0.0.1:2379'], prefix: '/agora/decide' })
  })

  test('a right key in the wrong section is pointed to its section', () => {
    const file = write(join(root, 'section.yaml'), 'api:\n  mdns: false\n')
    const err = catchError(() => loadConfig(init({ configFile: file })))
    assert.equal(err.code, 'E301')
    assert.match(err.why ?? '', /'network\.mdns'/)
  })

  for (const [bad, pattern] of [['"abc"', /"abc"/], ['70000', /70000/]] as const) {
    test(`bad value api.port: ${bad} → E300 naming key, value, file:line and what is allowed`, () => {
      const file = write(join(root, 'bad-value.yaml'), `api:\n  host: 127.0.0.1\n  port: ${bad}\n`)
      const err = catchError(() => loadConfig(init({ configFile: file })))
      assert.equal(err.code, 'E300')
      assert.match(err.message, /'api\.port'/)
      assert.match(err.message, pattern)
      assert.ok(err.message.includes(`${file}:3`), err.message)
      assert.match(err.hint, /HTTP API port/)
      assert.match(err.hint, /an integer 0\.\.65535/)
    })
  }

  test('bad enum from env → E300 naming the variable and the allowed values', () => {
    const err = catchError(() => loadConfig(init({ env: { AGORA_LOG_LEVEL: 'loud' } })))
    assert.equal(err.code, 'E300')
    assert.match(err.message, /"loud" for config key 'log\.level' from env AGORA_LOG_LEVEL/)
    assert.match(err.hint, /one of trace, debug, info, warn, error, fatal, silent/)
  })

  test('bad list item points at its line', () => {
    const file = write(join(root, 'list.yaml'), 'network:\n  listen:\n    - /ip4/0.0.0.0/tcp/1\n    - tcp:1\n')
    const err = catchError(() => loadConfig(init({ configFile: file })))
    assert.equal(err.code, 'E300')
    assert.ok(err.message.includes(`'network.listen.1'`) && err.message.includes(`${file}:4`), err.message)
  })

  test('several issues: the first (in file order) in the message, all in details.issues', () => {
    const file = write(join(root, 'many.yaml'), 'api:\n  port: -1\nlog:\n  levle: info\n')
    const err = catchError(() => loadConfig(init({ configFile: file, env: { AGORA_NETWORK_MDNS: 'maybe' } })))
    assert.equal(err.code, 'E300')
    assert.match(err.message, /'api\.port'/)
    const issues = issuesOf(err)
    assert.deepEqual(issues.map(i => [i.code, i.key]), [['E300', 'api.port'], ['E301', 'log.levle'], ['E300', 'network.mdns']])
    assert.equal(issues[2]?.origin, 'AGORA_NETWORK_MDNS')
  })

  test('misspelt AGORA_ variable → E301 with the right name; foreign AGORA_ variables are left alone', () => {
    const err = catchError(() => loadConfig(init({ env: { AGORA_API_PROT: '1' } })))
    assert.equal(err.code, 'E301')
    assert.match(err.message, /AGORA_API_PROT/)
    assert.match(err.why ?? '', /AGORA_API_PORT/)
    const section = catchError(() => loadConfig(init({ env: { AGORA_NETWORK_FOO_BAR_BAZ_QUUX: '1' } })))
    assert.equal(section.code, 'E301')
    assert.doesNotThrow(() => loadConfig(init({ env: { AGORA_UNRELATED_TOOL_SETTING: 'x', AGORA_DATA_DIR: '/x' } })))
  })

  test('offer prices: decimals with at most six places (strings or numbers, env too); seven places are refused at load naming the key', () => {
    const good = write(join(root, 'prices.yaml'), 'offers:\n  prices:\n    perTask: 0.5\n    per1kPromptTokens: "0.000001"\n')
    const { config } = loadConfig(init({ configFile: good, env: { AGORA_OFFERS_PRICES_PER1K_COMPLETION_TOKENS: '2.25' } }))
    assert.deepEqual(configPrices(config.offers.prices), { perTask: 500_000, per1kPromptTokens: 1, per1kCompletionTokens: 2_250_000 })
    assert.deepEqual(configPrices(defaultConfig().offers.prices), { perTask: 0, per1kPromptTokens: 0, per1kCompletionTokens: 0 })
    const bad = write(join(root, 'bad-prices.yaml'), 'offers:\n  prices:\n    perTask: 0.1234567\n')
    const err = catchError(() => loadConfig(init({ configFile: bad })))
    assert.equal(err.code, 'E300')
    assert.match(err.message, /0\.1234567 for config key 'offers\.prices\.perTask'/)
    assert.ok(err.message.includes(`${bad}:3`), err.message)
    assert.match(err.why ?? '', /at most six decimals/)
  })

  test('invalid YAML → E302 with file:line:col', () => {
    const file = write(join(root, 'broken.yaml'), 'api:\n  port: 1\n  host: [1, 2\nlog:\n  level: info\n')
    const err = catchError(() => loadConfig(init({ configFile: file })))
    assert.equal(err.code, 'E302')
    assert.match(err.message, new RegExp(`invalid YAML in ${file.replaceAll('/', '\\/')}:\\d+:\\d+`))
    const dup = write(join(root, 'dup.yaml'), 'api:\n  port: 1\n  port: 2\n')
    const dupErr = catchError(() => loadConfig(init({ configFile: dup })))
    assert.equal(dupErr.code, 'E302')
    assert.ok(dupErr.message.includes(`${dup}:3:`), dupErr.message)
  })

  test('an empty file, and a section with every key commented out, mean the defaults', () => {
    const empty = write(join(root, 'empty.yaml'), '# nothing here\n')
    assert.deepEqual(loadConfig(init({ configFile: empty })).config, defaultConfig())
    const bare = write(join(root, 'bare.yaml'), 'api:\n  # port: 1\nnetwork:\n  dht:\n')
    assert.deepEqual(loadConfig(init({ configFile: bare })).config, defaultConfig())
  })

  test('a file that is not a map of sections → E300', () => {
    const file = write(join(root, 'list-top.yaml'), '- a\n- b\n')
    const err = catchError(() => loadConfig(init({ configFile: file })))
    assert.ok(isAgoraError(err, 'E300'))
    assert.match(err.message, /not a map of sections/)
  })
})
