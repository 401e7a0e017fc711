/**
 * What a user sees when something is wrong: one line `Error [E123]: what —
 * why — what to do`, exit 1 (2 for usage), no stack trace.
 */
import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:net'
import { readFileSync, writeFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { CLI, runAgora, agora, killDaemons, startDaemon, trackDaemon } from '../harness/cli.ts'
import { isAlive } from '../../src/client/index.ts'
import { tempDir } from '../harness/temp.ts'

const START = ['start', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns']

describe('CLI errors', () => {
  const dirs: string[] = []
  const dir = (): string => { const d = tempDir(); dirs.push(d); return d }
  after(async () => {
    await killDaemons()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  test('--version and --help', async () => {
    assert.match(await agora(['--version']), /^\d+\.\d+\.\d+/)
    assert.match(await agora(['--help']), /peers/)
  })

  test('an unknown command is one line; "did you mean" only for a likely typo (not `stop` for `steps`)', async () => {
    const typo = await runAgora(['stauts'])
    assert.equal(typo.code, 2)
    assert.equal(typo.stderr, "Error [E600]: unknown command 'stauts' — did you mean `status`? (see `agora --help`)\n")
    const other = await runAgora(['steps'])
    assert.equal(other.code, 2)
    assert.equal(other.stderr, "Error [E600]: unknown command 'steps' — see `agora --help`\n")
  })

  test('restart: the running node stops and a new one starts on the same data dir and identity; `s` is status', async () => {
    const first = await startDaemon()
    try {
      const out = await agora(['restart', '--data-dir', first.dataDir, '--api-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--no-discovery', '--json'])
      const again = JSON.parse(out) as { pid: number, peerId: string }
      trackDaemon(first.dataDir, again.pid)
      assert.notEqual(again.pid, first.pid, 'a new process')
      assert.equal(again.peerId, first.peerId, 'the same identity')
      assert.equal(isAlive(first.pid), false, 'the old one exited')
      // a detached node's stdout is its log: the first start was a new node, the restart is not
      const log = readFileSync(join(first.dataDir, 'logs', 'agora.log'), 'utf8')
      assert.equal(log.split(`agora node ${first.peerId}`).length - 1, 2, 'each start says who it is')
      assert.equal(log.split('A new node. Next:').length - 1, 1, 'only the first start lists the next steps')
      const status = JSON.parse(await agora(['s', '--data-dir', first.dataDir, '--json'])) as { pid: number }
      assert.equal(status.pid, again.pid)
      // agora logs: the detached node's log, readable, as JSON, by level
      const readable = await agora(['logs', '-n', '5', '--data-dir', first.dataDir])
      assert.ok(readable.trim().split('\n').length <= 5)
      assert.match(await agora(['logs', '-n', '500', '--data-dir', first.dataDir]), /\d{4}-\d\d-\d\dT[\d:.]+Z INFO agora:node node started/)
      const json = (await agora(['logs', '-n', '3', '--json', '--level', 'info', '--data-dir', first.dataDir])).trim().split('\n')
      assert.ok(json.length > 0 && json.every(line => (JSON.parse(line) as { level: number }).level >= 30))
      const none = await runAgora(['logs', '--data-dir', dir()])
      assert.equal(none.code, 1)
      assert.match(none.stderr, /^Error \[E601\]: no log at /)
    } finally {
      await agora(['stop', '--data-dir', first.dataDir]).catch(() => '')
    }
  })

  test('restart keeps the config file the node ran with: a change saved there reaches the new node (it was lost without -c)', async () => {
    const file = join(dir(), 'agora.yaml')
    await agora(['config', 'init', '--config', file])
    await agora(['config', 'set', 'node.name', 'from-the-file', '--config', file])
    const first = await startDaemon(['--config', file])
    try {
      assert.equal((JSON.parse(await agora(['status', '--json', '--data-dir', first.dataDir])) as { name: string }).name, 'from-the-file')
      await agora(['config', 'set', 'node.name', 'changed-since', '--config', file])
      const again = JSON.parse(await agora(['restart', '--data-dir', first.dataDir, '--api-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--no-discovery', '--json'])) as { pid: number }
      trackDaemon(first.dataDir, again.pid)
      assert.equal((JSON.parse(await agora(['status', '--json', '--data-dir', first.dataDir])) as { name: string }).name, 'changed-since')
    } finally {
      await agora(['stop', '--data-dir', first.dataDir]).catch(() => '')
    }
  })

  test('identity export does not print the private key on a terminal unless --force; a pipe or --out gets it', async () => {
    const data = dir()
    const pemFile = join(data, 'in.pem')
    writeFileSync(pemFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string)
    assert.equal((await runAgora(['identity', 'import', pemFile, '--data-dir', data])).code, 0)
    // a pseudo-terminal (util-linux script): the key must not land on the screen
    const onTerminal = (extra: string): string => execFileSync('script', ['-qec', `${process.execPath} ${CLI} identity export --data-dir ${data} ${extra}`, '/dev/null'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } })
    const refused = (() => { try { return onTerminal('') } catch (err) { return String((err as { stdout?: string }).stdout ?? '') } })()
    assert.match(refused, /Error \[E600\]: not printing the private key on a terminal/)
    assert.doesNotMatch(refused, /PRIVATE KEY/)
    assert.match(onTerminal('--force'), /BEGIN PRIVATE KEY/)
    assert.match((await runAgora(['identity', 'export', '--data-dir', data])).stdout, /^-----BEGIN PRIVATE KEY-----/, 'a pipe gets it')
  })

  test('two output formats at once is a usage error', async () => {
    const both = await runAgora(['status', '--json', '--yaml', '--data-dir', dir()])
    assert.equal(both.code, 2)
    assert.equal(both.stderr, 'Error [E600]: --json and --yaml cannot go together — pick one output format\n')
  })

  test('help for a missing subcommand or an unknown help topic: printed to stdout, nothing else, exit 0', async () => {
    for (const args of [[], ['jobs'], ['help', 'interactive']]) {
      const result = await runAgora(args)
      assert.equal(result.code, 0, `agora ${args.join(' ')}: ${result.stderr}`)
      assert.match(result.stdout, /^Usage: agora/)
      assert.equal(result.stderr, '', `agora ${args.join(' ')} prints help only`)
    }
  })

  test('a usage error exits 2', async () => {
    const result = await runAgora(['peers', 'frobnicate'])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /^Error \[E600\]/)
    const unknownOption = await runAgora(['status', '--bogus'])
    assert.equal(unknownOption.code, 2)
    const endlessBan = await runAgora(['peers', 'ban', '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo', '--for', '1e12'])
    assert.equal(endlessBan.code, 2)
    assert.match(endlessBan.stderr, /^Error \[E600\]: --for 1e12 is longer than the 100 years/)
    // values the node would refuse are refused here, naming the flag (no node needed)
    for (const [args, message] of [
      [['providers', 'add', 'x', '--kind', 'openai', '--url', 'notaurl'], /^Error \[E600\]: --url: Invalid URL/],
      [['keys', 'create', 'bad!name'], /^Error \[E600\]: <name>: use letters/],
      [['keys', 'revoke', ''], /^Error \[E600\]: revoke which key/],
      [['jobs', 'list', '--state', 'weird'], /^Error \[E600\]: --state takes one of submitted/],
      [['stop', '--timeout', 'abc'], /^Error \[E600\]: --timeout takes a number of seconds above 0, not 'abc'/],
      [['status', '--watch', '0'], /^Error \[E600\]: --watch takes a number of seconds above 0/],
      [['start', '--api-port', ' '], /^Error \[E600\]: --api-port must be a port number/]
    ] as const) {
      const result = await runAgora([...args, '--data-dir', dir()])
      assert.equal(result.code, 2, args.join(' '))
      assert.match(result.stderr, message)
    }
  })

  test('a client command with no node says how to start one', async () => {
    const result = await runAgora(['status', '--data-dir', dir()])
    assert.equal(result.code, 1)
    assert.match(result.stderr, /Error \[E601\]: no node is running .*agora start --detach/)
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace')
  })

  test('an invalid bootstrap multiaddr shows a valid example', async () => {
    const result = await runAgora([...START, '--data-dir', dir(), '--api-port', '0', '--bootstrap', '/ip4/999.1.1.1/tcp/x'])
    assert.equal(result.code, 1)
    assert.match(result.stderr, /^Error \[E200\]: network\.bootstrap holds an invalid multiaddr: \/ip4\/999\.1\.1\.1\/tcp\/x — .* — use a multiaddr such as \/ip4\/127\.0\.0\.1\/tcp\/41145/)
  })

  test('an API port in use hints at --api-port 0', async () => {
    const blocker: Server = createServer()
    await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve))
    try {
      const port = (blocker.address() as { port: number }).port
      const result = await runAgora([...START, '--data-dir', dir(), '--api-port', String(port)])
      assert.equal(result.code, 1)
      assert.match(result.stderr, /Error \[E201\].*--api-port 0/)
    } finally {
      blocker.close()
    }
  })

  test('a detached start that fails reports the child\'s error whole, however many earlier errors its log holds', async () => {
    const data = dir()
    for (let i = 0; i < 3; i++) {
      const result = await runAgora(['start', '--detach', '--data-dir', data, '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns'], { env: { AGORA_API_PORT: 'abc' } })
      assert.equal(result.code, 1)
      assert.match(result.stderr, /^Error \[E300\]: invalid value "abc"/, `run ${i + 1}: ${result.stderr.slice(0, 120)}`)
    }
  })

  test('a data dir that is not writable is E603', async () => {
    const parent = dir()
    writeFileSync(join(parent, 'file'), '')
    const result = await runAgora([...START, '--data-dir', join(parent, 'file', 'sub'), '--api-port', '0'])
    assert.equal(result.code, 1)
    assert.match(result.stderr, /Error \[E603\]/)
  })

  test('an unknown config key suggests the nearest one; invalid YAML names the line', async () => {
    const d = dir()
    const typo = join(d, 'typo.yaml')
    writeFileSync(typo, 'api:\n  prot: 8145\n')
    const result = await runAgora(['--config', typo, ...START, '--data-dir', d])
    assert.equal(result.code, 1)
    assert.match(result.stderr, /Error \[E301\].*api\.prot.*api\.port/)
    const broken = join(d, 'broken.yaml')
    writeFileSync(broken, 'api:\n  port: 1\n bad: [\n')
    const yaml = await runAgora(['--config', broken, 'config', 'validate'])
    assert.equal(yaml.code, 1)
    assert.match(yaml.stderr, /Error \[E302\].*broken\.yaml:\d+/)
  })

  test('doctor checks the machine and completion prints a script', async () => {
    const result = await runAgora(['doctor', '--data-dir', dir(), '--json'])
    const checks = JSON.parse(result.stdout) as Array<{ check: string, verdict: string }>
    assert.ok(checks.some(c => c.check === 'node version' && c.verdict === 'ok'))
    assert.ok(checks.some(c => c.check === 'config'))
    const alone = (checks as Array<{ check: string, verdict: string, detail: string }>).find(c => c.check === 'bootstrap peers')
    assert.match(alone?.detail ?? '', /^no bootstrap peers — join with an invite \(`agora join <invite>`\), or find LAN peers by mDNS; off this LAN/)
    // a failed check exits 1 (a usage error would be 2)
    const bad = join(dir(), 'bad.yaml')
    writeFileSync(bad, 'api: [unclosed\n')
    const failing = await runAgora(['doctor', '--data-dir', dir(), '--config', bad])
    assert.equal(failing.code, 1)
    assert.match(failing.stderr, /^Error \[E606\]: \d+ of \d+ checks failed/)
    assert.match(await agora(['completion', 'bash']), /complete -F _agora agora/)
    assert.match(await agora(['completion', 'fish']), /complete -c agora/)
  })
})
