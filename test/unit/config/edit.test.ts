import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AgoraError } from '../../../src/errors.ts'
import { defaultConfig, getConfigValue, initConfigFile, loadConfig, renderDefaultConfig, setConfigValue } from '../../../src/config/index.ts'

let dir: string

function catchError (fn: () => unknown): AgoraError {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof AgoraError, `expected an AgoraError, got ${String(err)}`)
    return err
  }
  assert.fail('expected an error')
}

function load (file: string): ReturnType<typeof loadConfig>['config'] {
  return loadConfig({ configFile: file, env: {} }).config
}

describe('getConfigValue', () => {
  test('leaves and sections; unknown key → E301 with a suggestion', () => {
    const config = defaultConfig()
    assert.equal(getConfigValue(config, 'api.port'), 8145)
    assert.equal(getConfigValue(config, 'network.dht.addressFilter'), 'all')
    assert.deepEqual(getConfigValue(config, 'network.dht'), config.network.dht)
    const err = catchError(() => getConfigValue(config, 'api.prot'))
    assert.equal(err.code, 'E301')
    assert.match(err.why ?? '', /did you mean 'api\.port'/)
  })
})

describe('setConfigValue', () => {
  before(() => { dir = mkdtempSync(join(tmpdir(), 'agora-')) })
  after(() => { rmSync(dir, { recursive: true, force: true }) })

  test('keeps comments and the rest of the file', () => {
    const file = join(dir, 'comments.yaml')
    writeFileSync(file, '# top comment\napi:\n  # the port\n  port: 8145 # inline\n  host: 127.0.0.1\n')
    const result = setConfigValue(file, 'api.port', '9000')
    assert.equal(result.value, 9000)
    assert.equal(result.created, false)
    assert.equal(readFileSync(file, 'utf8'), '# top comment\napi:\n  # the port\n  port: 9000 # inline\n  host: 127.0.0.1\n')
    assert.equal(load(file).api.port, 9000)
  })

  test('a bad value is refused with E300 and the file is left untouched', () => {
    const file = join(dir, 'refuse.yaml')
    const before = '# keep me\napi:\n  port: 8145\n'
    writeFileSync(file, before)
    for (const [key, raw] of [['api.port', 'abc'], ['api.port', '70000'], ['log.level', 'loud'], ['network.listen', 'tcp:1'], ['network.mdns', 'maybe']]) {
      const err = catchError(() => setConfigValue(file, key as string, raw as string))
      assert.equal(err.code, 'E300', `${key}=${raw}`)
      assert.ok(err.message.includes(`'${key}`), err.message)
      assert.equal(readFileSync(file, 'utf8'), before)
    }
    assert.equal(catchError(() => setConfigValue(file, 'api.prot', '1')).code, 'E301')
    assert.equal(catchError(() => setConfigValue(file, 'api', '1')).code, 'E301')
    assert.equal(readFileSync(file, 'utf8'), before)
    assert.deepEqual(readdirSync(dir).filter(f => f.endsWith('.tmp')), [])
  })

  test('creates the file and its directory; parses booleans, enums and lists', () => {
    const file = join(dir, 'new', 'deeper', 'agora.yaml')
    assert.equal(setConfigValue(file, 'network.mdns', 'false').created, true)
    setConfigValue(file, 'network.dht.addressFilter', 'private')
    setConfigValue(file, 'network.bootstrap', '/ip4/10.0.0.1/tcp/1,/ip4/10.0.0.2/tcp/2')
    setConfigValue(file, 'network.announce', '["/ip4/1.2.3.4/tcp/41145"]')
    setConfigValue(file, 'node.name', 'true')
    const config = load(file)
    assert.equal(config.network.mdns, false)
    assert.equal(config.network.dht.addressFilter, 'private')
    assert.deepEqual(config.network.bootstrap, ['/ip4/10.0.0.1/tcp/1', '/ip4/10.0.0.2/tcp/2'])
    assert.deepEqual(config.network.announce, ['/ip4/1.2.3.4/tcp/41145'])
    assert.equal(config.node.name, 'true')
    setConfigValue(file, 'network.bootstrap', '')
    assert.deepEqual(load(file).network.bootstrap, [])
  })

  test('a number replacing a quoted string is written as a number', () => {
    const file = join(dir, 'quoted.yaml')
    writeFileSync(file, 'api:\n  port: "8145"\n')
    setConfigValue(file, 'api.port', '9001')
    assert.equal(load(file).api.port, 9001)
  })

  test('edits the commented default file in place', () => {
    const file = join(dir, 'init.yaml')
    initConfigFile(file)
    assert.equal(readFileSync(file, 'utf8'), renderDefaultConfig())
    assert.equal(catchError(() => initConfigFile(file)).code, 'E304')
    setConfigValue(file, 'network.peers.target', '3')
    const text = readFileSync(file, 'utf8')
    assert.match(text, /# Number of peers the peer manager keeps connected\n.*\n.*\n\s+target: 3\n/)
    assert.deepEqual(load(file), { ...defaultConfig(), network: { ...defaultConfig().network, peers: { ...defaultConfig().network.peers, target: 3 } } })
    initConfigFile(file, { force: true })
    assert.equal(readFileSync(file, 'utf8'), renderDefaultConfig())
  })

  test('a section with every key commented out takes the new key, comments kept', () => {
    const file = join(dir, 'empty-section.yaml')
    writeFileSync(file, '# head\napi:\n  # port: 1\nlog:\n  level: info\n')
    setConfigValue(file, 'api.port', '9')
    assert.equal(load(file).api.port, 9)
    const text = readFileSync(file, 'utf8')
    assert.match(text, /# head/)
    assert.match(text, /# port: 1/)
  })

  test('an invalid YAML file is refused with E302 and left untouched', () => {
    const file = join(dir, 'broken.yaml')
    writeFileSync(file, 'api: [\n')
    assert.equal(catchError(() => setConfigValue(file, 'api.port', '1')).code, 'E302')
    assert.equal(readFileSync(file, 'utf8'), 'api: [\n')
  })
})
