/**
 * API keys for /v1: the store (only hashes kept, revocation at once), the
 * control routes that manage them, who may call /v1 with and without a key,
 * the typed client, and `agora keys` spawned against a listening server.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { ApiKeys, createApiKeyCheck } from '../../../src/api/keys/index.ts'
import { ControlClient, API_INFO_FILE, API_TOKEN_FILE } from '../../../src/client/index.ts'
import { apiKeysResponse, createdKeyResponse } from '../../../src/client/schemas.ts'
import { Database } from '../../../src/store/index.ts'
import { isAgoraError } from '../../../src/errors.ts'
import { buildTestApi, listen, TOKEN, type TestApi } from './fake-gateway.ts'
import { runAgora } from '../../harness/cli.ts'

const control = { host: '127.0.0.1', authorization: `Bearer ${TOKEN}` }

describe('ApiKeys', () => {
  test('keeps only a hash; verifies, lists without secrets, revokes at once', () => {
    let now = 1000
    const db = new Database({ path: ':memory:' })
    try {
      const keys = new ApiKeys({ db }, { now: () => now, touchIntervalMs: 50 })
      const created = keys.create('laptop')
      assert.match(created.key, /^agk_[\w-]{32}$/)
      const stored = JSON.stringify(db.prepare('SELECT * FROM api_keys').all(), (_k, v: unknown) => v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)
      assert.ok(!stored.includes(created.key.slice(4)), 'the secret is not stored')
      assert.equal(keys.verify(created.key), created.id)
      assert.equal(keys.verify(created.key + 'x'), undefined)
      assert.equal(keys.verify(created.key.slice(0, 12) + 'A'.repeat(32)), undefined, 'same prefix, other secret')
      assert.equal(keys.verify('sk-whatever'), undefined)
      assert.deepEqual(keys.list().map(k => [k.name, k.prefix, k.lastUsedAt]), [['laptop', created.key.slice(0, 12), 1000]])
      now = 1010
      keys.verify(created.key)
      assert.equal(keys.list()[0]?.lastUsedAt, 1000, 'last use is written at most once per interval')
      assert.throws(() => keys.create('laptop'), err => isAgoraError(err, 'E963'))
      assert.throws(() => keys.create('bad name!'), err => isAgoraError(err, 'E502'))
      assert.equal(keys.revoke('laptop').revokedAt, 1010)
      assert.equal(keys.verify(created.key), undefined, 'a cached key is refused once revoked')
      assert.equal(keys.revoke(created.id).revokedAt, 1010, 'revoking twice is harmless')
      assert.throws(() => keys.revoke('nope'), err => isAgoraError(err, 'E505'))
      const again = keys.create('laptop')
      assert.equal(new ApiKeys({ db }).verify(again.key), again.id, 'keys survive a new instance; the name is free again after revoking')
    } finally {
      db.close()
    }
  })

  test('a name shaped like a key id is refused; revoking an id or name picks the active key', () => {
    const db = new Database({ path: ':memory:' })
    try {
      const keys = new ApiKeys({ db })
      const laptop = keys.create('laptop')
      keys.revoke(laptop.id)
      assert.throws(() => keys.create(laptop.id), err => isAgoraError(err, 'E502') && /looks like a key id/.test(err.why ?? ''))
      // a name from before that rule, shaped like the revoked key's id
      const phone = keys.create('phone')
      db.prepare('UPDATE api_keys SET name = ? WHERE id = ?').run(laptop.id, phone.id)
      assert.equal(keys.revoke(laptop.id).id, phone.id, 'the active key by that name, not the revoked one by that id')
      assert.equal(keys.verify(phone.key), undefined)
    } finally {
      db.close()
    }
  })

  test('the /v1 check: keys anywhere, keyless only from loopback when allowed', () => {
    const keys = { verify: (secret: string) => secret === 'agk_good' ? 'id1' : undefined }
    const open = createApiKeyCheck(keys, { allowLocalWithoutKey: true })
    const closed = createApiKeyCheck(keys, { allowLocalWithoutKey: false })
    for (const loopback of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) assert.equal(open(undefined, loopback), null)
    assert.equal(open('Bearer sk-not-agora', '127.0.0.1'), null, 'SDKs insist on a key: a foreign one counts as none on loopback')
    assert.equal(open('Bearer agk_good', '10.0.0.2'), 'id1')
    assert.throws(() => open(undefined, '10.0.0.2'), err => isAgoraError(err, 'E960'))
    assert.throws(() => open('Bearer agk_bad', '127.0.0.1'), err => isAgoraError(err, 'E960'), 'a wrong Agora key is refused even on loopback')
    assert.throws(() => closed(undefined, '127.0.0.1'), err => isAgoraError(err, 'E960'))
    assert.throws(() => closed('Bearer sk-not-agora', '127.0.0.1'), err => isAgoraError(err, 'E960'))
    assert.equal(closed('bearer agk_good', '127.0.0.1'), 'id1')
  })
})

describe('/v1 access and the keys control routes', () => {
  let open: TestApi
  let closed: TestApi
  before(async () => {
    open = await buildTestApi()
    closed = await buildTestApi({ allowLocalWithoutKey: false })
  })
  after(async () => {
    await open.close()
    await closed.close()
  })

  test('loopback without a key is allowed when allowLocalWithoutKey is true; other hosts need one', async () => {
    assert.equal((await open.app.inject({ url: '/v1/models', headers: { host: '127.0.0.1' } })).statusCode, 200)
    const remote = await open.app.inject({ url: '/v1/models', headers: { host: '127.0.0.1' }, remoteAddress: '10.0.0.7' })
    assert.equal(remote.statusCode, 401)
    assert.equal(remote.json().error.type, 'authentication_error')
  })

  test('without a key is 401 in OpenAI\'s shape when allowLocalWithoutKey is false; the control token works as the operator\'s key', async () => {
    const res = await closed.app.inject({ url: '/v1/models', headers: { host: '127.0.0.1' } })
    assert.equal(res.statusCode, 401)
    assert.deepEqual(Object.keys(res.json().error).sort(), ['code', 'hint', 'message', 'param', 'type'])
    assert.equal(res.json().error.code, 'E960')
    const wrong = await closed.app.inject({ url: '/v1/models', headers: { host: '127.0.0.1', authorization: 'Bearer not-the-token' } })
    assert.equal(wrong.statusCode, 401)
    assert.equal((await closed.app.inject({ url: '/v1/models', headers: control })).statusCode, 200)
    const chat = await closed.app.inject({ method: 'POST', url: '/v1/chat/completions', headers: control, payload: { model: 'm', messages: [{ role: 'user', content: 'x' }] } })
    assert.equal(chat.statusCode, 200)
    assert.deepEqual(closed.gateway.chats.at(-1)?.ctx.requester, { kind: 'local', keyId: 'operator' })
  })

  test('a created key works, carries its id into the request, and is refused once revoked', async () => {
    const created = await closed.app.inject({ method: 'POST', url: '/api/v1/keys', headers: control, payload: { name: 'ci' } })
    assert.equal(created.statusCode, 200)
    assert.equal(created.headers['cache-control'], 'no-store')
    const { id, key } = createdKeyResponse.parse(created.json())
    const withKey = { host: '127.0.0.1', authorization: `Bearer ${key}` }
    assert.equal((await closed.app.inject({ url: '/v1/models', headers: withKey })).statusCode, 200)
    const chat = await closed.app.inject({ method: 'POST', url: '/v1/chat/completions', headers: withKey, payload: { model: 'm', messages: [{ role: 'user', content: 'x' }] } })
    assert.equal(chat.statusCode, 200)
    assert.deepEqual(closed.gateway.chats.at(-1)?.ctx.requester, { kind: 'local', keyId: id })

    const listed = apiKeysResponse.parse((await closed.app.inject({ url: '/api/v1/keys', headers: control })).json())
    assert.deepEqual(listed.map(k => k.name), ['ci'])
    assert.ok(!JSON.stringify(listed).includes(key.slice(12)), 'the list holds no secret')

    const revoked = await closed.app.inject({ method: 'POST', url: `/api/v1/keys/${id}/revoke`, headers: control })
    assert.equal(revoked.statusCode, 200)
    assert.equal(typeof revoked.json().revokedAt, 'number')
    const refused = await closed.app.inject({ url: '/v1/models', headers: withKey })
    assert.equal(refused.statusCode, 401)
    assert.equal(refused.json().error.code, 'E960')
  })

  test('key routes need the control token and a valid body; an API key opens no control route', async () => {
    const { key } = closed.keys.create('other')
    assert.equal((await closed.app.inject({ url: '/api/v1/keys', headers: { host: '127.0.0.1', authorization: `Bearer ${key}` } })).statusCode, 401)
    const bad = await closed.app.inject({ method: 'POST', url: '/api/v1/keys', headers: control, payload: { name: 'has space' } })
    assert.equal(bad.statusCode, 400)
    assert.match(bad.json().error.message, /body\.name/)
    const duplicate = await closed.app.inject({ method: 'POST', url: '/api/v1/keys', headers: control, payload: { name: 'other' } })
    assert.equal(duplicate.statusCode, 409)
    assert.equal(duplicate.json().error.code, 'E963')
    const missing = await closed.app.inject({ method: 'POST', url: '/api/v1/keys/nope/revoke', headers: control })
    assert.equal(missing.statusCode, 404)
  })
})

describe('keys over a real socket: the typed client, the openai client and `agora keys`', () => {
  let api: TestApi
  let url: string
  let dataDir: string
  before(async () => {
    api = await buildTestApi({ allowLocalWithoutKey: false })
    url = await listen(api.app)
    dataDir = mkdtempSync(join(tmpdir(), 'agora-'))
    // a data dir pointing the CLI at this process's server
    writeFileSync(join(dataDir, API_INFO_FILE), JSON.stringify({ url, pid: process.pid, peerId: '12D3KooWSelf' }))
    writeFileSync(join(dataDir, API_TOKEN_FILE), TOKEN)
  })
  after(async () => {
    await api.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  test('ControlClient creates, lists and revokes; the openai client follows', async () => {
    const client = new ControlClient({ url, token: TOKEN })
    const { key } = await client.createKey('sdk')
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 })
    assert.equal((await openai.models.list()).data.length, 2, 'two model ids (one served by two nodes)')
    assert.deepEqual((await client.keys()).map(k => k.name), ['sdk'])
    await client.revokeKey('sdk')
    await assert.rejects(openai.models.list(), (err: unknown) => err instanceof OpenAI.AuthenticationError)
    await assert.rejects(client.revokeKey('nope'), (err: unknown) => isAgoraError(err, 'E505'))
  })

  test('`agora keys create` prints the key once with a warning; list hides it; revoke by name', async () => {
    const created = await runAgora(['--data-dir', dataDir, 'keys', 'create', 'cli-key'])
    assert.equal(created.code, 0, created.stderr)
    const key = /agk_[\w-]{32}/.exec(created.stdout)?.[0]
    assert.ok(key !== undefined, created.stdout)
    assert.match(created.stderr, /shown only this once/)
    assert.equal(api.keys.verify(key), api.keys.list().find(k => k.name === 'cli-key')?.id)

    const quiet = await runAgora(['--data-dir', dataDir, 'keys', 'create', 'quiet-key', '-q'])
    assert.match(quiet.stdout, /^agk_[\w-]{32}\n$/)

    const listed = await runAgora(['--data-dir', dataDir, 'keys', 'list', '--json'])
    assert.equal(listed.code, 0, listed.stderr)
    assert.ok(!listed.stdout.includes(key))
    assert.deepEqual(apiKeysResponse.parse(JSON.parse(listed.stdout)).map(k => k.name).sort(), ['cli-key', 'quiet-key'])

    const unconfirmed = await runAgora(['--data-dir', dataDir, 'keys', 'revoke', 'cli-key'])
    assert.equal(unconfirmed.code, 1, 'no terminal, no --yes: refused')
    assert.match(unconfirmed.stderr, /^Error \[E607\]: revoke API key cli-key .*: not confirmed — there is no terminal to ask on — pass --yes/)
    assert.notEqual(api.keys.verify(key), undefined, 'nothing revoked')
    const revoked = await runAgora(['--data-dir', dataDir, 'keys', 'revoke', 'cli-key', '--yes'])
    assert.equal(revoked.code, 0, revoked.stderr)
    assert.equal(api.keys.verify(key), undefined)
    const unknown = await runAgora(['--data-dir', dataDir, 'keys', 'revoke', 'nope', '-y'])
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /E505/)
  })
})
