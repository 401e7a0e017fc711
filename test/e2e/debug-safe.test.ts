/**
 * `--debug-safe`: detail for a bug report with no secret in it — the CLI's
 * output and the node's log lines go through the redactor, by shape (API
 * keys, private keys) and by value (the API token).
 */
import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPairSync } from 'node:crypto'
import { agora, killDaemons, startDaemon } from '../harness/cli.ts'
import { tempDir } from '../harness/temp.ts'

describe('--debug-safe', () => {
  const dirs: string[] = []
  after(async () => {
    await killDaemons()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  test('the CLI prints no secret: a new API key and an exported private key are redacted, the rest is shown', async () => {
    const node = await startDaemon()
    const plain = JSON.parse(await agora(['keys', 'create', 'plain', '--json', '--data-dir', node.dataDir])) as { key: string }
    assert.match(plain.key, /^agk_[A-Za-z0-9_-]{20,}$/, 'without the flag the key is shown once')
    const safe = JSON.parse(await agora(['keys', 'create', 'safe', '--json', '--debug-safe', '--data-dir', node.dataDir])) as { key: string, name: string }
    assert.deepEqual([safe.key, safe.name], ['agk_[redacted]', 'safe'])

    const data = tempDir()
    dirs.push(data)
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
    writeFileSync(join(data, 'in.pem'), pem)
    await agora(['identity', 'import', join(data, 'in.pem'), '--data-dir', data])
    const exported = await agora(['identity', 'export', '--debug-safe', '--data-dir', data])
    assert.match(exported, /-----BEGIN PRIVATE KEY----- \[redacted\] -----END PRIVATE KEY-----/)
    assert.ok(!exported.includes(pem.split('\n')[1] as string))
  })

  test('a node started with it logs at debug level with its API token taken out', async () => {
    const node = await startDaemon(['--debug-safe'])
    const token = readFileSync(join(node.dataDir, 'api.token'), 'utf8').trim()
    // a refused request is logged at debug with its URL, which carries the token here
    const res = await fetch(`${node.url}/api/v1/peers/not-a-peer-id/trust?token=${token}`, { method: 'POST' })
    assert.equal(res.status, 400)
    const lines = (await agora(['logs', '-n', '2000', '--json', '--data-dir', node.dataDir])).trim().split('\n')
    assert.ok(lines.some(line => (JSON.parse(line) as { level: number }).level === 20), 'debug lines')
    const refused = lines.find(line => line.includes('not-a-peer-id'))
    assert.ok(refused !== undefined, 'the refused request is in the log')
    assert.match(refused, /token=\[redacted\]/)
    const file = readFileSync(join(node.dataDir, 'logs', 'agora.log'), 'utf8')
    assert.ok(!file.includes(token) && !lines.some(line => line.includes(token)), 'the token is nowhere in the log')
  })
})
